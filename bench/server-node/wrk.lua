-- One case of bench/server for wrk (run.mjs starts it): the request comes
-- from the environment, the same for ours and the reference.
--
--   BENCH_METHOD, BENCH_PATH   the request line
--   BENCH_HEADERS              JSON object of headers, no nesting
--   BENCH_BODY                 optional; "@N@" is replaced by a number unique in the run
--   BENCH_IDEMPOTENCY          optional Idempotency-Key; "@N@" as in the body
--
-- done() prints one JSON line: requests, duration_us, non_2xx, errors, p50_us, p99_us.

local method = os.getenv("BENCH_METHOD")
local path = os.getenv("BENCH_PATH")
local body = os.getenv("BENCH_BODY")
local idempotency = os.getenv("BENCH_IDEMPOTENCY")

local headers = {}
for name, value in string.gmatch(os.getenv("BENCH_HEADERS"), '"([^"]+)":"([^"]*)"') do
  headers[name] = value
end

-- Each wrk thread has its own Lua state: its number keeps the numbers apart.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

wrk.method = method
wrk.path = path
wrk.headers = headers

-- A fixed request is formatted once by wrk itself; a numbered one each time.
if body ~= nil then
  local sent = 0
  function request()
    sent = sent + 1
    local n = thread_number .. "-" .. sent
    if idempotency ~= nil then
      headers["idempotency-key"] = idempotency:gsub("@N@", n)
    end
    return wrk.format(method, path, headers, (body:gsub("@N@", n)))
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non_2xx":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end

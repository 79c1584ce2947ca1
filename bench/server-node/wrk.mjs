// One wrk run (C, light on the CPU it shares with the servers) of one
// request with bench/server-node/wrk.lua: bench/server's cases and
// bench/instances' (which runs several at once, one per instance).

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const WRK_SCRIPT = fileURLToPath(new URL("wrk.lua", import.meta.url));
const execFileAsync = promisify(execFile);

let runs = 0;

/**
 * Drives `url` with `request` ({ method, path, headers, body?, idempotencyKey? };
 * "@N@" in the body or key is a number unique in this process) for `seconds`
 * over `connections`, on `threads` threads. Answers the 2xx answers, in all
 * and per second, the seconds wrk ran, p50 and p99 in ms, and the failed
 * requests (non-2xx, socket errors, timeouts).
 */
export async function wrk(url, request, { seconds, connections, threads = 1 }) {
  const { method, path, headers, body, idempotencyKey } = request;
  // Numbers of each run stay apart from the other runs' (the reference's keys are per conversation).
  const run = ++runs;
  const numbered = (template) => template?.replaceAll("@N@", `w${run}-@N@`);
  const env = {
    ...process.env,
    BENCH_METHOD: method,
    BENCH_PATH: path,
    BENCH_HEADERS: JSON.stringify(headers),
    ...(body === undefined ? {} : { BENCH_BODY: numbered(body) }),
    ...(idempotencyKey === undefined ? {} : { BENCH_IDEMPOTENCY: numbered(idempotencyKey) }),
  };
  // autocannon's timeout (10 s), not wrk's 2 s: a slow answer is slow, not failed.
  const args = ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", WRK_SCRIPT, url];
  const { stdout } = await execFileAsync("wrk", args, { env });
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line);
  const answered = r.requests - r.non_2xx;
  const ran = r.duration_us / 1e6;
  return {
    answered,
    perSecond: answered / ran,
    seconds: ran,
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    failed: r.non_2xx + r.errors,
  };
}

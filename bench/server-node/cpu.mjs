// bench/server-cpu's measurements: the CPU time our server spends per
// request, for several server binaries measured alternately in one sitting.
// A rate moves with what else runs on a shared machine; the CPU time the
// server's own threads take per request moves much less, so two binaries
// compare even on a loaded machine.
//
// SERVERS: JSON array of { name, bin } (bench/server-cpu builds it).
// DATA_ROOT: where the stores live (the build disk; /dev/shm for work per
// request without the fsyncs). BENCH_SECONDS (8) per case, BENCH_ROUNDS (3),
// BENCH_CONNECTIONS (32). Per round, each binary gets a fresh store and
// server, a 2 s warm-up, then each case; the server's user+system CPU
// (/proc/PID/stat) is read around each case, and its VmRSS at start and 5 s
// after its last case.

import { readFileSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { spawn, execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WRK_SCRIPT = fileURLToPath(new URL("wrk.lua", import.meta.url));
const SERVERS = JSON.parse(process.env.SERVERS);
const DATA_ROOT = process.env.DATA_ROOT;
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));
const execFileAsync = promisify(execFile);

/** User + system CPU seconds of the process, all its threads. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** Starts `bin` on a fresh store in `dir`; resolves to { pid, url, key, stop }. */
async function start(bin, dir) {
  mkdirSync(dir, { recursive: true });
  const data = join(dir, "data");
  const key = execFileSync(bin, ["api-key", "create", "--data", data, "--name", "bench", "--role", "engage"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
  // As bench/server starts it: info logs, the per-key limit lifted.
  const child = spawn(
    bin,
    ["serve", "--addr", "127.0.0.1:0", "--data", data, "--widget-dir", join(dir, "no-widget"), "--limit-api-key-requests", "4000000000/1s"],
    { env: { ...process.env, NO_COLOR: "1", RUST_LOG: "info" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  const url = await new Promise((resolve, reject) => {
    let log = "";
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const found = /listening.* addr=([0-9.:]+)/.exec(log);
      if (found) resolve(`http://${found[1]}`);
    });
    child.on("exit", (code) => reject(new Error(`${bin} exited (${code}) before listening:\n${log}`)));
  });
  child.stderr.resume();
  const stop = () => new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", resolve);
    child.kill();
  });
  return { pid: child.pid, url, key, stop };
}

async function call(server, path, input, extra = {}) {
  const response = await fetch(`${server.url}/api/trpc/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.key}`, "content-type": "application/json", ...extra },
    body: JSON.stringify(input),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body.result.data;
}

const cases = [
  { name: "send", idempotencyKey: undefined },
  { name: "send + Idempotency-Key", idempotencyKey: "cpu-@N@" },
];

let runs = 0;

/** wrk on the send case, as bench/server drives it; resolves to its summary. */
async function wrk(server, conversationId, idempotencyKey, seconds) {
  const run = ++runs;
  const numbered = (template) => template?.replaceAll("@N@", `c${run}-@N@`);
  const env = {
    ...process.env,
    BENCH_METHOD: "POST",
    BENCH_PATH: "/api/trpc/v1.connect.send",
    BENCH_HEADERS: JSON.stringify({ authorization: `Bearer ${server.key}`, "content-type": "application/json" }),
    BENCH_BODY: numbered(JSON.stringify({ conversationId, content: { en: "bench send @N@" } })),
    ...(idempotencyKey === undefined ? {} : { BENCH_IDEMPOTENCY: numbered(idempotencyKey) }),
  };
  const args = ["-t", "1", "-c", String(CONNECTIONS), "-d", `${seconds}s`, "--timeout", "10s", "-s", WRK_SCRIPT, server.url];
  const { stdout } = await execFileAsync("wrk", args, { env });
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line);
  if (r.non_2xx + r.errors > 0) throw new Error(`wrk: ${r.non_2xx} non-2xx answers, ${r.errors} errors`);
  return { requests: r.requests, seconds: r.duration_us / 1e6 };
}

const fixed = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main() {
  const rows = [];
  const loadBefore = loadavg()[0];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { name, bin } of SERVERS) {
      const server = await start(bin, join(DATA_ROOT, `${name}-${round}`));
      try {
        const startRss = rssMiB(server.pid);
        const { id } = await call(server, "v1.connect.getOrCreateConversation", { customer: { externalId: "bench-cpu" } });
        await wrk(server, id, undefined, 2);
        for (const c of cases) {
          const before = cpuSeconds(server.pid);
          const r = await wrk(server, id, c.idempotencyKey, SECONDS);
          const cpu = cpuSeconds(server.pid) - before;
          rows.push({ round, server: name, case: c.name, perSecond: r.requests / r.seconds, cpuUs: (cpu / r.requests) * 1e6, load: loadavg()[0] });
          process.stderr.write(`>> round ${round} ${name} ${c.name}: ${fixed(r.requests / r.seconds)}/s, ${fixed((cpu / r.requests) * 1e6)} µs CPU per send\n`);
        }
        await sleep(5000);
        rows.push({ round, server: name, case: "idle RSS MiB (start, 5 s after)", startRss, idleRss: rssMiB(server.pid) });
      } finally {
        await server.stop();
      }
    }
  }
  console.log(`\nbench/server-cpu: ${CONNECTIONS} connections, ${SECONDS} s per case, ${ROUNDS} round(s), stores in ${DATA_ROOT}`);
  console.log("round  server        case                              req/s   CPU µs/req   load(1m)");
  for (const r of rows) {
    const tail = r.cpuUs === undefined
      ? `${fixed(r.startRss, 1)}, ${fixed(r.idleRss, 1)}`
      : `${fixed(r.perSecond).padStart(6)}   ${fixed(r.cpuUs).padStart(10)}   ${fixed(r.load, 2).padStart(8)}`;
    console.log(`${String(r.round).padEnd(5)}  ${r.server.padEnd(12)}  ${r.case.padEnd(32)}  ${tail}`);
  }
  console.log("\nmedian over rounds: CPU µs per request (req/s)");
  for (const { name } of SERVERS) {
    for (const c of cases) {
      const mine = rows.filter((r) => r.server === name && r.case === c.name);
      const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      console.log(`  ${name.padEnd(12)}  ${c.name.padEnd(24)}  ${fixed(median(mine.map((r) => r.cpuUs))).padStart(6)} (${fixed(median(mine.map((r) => r.perSecond)))}/s)`);
    }
    const idle = rows.filter((r) => r.server === name && r.idleRss !== undefined).map((r) => r.idleRss);
    console.log(`  ${name.padEnd(12)}  idle RSS after the load    ${idle.map((x) => fixed(x, 1)).join(", ")} MiB`);
  }
  console.log(`load average (1 min) before ${fixed(loadBefore, 2)}, after ${fixed(loadavg()[0], 2)}`);
}

await main();

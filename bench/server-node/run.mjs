// bench/server's measurements, run by bench/server against two servers it
// started: ours (OURS_*) and the tRPC reference (REF_*), each with its URL,
// an engage API key and its process id. It checks that both answer with the
// same wire shapes, fills a conversation of each with a few hundred messages,
// drives both with the same load generator and settings case by case, then reads both
// servers' RSS at idle, and prints the table. Raw SQLite commits are measured
// in DATA_ROOT (the servers' disk) before and after the load: a sync's cost on
// a shared disk moves with what else writes to it, and the two figures show
// by how much during the run.
//
// BENCH_SECONDS (10) per case and server, BENCH_CONNECTIONS (32),
// BENCH_LOAD: wrk (the default: C, light on the CPU the servers share with
// it) or autocannon (Node, as the first runs of RESULTS.md were measured),
// BENCH_WRK_THREADS (1).

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { commitsPerSecond } from "./commits.mjs";
import { wrk } from "./wrk.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LOAD = process.env.BENCH_LOAD ?? "wrk";
if (!["wrk", "autocannon"].includes(LOAD)) throw new Error(`BENCH_LOAD: wrk or autocannon, not ${LOAD}`);
const WRK_THREADS = Number(process.env.BENCH_WRK_THREADS ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARM_UP_SECONDS = 3;
const RAW_SECONDS = 5;
const HISTORY = 300;
const IDLE_SECONDS = 5;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run bench/server`);
  return value;
}

const servers = [
  { name: "ours", url: env("OURS_URL"), key: env("OURS_KEY"), pid: env("OURS_PID") },
  { name: "reference", url: env("REF_URL"), key: env("REF_KEY"), pid: env("REF_PID") },
];
const refConversations = JSON.parse(env("REF_CONVERSATIONS"));

const auth = (server) => ({ authorization: `Bearer ${server.key}`, "content-type": "application/json" });
const procedure = (server, path) => `${server.url}/api/trpc/${path}`;
const listPath = (input) => `/api/trpc/v1.connect.listMessages?input=${encodeURIComponent(JSON.stringify(input))}`;

async function call(server, path, input, headers = auth(server)) {
  const response = await fetch(procedure(server, path), { method: "POST", headers, body: JSON.stringify(input) });
  return { status: response.status, body: await response.json() };
}

async function query(server, input) {
  const response = await fetch(`${server.url}${listPath(input)}`, { headers: auth(server) });
  return { status: response.status, body: await response.json() };
}

async function ok(answer, what) {
  const { status, body } = await answer;
  if (status !== 200) throw new Error(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
  return body.result.data;
}

/** A JSON value's shape: its keys and the types of its leaves, array items by the first. */
function shape(value) {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (value === null) return "null";
  if (typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape(value[k])]));
  }
  return typeof value;
}

/** Both servers answer each of these with the same shape, or the comparison is void. */
async function sameWireShapes() {
  const answers = [];
  for (const server of servers) {
    const conversation = server.conversations.list;
    const sent = await call(server, "v1.connect.send", { conversationId: conversation, content: { en: "shape", ar: { rich: [1] } }, flags: ["x"] });
    const page = await query(server, { conversationId: conversation, limit: 50 });
    const unauthorized = await call(server, "v1.connect.send", { conversationId: conversation, content: { en: "x" } }, { "content-type": "application/json" });
    const invalid = await call(server, "v1.connect.send", { conversationId: conversation, content: { fr: "x" } });
    answers.push({
      send: [sent.status, shape(sent.body)],
      listMessages: [page.status, shape(page.body)],
      "send without a key": [unauthorized.status, shape(unauthorized.body)],
      "send in an unknown locale": [invalid.status, shape(invalid.body)],
    });
  }
  for (const what of Object.keys(answers[0])) {
    const [ours, reference] = answers.map((a) => JSON.stringify(a[what]));
    if (ours !== reference) throw new Error(`${what}: the servers' answers differ in shape:\n ours      ${ours}\n reference ${reference}`);
  }
}

async function prepare() {
  const [ours, reference] = servers;
  ours.conversations = {};
  for (const name of ["send", "list"]) {
    const conversation = await ok(
      call(ours, "v1.connect.getOrCreateConversation", { customer: { externalId: `bench-${name}` } }),
      "getOrCreateConversation on ours",
    );
    ours.conversations[name] = conversation.id;
  }
  reference.conversations = { send: refConversations[0], list: refConversations[1] };
  await sameWireShapes();
  for (const server of servers) {
    for (let i = 1; i < HISTORY; i++) {
      await ok(call(server, "v1.connect.send", { conversationId: server.conversations.list, content: { en: `history ${i}` } }), `history on ${server.name}`);
    }
    const first = await ok(query(server, { conversationId: server.conversations.list }), `first page on ${server.name}`);
    if (first.items.length !== 50 || !first.nextCursor) throw new Error(`${server.name}: the first page is not 50 messages with a cursor`);
    server.cursor = first.nextCursor;
  }
}

// Each case is one request; "@N@" in a body or key is a number unique in the
// run, so every send stores a new message. Both load generators read them.
const cases = [
  {
    name: "send",
    request: (server) => ({
      method: "POST",
      path: "/api/trpc/v1.connect.send",
      headers: auth(server),
      body: JSON.stringify({ conversationId: server.conversations.send, content: { en: "bench send @N@" } }),
    }),
  },
  {
    name: "send + Idempotency-Key",
    request: (server) => ({
      method: "POST",
      path: "/api/trpc/v1.connect.send",
      headers: auth(server),
      body: JSON.stringify({ conversationId: server.conversations.send, content: { en: "bench send @N@" } }),
      idempotencyKey: "bench-@N@",
    }),
  },
  {
    name: "listMessages, newest 50",
    request: (server) => ({ method: "GET", path: listPath({ conversationId: server.conversations.list }), headers: auth(server) }),
  },
  {
    name: "listMessages, 50 by cursor",
    request: (server) => ({
      method: "GET",
      path: listPath({ conversationId: server.conversations.list, cursor: server.cursor }),
      headers: auth(server),
    }),
  },
];

// Runs of autocannon in this process number their requests apart from wrk's.
let sent = 0;

async function autocannonLoad(server, request, seconds) {
  const { method, path, headers, body, idempotencyKey } = request;
  const numbered = body === undefined ? {} : {
    setupRequest(req) {
      const n = `a-${++sent}`;
      req.body = body.replaceAll("@N@", n);
      if (idempotencyKey !== undefined) req.headers = { ...headers, "idempotency-key": idempotencyKey.replaceAll("@N@", n) };
      return req;
    },
  };
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ method, path, headers, ...numbered }],
  });
  return {
    perSecond: result["2xx"] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

/** wrk (C, one thread per core by WRK_THREADS) with bench/server-node/wrk.lua. */
const wrkLoad = (server, request, seconds) => wrk(server.url, request, { seconds, connections: CONNECTIONS, threads: WRK_THREADS });

const load = LOAD === "wrk" ? wrkLoad : autocannonLoad;

function raw(when) {
  process.stderr.write(`>> raw SQLite commits ${when} the load: ${RAW_SECONDS} s\n`);
  return commitsPerSecond(join(env("DATA_ROOT"), `raw-${when}`), RAW_SECONDS);
}

function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]) / 1024;
}

const fixed = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const row = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");

async function main() {
  const loadBefore = loadavg();
  await prepare();
  const rawBefore = raw("before");
  for (const server of servers) await load(server, cases[0].request(server), WARM_UP_SECONDS);

  const results = [];
  for (const c of cases) {
    for (const server of servers) {
      process.stderr.write(`>> ${c.name} on ${server.name}: ${SECONDS} s, ${CONNECTIONS} connections\n`);
      results.push({ case: c.name, server: server.name, ...(await load(server, c.request(server), SECONDS)) });
    }
  }
  const loadAfter = loadavg();
  const idleSince = Date.now();
  const rawAfter = raw("after");
  const rawMean = (rawBefore + rawAfter) / 2;
  await sleep(Math.max(0, IDLE_SECONDS * 1000 - (Date.now() - idleSince)));
  const rss = Object.fromEntries(servers.map((s) => [s.name, rssMiB(s.pid)]));

  const widths = [28, 10, 9, 8, 8, 7];
  console.log(`\nbench/server: ${CONNECTIONS} connections, ${SECONDS} s per case and server (${LOAD === "wrk" ? `wrk, ${WRK_THREADS} thread(s)` : "autocannon"})`);
  console.log(row(["case", "server", "req/s", "p50 ms", "p99 ms", "failed"], widths));
  for (const r of results) console.log(row([r.case, r.server, fixed(r.perSecond), fixed(r.p50, 1), fixed(r.p99, 1), r.failed], widths));
  console.log("\nours / reference (req/s)");
  const of = (name, server) => results.find((r) => r.case === name && r.server === server).perSecond;
  for (const c of cases) console.log(`  ${c.name.padEnd(28)}${fixed(of(c.name, "ours") / of(c.name, "reference"), 2)}x`);
  console.log(`\nraw SQLite, one INSERT per transaction (WAL, synchronous=FULL), ${RAW_SECONDS} s each:`);
  console.log(`  before the load ${fixed(rawBefore)} commits/s, after ${fixed(rawAfter)}, mean ${fixed(rawMean)}`);
  for (const name of [cases[0].name, cases[1].name]) {
    console.log(`  ours ${name.padEnd(23)}${fixed(of(name, "ours") / rawMean, 2)}x the mean`);
  }
  console.log(`\nidle RSS (VmRSS ${IDLE_SECONDS} s after the load): ours ${fixed(rss.ours, 1)} MiB, reference ${fixed(rss.reference, 1)} MiB`);
  console.log(`load average (1 min) before ${fixed(loadBefore[0], 2)}, after the load ${fixed(loadAfter[0], 2)}`);
  if (results.some((r) => r.failed > 0)) {
    console.log("\nSOME REQUESTS FAILED: the figures of those rows are not comparable (the servers' logs say why)");
    process.exitCode = 1;
  }
}

await main();

// The event streams' cost on the server (issue 13), against a running server:
//
// 1. idle: IDLE_STREAMS streams (one conversation each, as visitors hold
//    them), opened and left quiet; the server's RSS before and after, per
//    stream, and its CPU over IDLE_SECONDS while they stay open (keep-alive
//    comments every 15 s included);
// 2. fan-out: FANOUT_STREAMS streams on one conversation; FANOUT_ROUNDS
//    messages sent one after another; for each subscriber, the time from the
//    send's acknowledgement (its answer received) to the message's event,
//    and from the send's start, p50 / p99 / max over every delivery.
//
// Streams are raw TCP connections (node:net) reading the SSE text: the
// client's own cost stays small next to the server's. Every stream uses the
// API key (trusted backends are not capped); the visitor caps are not in
// the way. Prints the figures; exits non-zero only when it could not measure.
//
// Environment: SERVER_URL, KEY (an engage API key), SERVER_PID, and
// optionally IDLE_STREAMS (2000), IDLE_SECONDS (30), FANOUT_STREAMS (500),
// FANOUT_ROUNDS (20).

import net from 'node:net';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const server = new URL(process.env.SERVER_URL);
const KEY = process.env.KEY;
const PID = process.env.SERVER_PID;
const IDLE_STREAMS = Number(process.env.IDLE_STREAMS ?? 2000);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 30);
const FANOUT_STREAMS = Number(process.env.FANOUT_STREAMS ?? 500);
const FANOUT_ROUNDS = Number(process.env.FANOUT_ROUNDS ?? 20);
const CLK_TCK = 100; // getconf CLK_TCK on Linux

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function trpc(path, input) {
  const res = await fetch(new URL(`/api/trpc/${path}`, server), {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body.result.data;
}

async function conversation(n) {
  const data = await trpc('v1.connect.getOrCreateConversation', { customer: { externalId: `bench-events-${n}` } });
  return data.id;
}

/** Runs `task(i)` for i < n, `width` at a time. */
async function pool(n, width, task) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

function rssKiB() {
  const line = readFileSync(`/proc/${PID}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]);
}

/** The server's user + system CPU so far, in clock ticks. */
function cpuTicks() {
  const stat = readFileSync(`/proc/${PID}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** One open stream: resolves `connected` at the server's first comment, calls `onId` per event id. */
function openStream(conversationId, onId) {
  const socket = net.connect(Number(server.port), server.hostname);
  let text = '';
  let connected;
  const ready = new Promise((resolve, reject) => {
    connected = resolve;
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('stream closed before it started')));
  });
  socket.setEncoding('utf8');
  socket.write(
    `GET /api/v1/connect/events?conversationId=${encodeURIComponent(conversationId)} HTTP/1.1\r\n` +
      `host: ${server.host}\r\nauthorization: Bearer ${KEY}\r\naccept: text/event-stream\r\n\r\n`,
  );
  let started = false;
  socket.on('data', (chunk) => {
    text += chunk;
    if (!started) {
      if (!text.includes(': connected')) return;
      if (!text.startsWith('HTTP/1.1 200')) throw new Error(`stream refused: ${text.slice(0, 200)}`);
      started = true;
      connected();
    }
    const ids = /\nid: ([^\n\r]*)\n/g;
    let match;
    let end = 0;
    while ((match = ids.exec(text))) {
      onId(match[1]);
      end = ids.lastIndex;
    }
    // What is left may hold the start of the next event's id.
    text = text.slice(Math.max(end, text.length - 512));
  });
  return { socket, ready };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (v) => `${v.toFixed(1)} ms`;

async function idle() {
  console.log(`idle: ${IDLE_STREAMS} streams, one conversation each`);
  const conversations = await pool(IDLE_STREAMS, 32, conversation);
  // Warm-up: the server's pools and buffers as after any first streams.
  const warm = await pool(50, 50, async (i) => {
    const s = openStream(conversations[i], () => {});
    await s.ready;
    return s;
  });
  warm.forEach((s) => s.socket.destroy());
  await sleep(2000);
  const before = rssKiB();
  const started = performance.now();
  const streams = await pool(IDLE_STREAMS, 200, async (i) => {
    const s = openStream(conversations[i], () => {});
    await s.ready;
    return s;
  });
  console.log(`  ${streams.length} streams open in ${ms(performance.now() - started)}`);
  await sleep(5000);
  const after = rssKiB();
  const ticks = cpuTicks();
  const t0 = performance.now();
  await sleep(IDLE_SECONDS * 1000);
  const cpuSeconds = (cpuTicks() - ticks) / CLK_TCK;
  const wall = (performance.now() - t0) / 1000;
  const rssAfter = rssKiB();
  streams.forEach((s) => s.socket.destroy());
  await sleep(3000);
  const closed = rssKiB();
  const perStream = ((after - before) * 1024) / IDLE_STREAMS;
  console.log(`  server RSS: ${before} KiB before, ${after} KiB with the streams open (${rssAfter} KiB after the idle window), ${closed} KiB 3 s after they closed`);
  console.log(`  RSS per idle stream: ${(perStream / 1024).toFixed(2)} KiB (${Math.round(perStream)} B; goal <= 16 KiB)`);
  console.log(`  server CPU while idle: ${cpuSeconds.toFixed(2)} s over ${wall.toFixed(1)} s = ${((cpuSeconds / wall) * 100).toFixed(2)} % of one core`);
}

async function fanout() {
  console.log(`fan-out: ${FANOUT_STREAMS} streams on one conversation, ${FANOUT_ROUNDS} messages`);
  const conv = await conversation('fanout');
  const arrivals = new Map(); // message id → arrival times
  const streams = await pool(FANOUT_STREAMS, 100, async () => {
    const s = openStream(conv, (id) => {
      const at = performance.now();
      if (!arrivals.has(id)) arrivals.set(id, []);
      arrivals.get(id).push(at);
    });
    await s.ready;
    return s;
  });
  await sleep(1000);
  const fromAck = [];
  const fromStart = [];
  let beforeAck = 0;
  for (let round = 0; round < FANOUT_ROUNDS; round++) {
    const start = performance.now();
    const message = await trpc('v1.connect.send', { conversationId: conv, content: { en: `fan-out ${round}` } });
    const ack = performance.now();
    const deadline = ack + 10_000;
    while ((arrivals.get(message.id)?.length ?? 0) < FANOUT_STREAMS) {
      if (performance.now() > deadline) throw new Error(`round ${round}: ${arrivals.get(message.id)?.length ?? 0} of ${FANOUT_STREAMS} delivered in 10 s`);
      await sleep(1);
    }
    for (const at of arrivals.get(message.id)) {
      if (at < ack) beforeAck++;
      fromAck.push(Math.max(0, at - ack));
      fromStart.push(at - start);
    }
    await sleep(200);
  }
  streams.forEach((s) => s.socket.destroy());
  fromAck.sort((a, b) => a - b);
  fromStart.sort((a, b) => a - b);
  const n = fromAck.length;
  console.log(`  deliveries: ${n} (${beforeAck} arrived before the send's answer: counted as 0)`);
  console.log(`  from the send's acknowledgement: p50 ${ms(percentile(fromAck, 50))}, p99 ${ms(percentile(fromAck, 99))}, max ${ms(fromAck[n - 1])} (goal p99 < 100 ms)`);
  console.log(`  from the send's start: p50 ${ms(percentile(fromStart, 50))}, p99 ${ms(percentile(fromStart, 99))}, max ${ms(fromStart[n - 1])}`);
}

await idle();
await fanout();
process.exit(0);

// The Connect360 server called through the real `@trpc/client`, with both
// `httpLink` and `httpBatchLink`, exactly as the API's documentation calls it:
// `client.v1.connect.send.mutate({...})`, `client.v1.connect.listMessages.query({...})`.
//
// Builds nothing: the server binary comes from CONNECT360_SERVER_BIN
// (default ../../target/debug/connect360-server). Run with `node --test`.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from "@trpc/client";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, process.env.CONNECT360_SERVER_BIN ?? "../../target/debug/connect360-server");
const START_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------
// The server: a fresh data directory, an API key made with the CLI, `serve`
// on a free port. Killed (and its directory removed) after the tests, also
// when they fail or the runner is interrupted.

let server; // ChildProcess
let dataRoot;
let url; // http://127.0.0.1:PORT/api/trpc
let apiKey;
let agentId;

function cli(...args) {
  return execFileSync(BIN, args, { cwd: dataRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

function killServer() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
}
process.on("exit", killServer);

function startServer() {
  return new Promise((resolvePort, reject) => {
    // cwd is the temp dir, so the server finds no widget build (./dist) and
    // serves the API alone.
    const child = spawn(BIN, ["serve", "--addr", "127.0.0.1:0", "--data", join(dataRoot, "data")], {
      cwd: dataRoot,
      env: { ...process.env, NO_COLOR: "1", RUST_LOG: process.env.RUST_LOG ?? "info" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    server = child;
    let log = "";
    const timer = setTimeout(() => {
      reject(new Error(`server did not report "listening" within ${START_TIMEOUT_MS} ms:\n${log}`));
    }, START_TIMEOUT_MS);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      if (process.env.CONNECT360_SERVER_LOG) process.stderr.write(chunk);
      // eslint-disable-next-line no-control-regex
      const match = log.replace(/\x1b\[[0-9;]*m/g, "").match(/listening addr=127\.0\.0\.1:(\d+)/);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal}):\n${log}`));
    });
  });
}

before(async () => {
  assert.ok(existsSync(BIN), `no server binary at ${BIN}: run \`cargo build -p connect360-server\` or set CONNECT360_SERVER_BIN`);
  dataRoot = mkdtempSync(join(tmpdir(), "connect360-trpc-client-"));
  const data = join(dataRoot, "data");
  apiKey = cli("api-key", "create", "--data", data, "--name", "trpc-client", "--role", "full");
  assert.match(apiKey, /^\S{16,}$/, "api-key create prints the key alone");
  agentId = cli("agent", "create", "--data", data, "--name", "Helper bot");
  const port = await startServer();
  url = `http://127.0.0.1:${port}/api/trpc`;
});

after(() => {
  killServer();
  if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Helpers.

/** A client over `link` (httpLink or httpBatchLink), with a fetch that records each HTTP request. */
function makeClient(link, { key = apiKey, headers = {} } = {}) {
  const requests = [];
  const client = createTRPCClient({
    links: [
      link({
        url,
        headers: { Authorization: `Bearer ${key}`, ...headers },
        fetch: (input, init) => {
          requests.push({ url: String(input), method: init?.method ?? "GET" });
          return fetch(input, init);
        },
      }),
    ],
  });
  return { client, requests };
}

/** Asserts that `promise` rejects with a TRPCClientError of `code`; returns the error. */
async function rejectsWith(promise, code, messagePart) {
  let error;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected a ${code} error, but the call succeeded`);
  assertTrpcError(error, code, messagePart);
  return error;
}

function assertTrpcError(error, code, messagePart) {
  assert.ok(error instanceof TRPCClientError, `expected a TRPCClientError, got ${error?.constructor?.name}: ${error}`);
  assert.equal(error.data?.code, code, `error code of: ${error.message}`);
  assert.equal(typeof error.data.httpStatus, "number");
  assert.equal(typeof error.shape?.code, "number", "shape.code is the JSON-RPC number");
  if (messagePart) assert.ok(error.message.includes(messagePart), `"${error.message}" mentions ${messagePart}`);
}

const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The message shape the documentation shows, plus the fields the widget reads. */
function assertMessage(m, { conversationId, content, senderType, senderName, parentId = null }) {
  assert.equal(typeof m.id, "string");
  assert.ok(m.id.length > 0);
  assert.equal(m.conversationId, conversationId);
  assert.deepEqual(m.content, content);
  assert.deepEqual(m.attachments, []);
  assert.equal(typeof m.sender, "object");
  assert.deepEqual(Object.keys(m.sender).sort(), ["id", "image", "name", "type"]);
  assert.equal(m.sender.type, senderType);
  assert.equal(typeof m.sender.id, "string");
  assert.ok(m.sender.id.length > 0);
  if (senderName !== undefined) assert.equal(m.sender.name, senderName);
  assert.ok(m.sender.image === null || typeof m.sender.image === "string");
  assert.match(m.createdAt, ISO_MILLIS);
  assert.equal(m.parentId, parentId);
}

let customerSeq = 0;
/** A conversation with a new website customer, made through `client`. */
async function newConversation(client, name = "Jane Customer") {
  customerSeq += 1;
  const externalId = `website_user_${process.pid}_${customerSeq}`;
  const conversation = await client.v1.connect.getOrCreateConversation.mutate({
    customer: { externalId, name, email: "jane@example.com" },
    channelIdentifier: "example.com",
  });
  assert.equal(typeof conversation.id, "string");
  assert.equal(conversation.parentId, null);
  return { conversation, externalId };
}

/** The first AI message after `messageId`, once the runner has stored it (10 s at most). */
async function aiAnswerAfter(client, conversationId, messageId) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await client.v1.connect.listMessages.query({ conversationId, limit: 50 });
    const after = page.items.slice(page.items.findIndex((m) => m.id === messageId) + 1);
    const answer = after.find((m) => m.sender.type === "ai");
    if (answer) return answer;
    if (Date.now() > deadline) throw new Error(`no AI answer after ${messageId} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every message of a conversation, by following nextCursor to the oldest page. */
async function allPages(client, conversationId, limit) {
  const pages = [];
  let cursor;
  for (let i = 0; i < 1000; i++) {
    const page = await client.v1.connect.listMessages.query(
      cursor === undefined ? { conversationId, limit } : { conversationId, cursor, limit },
    );
    pages.push(page);
    if (page.nextCursor === null) return pages;
    assert.equal(typeof page.nextCursor, "string");
    cursor = page.nextCursor;
  }
  throw new Error("nextCursor never became null");
}

// ---------------------------------------------------------------------------

describe("httpLink", () => {
  test("send as workspace, as customer, a reply; list them oldest to newest", async () => {
    const { client, requests } = makeClient(httpLink);
    const { conversation, externalId } = await newConversation(client);
    const conversationId = conversation.id;

    // Send As Workspace.
    const message = await client.v1.connect.send.mutate({
      conversationId,
      content: {
        en: "Hello from the support team.",
      },
    });
    assertMessage(message, { conversationId, content: { en: "Hello from the support team." }, senderType: "workspace" });

    // Send As Customer.
    const fromCustomer = await client.v1.connect.send.mutate({
      conversationId,
      sender: "customer",
      customer: {
        externalId,
        name: "Jane Customer",
        email: "jane@example.com",
      },
      content: {
        en: "I need help with my order.",
      },
      channelIdentifier: "example.com",
    });
    assertMessage(fromCustomer, {
      conversationId,
      content: { en: "I need help with my order." },
      senderType: "customer",
      senderName: "Jane Customer",
    });
    assert.equal(fromCustomer.sender.id, conversation.customerId, "the customer of the conversation wrote it");
    assert.equal(fromCustomer.channel?.identifier, "example.com");

    // Replies.
    const reply = await client.v1.connect.send.mutate({
      conversationId,
      parentId: fromCustomer.id,
      content: {
        en: "Following up on this message.",
      },
    });
    assertMessage(reply, {
      conversationId,
      content: { en: "Following up on this message." },
      senderType: "workspace",
      parentId: fromCustomer.id,
    });
    assert.equal(reply.sender.id, message.sender.id, "both sent as the key's workspace member");

    // List Messages.
    const page = await client.v1.connect.listMessages.query({
      conversationId,
      limit: 50,
    });
    assert.deepEqual(Object.keys(page).sort(), ["items", "nextCursor"]);
    assert.deepEqual(
      page.items.map((m) => m.id),
      [message.id, fromCustomer.id, reply.id],
      "oldest to newest",
    );
    assert.deepEqual(page.items, [message, fromCustomer, reply], "listed as send returned them");
    assert.equal(page.nextCursor, null, "a single page has no next cursor");

    // httpLink: one plain request per call, queries GET and mutations POST.
    assert.ok(requests.every((r) => !r.url.includes("batch=1")), "httpLink never batches");
    const listRequest = requests.find((r) => r.url.includes("v1.connect.listMessages"));
    assert.equal(listRequest.method, "GET");
    assert.ok(requests.filter((r) => r.url.includes("v1.connect.send")).every((r) => r.method === "POST"));
  });

  test("pages of 50 through nextCursor to the oldest message", async () => {
    const { client } = makeClient(httpLink);
    const { conversation } = await newConversation(client);
    const conversationId = conversation.id;
    const sent = [];
    for (let i = 1; i <= 53; i++) {
      sent.push(await client.v1.connect.send.mutate({ conversationId, content: { en: `Message ${i}` } }));
    }

    const page = await client.v1.connect.listMessages.query({
      conversationId,
      limit: 50,
    });
    assert.equal(page.items.length, 50);
    assert.deepEqual(
      page.items.map((m) => m.content.en),
      sent.slice(3).map((m) => m.content.en),
      "the newest 50, oldest to newest",
    );
    assert.equal(typeof page.nextCursor, "string");

    const nextPage = await client.v1.connect.listMessages.query({
      conversationId,
      cursor: page.nextCursor,
      limit: 50,
    });
    assert.deepEqual(
      nextPage.items.map((m) => m.id),
      sent.slice(0, 3).map((m) => m.id),
      "the 3 oldest, oldest to newest",
    );
    assert.equal(nextPage.nextCursor, null, "the oldest page ends the list");

    // Small pages: every message exactly once, and no page out of order.
    const pages = await allPages(client, conversationId, 7);
    assert.equal(pages.length, Math.ceil(53 / 7));
    for (const p of pages) {
      const times = p.items.map((m) => m.createdAt);
      assert.deepEqual(times, [...times].sort(), "each page oldest to newest");
    }
    const all = pages.reverse().flatMap((p) => p.items.map((m) => m.id));
    assert.deepEqual(all, sent.map((m) => m.id));

    // Default limit is 50.
    const byDefault = await client.v1.connect.listMessages.query({ conversationId });
    assert.equal(byDefault.items.length, 50);
  });

  test("errors come back as TRPCClientError with data.code", async () => {
    const { client } = makeClient(httpLink);
    const { conversation } = await newConversation(client);
    const conversationId = conversation.id;

    const badLocale = await rejectsWith(
      client.v1.connect.send.mutate({ conversationId, content: { fr: "x" } }),
      "BAD_REQUEST",
      "content.fr",
    );
    assert.equal(badLocale.data.httpStatus, 400);
    assert.equal(badLocale.data.path, "v1.connect.send");
    assert.equal(badLocale.shape.code, -32600);

    await rejectsWith(
      client.v1.connect.listMessages.query({ conversationId, limit: 0 }),
      "BAD_REQUEST",
      "limit",
    );
    await rejectsWith(
      client.v1.connect.listMessages.query({ conversationId: "conv_does_not_exist" }),
      "NOT_FOUND",
    );
    await rejectsWith(client.v1.connect.noSuchProcedure.query({}), "NOT_FOUND", "v1.connect.noSuchProcedure");
    // A query called as a mutation (POST).
    await rejectsWith(client.v1.connect.listMessages.mutate({ conversationId }), "METHOD_NOT_SUPPORTED");

    const { client: badKey } = makeClient(httpLink, { key: "c360_not_a_real_key" });
    const unauthorized = await rejectsWith(
      badKey.v1.connect.send.mutate({ conversationId, content: { en: "Hello" } }),
      "UNAUTHORIZED",
    );
    assert.equal(unauthorized.data.httpStatus, 401);
    await rejectsWith(badKey.v1.connect.listMessages.query({ conversationId }), "UNAUTHORIZED");

    // Nothing of the failed calls was stored.
    const page = await client.v1.connect.listMessages.query({ conversationId, limit: 50 });
    assert.deepEqual(page.items, []);
    assert.equal(page.nextCursor, null);
  });

  test("Idempotency-Key: a retried send returns the first message; another body is a CONFLICT", async () => {
    const { client } = makeClient(httpLink);
    const { conversation } = await newConversation(client);
    const conversationId = conversation.id;
    const key = `retry-${process.pid}-${Date.now()}`;
    const { client: retrying } = makeClient(httpLink, { headers: { "Idempotency-Key": key } });

    const first = await retrying.v1.connect.send.mutate({ conversationId, content: { en: "Sent once" } });
    const again = await retrying.v1.connect.send.mutate({ conversationId, content: { en: "Sent once" } });
    assert.deepEqual(again, first);
    await rejectsWith(
      retrying.v1.connect.send.mutate({ conversationId, content: { en: "Something else" } }),
      "CONFLICT",
    );
    const page = await client.v1.connect.listMessages.query({ conversationId, limit: 50 });
    assert.deepEqual(page.items.map((m) => m.id), [first.id]);
  });

  test("templates, flags and an AI agent", async () => {
    const { client } = makeClient(httpLink);
    const { conversation } = await newConversation(client);
    const conversationId = conversation.id;

    const template = await client.v1.connect.createTemplate.mutate({
      name: "greeting",
      content: { en: "Hi {{name}}, your order {{order}} has shipped." },
    });
    assert.equal(typeof template.id, "string");
    const fromTemplate = await client.v1.connect.send.mutate({
      conversationId,
      templateId: template.id,
      templateContext: { name: "Jane", order: "#1042" },
      flags: ["order-update"],
    });
    assert.deepEqual(fromTemplate.content, { en: "Hi Jane, your order #1042 has shipped." });
    assert.equal(fromTemplate.templateId, template.id);
    assert.deepEqual(fromTemplate.flags, ["order-update"]);

    const asked = await client.v1.connect.send.mutate({
      conversationId,
      content: {
        en: "Can you help this customer?",
      },
      ai: {
        agentId,
      },
    });
    assertMessage(asked, { conversationId, content: { en: "Can you help this customer?" }, senderType: "workspace" });
    // "AI replies run asynchronously": the agent's answer is stored after the
    // request. Waiting for it also keeps it from landing in a later test.
    const answer = await aiAnswerAfter(client, conversationId, asked.id);
    assert.deepEqual([answer.sender.id, answer.sender.name], [agentId, "Helper bot"]);

    await rejectsWith(
      client.v1.connect.send.mutate({ conversationId, content: { en: "x" }, ai: { agentId: "agent_nope" } }),
      "BAD_REQUEST",
      "ai.agentId",
    );
  });

  test("the inbox: a signed-in member lists conversations newest first, marks one read, turns AI back on", async () => {
    const data = join(dataRoot, "data");
    const email = `agent${process.pid}@example.com`;
    cli("member", "create", "--data", data, "--name", "Inbox agent", "--email", email);
    execFileSync(BIN, ["member", "set-password", "--data", data, "--email", email], {
      cwd: dataRoot,
      input: "a long enough password\n",
      stdio: ["pipe", "pipe", "pipe"],
    });
    const origin = new URL(url).origin;
    const signIn = await fetch(`${origin}/api/v1/connect/inbox/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ email, password: "a long enough password" }),
    });
    assert.equal(signIn.status, 200);
    const cookie = signIn.headers.get("set-cookie").split(";")[0];
    assert.equal((await signIn.json()).member.email, email);

    const { client: support } = makeClient(httpLink);
    const older = (await newConversation(support, "Older")).conversation;
    const newer = (await newConversation(support, "Newer")).conversation;
    const customerSays = (conversation, text) =>
      support.v1.connect.send.mutate({
        conversationId: conversation.id,
        sender: "customer",
        customerId: conversation.customerId,
        content: { en: text },
      });
    await customerSays(older, "first");
    const read = await customerSays(newer, "second");
    await customerSays(newer, "third");

    // The member's client carries the session cookie and the page's origin, as the inbox does.
    const inbox = createTRPCClient({ links: [httpLink({ url, headers: { cookie, origin } })] });
    const page = await inbox.v1.connect.listConversations.query({ limit: 2 });
    assert.deepEqual(page.items.map((c) => c.id), [newer.id, older.id]);
    assert.deepEqual(page.items.map((c) => c.unreadCount), [2, 1]);
    assert.equal(page.items[0].lastMessage.content.en, "third");
    assert.equal(page.items[0].customer.name, "Newer");
    assert.equal(page.items[0].channel.identifier, "example.com");
    assert.match(page.items[0].lastActivityAt, ISO_MILLIS);
    assert.equal(typeof page.nextCursor, "string");
    const marked = await inbox.v1.connect.markRead.mutate({ conversationId: newer.id, messageId: read.id });
    assert.deepEqual(marked, { conversationId: newer.id, readUpTo: read.id, unreadCount: 1 });

    await support.v1.connect.handOff.mutate({ conversationId: older.id });
    const resumed = await inbox.v1.connect.resumeAi.mutate({ conversationId: older.id });
    assert.equal(resumed.aiStoppedAt, null);

    // An API key lists the same conversations, with no unread counts of its own.
    const byKey = await support.v1.connect.listConversations.query({ limit: 2 });
    assert.deepEqual(byKey.items.map((c) => [c.id, c.unreadCount]), [[newer.id, 0], [older.id, 0]]);
    // Without the page's origin a signed-in mutation is refused.
    const elsewhere = createTRPCClient({ links: [httpLink({ url, headers: { cookie, origin: "https://evil.example" } })] });
    await rejectsWith(elsewhere.v1.connect.markRead.mutate({ conversationId: newer.id, messageId: read.id }), "FORBIDDEN");
  });

  test("claimGuestConversations: a guest's conversation moves to the known customer, with its messages, once", async () => {
    const data = join(dataRoot, "data");
    const widgetKey = cli("widget", "create", "--data", data, "--domain", "127.0.0.1");
    const origin = new URL(url).origin;
    const opened = await fetch(`${origin}/api/v1/connect/widget/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ widgetKey }),
    });
    assert.equal(opened.status, 200);
    const guest = await opened.json();
    const { client: visitor } = makeClient(httpLink, { key: guest.token, headers: { origin } });
    const written = await visitor.v1.connect.send.mutate({
      conversationId: guest.conversation.id,
      sender: "customer",
      customerId: guest.customer.id,
      content: { en: "Asked before signing in" },
    });

    const { client: support } = makeClient(httpLink);
    const externalId = `known_${process.pid}`;
    const claim = {
      fingerprint: guest.token,
      guestExternalId: guest.customer.externalId,
      customer: { externalId, name: "Known Jane" },
    };
    assert.deepEqual(await support.v1.connect.claimGuestConversations.mutate(claim), { claimed: 1, reparented: 0 });
    const known = await support.v1.connect.getOrCreateConversation.mutate({ customer: { externalId } });
    assert.equal(known.id, guest.conversation.id);
    const page = await support.v1.connect.listMessages.query({ conversationId: known.id });
    assert.deepEqual(page.items.map((m) => [m.id, m.sender.id]), [[written.id, known.customerId]]);
    // Twice is harmless; a guessed fingerprint and a missing customer are clear errors.
    assert.deepEqual(await support.v1.connect.claimGuestConversations.mutate(claim), { claimed: 0, reparented: 0 });
    await rejectsWith(
      support.v1.connect.claimGuestConversations.mutate({ ...claim, fingerprint: "guest_0123456789abcdef" }),
      "BAD_REQUEST",
      "fingerprint",
    );
    await rejectsWith(
      support.v1.connect.claimGuestConversations.mutate({ fingerprint: guest.token }),
      "BAD_REQUEST",
      "customerId",
    );
  });
});

describe("httpBatchLink", () => {
  test("calls of one tick go in one request and settle one by one", async () => {
    const { client: plain } = makeClient(httpLink);
    const { conversation, externalId } = await newConversation(plain);
    const conversationId = conversation.id;
    const first = await plain.v1.connect.send.mutate({ conversationId, content: { en: "First" } });

    const { client, requests } = makeClient(httpBatchLink);
    const results = await Promise.allSettled([
      client.v1.connect.send.mutate({
        conversationId,
        content: {
          en: "Hello from the support team.",
        },
      }),
      client.v1.connect.send.mutate({ conversationId, content: { fr: "x" } }),
      client.v1.connect.send.mutate({
        conversationId,
        sender: "customer",
        customer: { externalId, name: "Jane Customer", email: "jane@example.com" },
        content: { en: "I need help with my order." },
        channelIdentifier: "example.com",
      }),
      client.v1.connect.send.mutate({
        conversationId,
        parentId: first.id,
        content: {
          en: "Following up on this message.",
        },
      }),
    ]);
    assert.equal(requests.length, 1, `one HTTP request for the 4 mutations, got ${JSON.stringify(requests)}`);
    assert.equal(requests[0].method, "POST");
    assert.match(requests[0].url, /[?&]batch=1/);
    assert.equal(decodeURIComponent(new URL(requests[0].url).pathname).split(",").length, 4);

    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    assertMessage(results[0].value, {
      conversationId,
      content: { en: "Hello from the support team." },
      senderType: "workspace",
    });
    assertTrpcError(results[1].reason, "BAD_REQUEST", "content.fr");
    assert.equal(results[1].reason.data.path, "v1.connect.send");
    assertMessage(results[2].value, {
      conversationId,
      content: { en: "I need help with my order." },
      senderType: "customer",
      senderName: "Jane Customer",
    });
    assertMessage(results[3].value, {
      conversationId,
      content: { en: "Following up on this message." },
      senderType: "workspace",
      parentId: first.id,
    });

    // Queries of one tick batch too (GET), a failing one among them.
    requests.length = 0;
    const [page, small, missing, badLimit] = await Promise.allSettled([
      client.v1.connect.listMessages.query({ conversationId, limit: 50 }),
      client.v1.connect.listMessages.query({ conversationId, limit: 2 }),
      client.v1.connect.listMessages.query({ conversationId: "conv_does_not_exist", limit: 50 }),
      client.v1.connect.listMessages.query({ conversationId, limit: 1000 }),
    ]);
    assert.equal(requests.length, 1, `one HTTP request for the 4 queries, got ${JSON.stringify(requests)}`);
    assert.equal(requests[0].method, "GET");
    assert.match(requests[0].url, /[?&]batch=1/);

    assert.equal(page.status, "fulfilled");
    const sentIds = [first.id, results[0].value.id, results[2].value.id, results[3].value.id];
    assert.deepEqual(page.value.items.map((m) => m.id).sort(), [...sentIds].sort());
    assert.equal(page.value.items[0].id, first.id, "oldest first");
    assert.equal(page.value.nextCursor, null);
    assert.equal(small.status, "fulfilled");
    assert.equal(small.value.items.length, 2);
    assert.deepEqual(small.value.items, page.value.items.slice(2), "the newest two");
    assert.equal(typeof small.value.nextCursor, "string");
    assert.equal(missing.status, "rejected");
    assertTrpcError(missing.reason, "NOT_FOUND");
    assert.equal(badLimit.status, "rejected");
    assertTrpcError(badLimit.reason, "BAD_REQUEST", "limit");

    // The next page through the batch link.
    const older = await client.v1.connect.listMessages.query({
      conversationId,
      cursor: small.value.nextCursor,
      limit: 2,
    });
    assert.deepEqual(older.items, page.value.items.slice(0, 2));
    assert.equal(older.nextCursor, null);
  });

  test("a bad key fails every call of the batch with UNAUTHORIZED", async () => {
    const { client: plain } = makeClient(httpLink);
    const { conversation } = await newConversation(plain);
    const conversationId = conversation.id;
    const { client, requests } = makeClient(httpBatchLink, { key: "c360_not_a_real_key" });
    const results = await Promise.allSettled([
      client.v1.connect.send.mutate({ conversationId, content: { en: "one" } }),
      client.v1.connect.send.mutate({ conversationId, content: { en: "two" } }),
    ]);
    assert.equal(requests.length, 1);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assertTrpcError(r.reason, "UNAUTHORIZED");
    }
    const page = await plain.v1.connect.listMessages.query({ conversationId, limit: 50 });
    assert.deepEqual(page.items, []);
  });
});

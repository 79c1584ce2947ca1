// The reference's store: better-sqlite3 on the very schema of our server
// (crates/server/migrations, applied in order), with our server's settings:
// WAL, synchronous=FULL (a send is on disk before it is acknowledged),
// foreign keys, a 5 s busy timeout. Queries are those of
// crates/server/src/store/sqlite.rs that send and listMessages need.

import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

const MIGRATIONS = fileURLToPath(new URL("../../../crates/server/migrations/", import.meta.url));

/** Our ids: a prefix, then a UUIDv7 without dashes (ids.rs). */
export function newId(prefix) {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return `${prefix}_${bytes.toString("hex")}`;
}

/** API keys are random 256-bit secrets: a plain SHA-256 is their lookup hash (auth.rs). */
export const hashKey = (key) => createHash("sha256").update(key).digest();

/** RFC 3339 UTC with milliseconds, as clock.rs writes them. */
const now = () => new Date().toISOString();

/** Opens (creating and migrating) `connect360.db` in `dataDir`. */
export function openStore(dataDir) {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, "connect360.db"));
  db.pragma("journal_mode = WAL");
  // better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 (NORMAL): set FULL and check it held.
  db.pragma("synchronous = FULL");
  if (db.pragma("synchronous", { simple: true }) !== 2) throw new Error("synchronous=FULL did not hold");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/** Applies the migrations not applied yet; `user_version` counts them. */
function migrate(db) {
  const files = readdirSync(MIGRATIONS).filter((f) => f.endsWith(".sql")).sort();
  const applied = db.pragma("user_version", { simple: true });
  for (const [i, file] of files.entries()) {
    if (i < applied) continue;
    db.transaction(() => {
      db.exec(readFileSync(join(MIGRATIONS, file), "utf8"));
      db.pragma(`user_version = ${i + 1}`);
    }).immediate();
  }
}

/**
 * A workspace, its default member, an `engage` API key of that member, and
 * `conversations` conversations each with a customer of its own, the member
 * taking part: what `api-key create` and `getOrCreateConversation` make on
 * our server. Returns the key (shown once, stored hashed) and the ids.
 */
export function seed(db, conversations) {
  const at = now();
  const workspace = newId("ws");
  const member = newId("mem");
  const key = `c360_${randomBytes(32).toString("hex")}`;
  const ids = [];
  db.transaction(() => {
    db.prepare("INSERT INTO workspaces (id, slug, name, created_at) VALUES (?, 'default', 'default', ?)").run(workspace, at);
    db.prepare("INSERT INTO members (id, workspace_id, name, is_default, created_at) VALUES (?, ?, 'Support', 1, ?)").run(member, workspace, at);
    db.prepare("INSERT INTO api_keys (id, member_id, name, role, key_hash, created_at) VALUES (?, ?, 'bench', 'engage', ?, ?)")
      .run(newId("key"), member, hashKey(key), at);
    for (let i = 0; i < conversations; i++) {
      const customer = newId("cus");
      const conversation = newId("conv");
      db.prepare("INSERT INTO customers (id, workspace_id, external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
        .run(customer, workspace, `bench-${i}`, at, at);
      db.prepare("INSERT INTO conversations (id, workspace_id, customer_id, kind, created_at, updated_at) VALUES (?, ?, ?, 'DIRECT', ?, ?)")
        .run(conversation, workspace, customer, at, at);
      db.prepare("INSERT INTO conversation_members (conversation_id, member_id) VALUES (?, ?)").run(conversation, member);
      ids.push(conversation);
    }
  }).immediate();
  return { key, conversations: ids };
}

const MESSAGE_SELECT = `
  SELECT m.id, m.conversation_id, m.sender_type, m.sender_id, m.parent_id, m.content,
         m.flags, m.template_id, m.created_at,
         COALESCE(mem.name, cus.name, ag.name) AS sender_name,
         COALESCE(mem.image, cus.image, ag.image) AS sender_image,
         ch.id AS channel_id, ch.identifier AS channel_identifier
  FROM messages m
  LEFT JOIN members mem ON m.sender_type = 'workspace' AND mem.id = m.sender_id
  LEFT JOIN customers cus ON m.sender_type = 'customer' AND cus.id = m.sender_id
  LEFT JOIN agents ag ON m.sender_type = 'ai' AND ag.id = m.sender_id
  LEFT JOIN channels ch ON ch.id = m.channel_id`;

/** A failure the API reports with a tRPC code. */
export class StoreError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The statements of send and listMessages, prepared once. */
export function messageStore(db) {
  const q = {
    apiKey: db.prepare(
      `SELECT k.role, m.id AS member_id, m.workspace_id FROM api_keys k
       JOIN members m ON m.id = k.member_id WHERE k.key_hash = ?`,
    ),
    conversation: db.prepare("SELECT id, customer_id, ai_stopped_at FROM conversations WHERE id = ? AND workspace_id = ?"),
    earlier: db.prepare("SELECT id, request_hash FROM messages WHERE conversation_id = ? AND idempotency_key = ?"),
    seq: db.prepare("SELECT seq FROM messages WHERE id = ? AND conversation_id = ?"),
    insert: db.prepare(
      `INSERT INTO messages (id, conversation_id, sender_type, sender_id, parent_id, content, flags,
                             template_id, channel_id, idempotency_key, request_hash, created_at)
       VALUES (?, ?, 'workspace', ?, ?, ?, ?, NULL, NULL, ?, ?, ?)`,
    ),
    touch: db.prepare("UPDATE conversations SET updated_at = ? WHERE id = ?"),
    message: db.prepare(`${MESSAGE_SELECT} WHERE m.id = ?`),
    page: db.prepare(
      `${MESSAGE_SELECT} WHERE m.conversation_id = @conversation AND (@before IS NULL OR m.seq <= @before) ORDER BY m.seq DESC LIMIT @limit`,
    ),
    files: db.prepare(
      `SELECT id, message_id, storage_key, name, media_type, size FROM files
       WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id`,
    ),
  };

  const conversationOf = (workspaceId, id) => {
    const conversation = q.conversation.get(id, workspaceId);
    if (!conversation) throw new StoreError("NOT_FOUND", `Conversation not found: ${id}`);
    return conversation;
  };
  const seqOf = (conversationId, id, field) => {
    const row = q.seq.get(id, conversationId);
    if (!row) throw new StoreError("BAD_REQUEST", `${field}: not a message of this conversation`);
    return row.seq;
  };

  /** Message rows as the wire carries them, with their attachments in one more query. */
  const messages = (rows) => {
    const files = q.files.all(JSON.stringify(rows.map((r) => r.id)));
    return rows.map((row) => ({
      id: row.id,
      conversationId: row.conversation_id,
      content: JSON.parse(row.content),
      attachments: files
        .filter((f) => f.message_id === row.id)
        .map((f) => ({
          id: f.id,
          name: f.name,
          type: f.media_type,
          size: Math.max(0, f.size),
          url: `/api/v1/connect/assets/${f.storage_key}`,
        })),
      sender: { type: row.sender_type, id: row.sender_id, name: row.sender_name, image: row.sender_image },
      parentId: row.parent_id,
      flags: JSON.parse(row.flags),
      templateId: row.template_id,
      channel: row.channel_id ? { id: row.channel_id, type: "website", identifier: row.channel_identifier } : null,
      createdAt: row.created_at,
    }));
  };
  const load = (id) => messages([q.message.get(id)])[0];

  // BEGIN IMMEDIATE: the write lock is taken before the first read, as our store does.
  const send = db.transaction((msg) => {
    const conversation = conversationOf(msg.workspaceId, msg.conversationId);
    if (msg.idempotency) {
      const earlier = q.earlier.get(conversation.id, msg.idempotency.key);
      if (earlier) {
        if (!earlier.request_hash.equals(msg.idempotency.requestHash)) {
          throw new StoreError("CONFLICT", "Idempotency-Key was already used for a different message.");
        }
        return load(earlier.id);
      }
    }
    if (msg.parentId !== undefined) seqOf(conversation.id, msg.parentId, "parentId");
    const id = newId("msg");
    const at = now();
    q.insert.run(
      id,
      conversation.id,
      msg.memberId,
      msg.parentId ?? null,
      JSON.stringify(msg.content),
      JSON.stringify(msg.flags),
      msg.idempotency?.key ?? null,
      msg.idempotency?.requestHash ?? null,
      at,
    );
    q.touch.run(at, conversation.id);
    return load(id);
  });

  return {
    /** The member an API key acts as, or undefined. */
    apiKey: (key) => q.apiKey.get(hashKey(key)),
    send: (msg) => send.immediate(msg),
    /** A page, oldest to newest; one row more than asked tells whether an older page exists. */
    listMessages({ workspaceId, conversationId, limit, cursor }) {
      conversationOf(workspaceId, conversationId);
      const before = cursor === undefined ? null : seqOf(conversationId, cursor, "cursor");
      const rows = q.page.all({ conversation: conversationId, before, limit: limit + 1 });
      const nextCursor = rows.length > limit ? rows.pop().id : null;
      rows.reverse();
      return { items: messages(rows), nextCursor };
    },
  };
}

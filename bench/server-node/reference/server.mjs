// The reference for bench/server: `v1.connect.send` and
// `v1.connect.listMessages` written in tRPC's own stack (@trpc/server v11's
// standalone adapter, zod inputs, better-sqlite3), on the same schema, with
// the same wire shapes, the same API key check (SHA-256 lookup, role) and the
// same durable writes as our server. It implements what the benchmark calls:
// send as the key's member with content, flags, parentId and an
// Idempotency-Key; listMessages with limit and cursor. The other fields of
// send (attachments, templates, customers, channels, AI) are refused as
// unknown keys rather than ignored.
//
//   node reference/server.mjs seed --data DIR [--conversations N]   prints {"key", "conversations"}
//   node reference/server.mjs serve --data DIR [--port P]           prints "listening http://127.0.0.1:PORT"

import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { initTRPC, TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { z } from "zod";
import { StoreError, messageStore, openStore, seed } from "./store.mjs";

const MAX_ID = 255;
const MAX_CONTENT_BYTES = 64 * 1024;
const MAX_IDEMPOTENCY_KEY = 255;

// validate.rs's rules: trimmed, not empty, bounded, no control characters.
const text = (max) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `at most ${max} characters`)
    .regex(/^\P{Cc}*$/u, "must not contain control characters");
const id = text(MAX_ID);

const content = z
  .partialRecord(z.enum(["en", "ar", "tr"]), z.unknown())
  .refine((c) => Object.keys(c).length > 0, "one of content, attachmentIds or templateId is required")
  .refine(
    (c) => Object.values(c).every((v) => v != null && !(typeof v === "string" && v.trim() === "")),
    "must not be empty",
  )
  .refine((c) => Buffer.byteLength(JSON.stringify(c)) <= MAX_CONTENT_BYTES, `at most ${MAX_CONTENT_BYTES} bytes of JSON`);

const sendInput = z.strictObject({
  conversationId: id,
  content,
  flags: z
    .array(text(64))
    .max(32, "at most 32 items")
    .refine((f) => new Set(f).size === f.length, "no repeats")
    .optional(),
  parentId: id.optional(),
  sender: z.literal("workspace").optional(),
});

const listInput = z.strictObject({
  conversationId: id,
  limit: z.number().int().min(1).max(100).optional(),
  cursor: id.optional(),
});

/** The request's credential: `Authorization: Bearer …` or `x-api-key` (auth.rs). */
function credential(headers) {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = /^[Bb]earer (.*)$/s.exec(authorization);
    if (!match) throw new TRPCError({ code: "UNAUTHORIZED", message: 'Authorization header must be "Bearer <key>".' });
    return match[1].trim();
  }
  return headers["x-api-key"]?.trim();
}

/** `1 to 255 visible ASCII characters` (messages.rs). */
function idempotencyKey(headers) {
  const key = headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new TRPCError({ code: "BAD_REQUEST", message: `Idempotency-Key: 1 to ${MAX_IDEMPOTENCY_KEY} visible ASCII characters` });
  }
  return key;
}

function router(store) {
  const t = initTRPC.context().create();
  const storeCall = (fn) => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw new TRPCError({ code: err.code, message: err.message });
      throw err;
    }
  };
  const withRole = (allowed) =>
    t.procedure.use(({ ctx, next }) => {
      const key = credential(ctx.headers);
      if (!key) {
        throw new TRPCError({ code: "UNAUTHORIZED", message: "Missing API key: send Authorization: Bearer <key> or x-api-key: <key>." });
      }
      const member = store.apiKey(key);
      if (!member) throw new TRPCError({ code: "UNAUTHORIZED", message: "Invalid API key." });
      if (!allowed.includes(member.role)) throw new TRPCError({ code: "FORBIDDEN", message: "Unauthorized API key permissions." });
      return next({ ctx: { ...ctx, member } });
    });
  const read = withRole(["read", "engage", "full"]);
  const engage = withRole(["engage", "full"]);

  return t.router({
    v1: t.router({
      connect: t.router({
        send: engage.input(sendInput).mutation(({ ctx, input }) => {
          const key = idempotencyKey(ctx.headers);
          return storeCall(() =>
            store.send({
              workspaceId: ctx.member.workspace_id,
              memberId: ctx.member.member_id,
              conversationId: input.conversationId,
              content: input.content,
              flags: input.flags ?? [],
              parentId: input.parentId,
              idempotency: key && {
                key,
                requestHash: createHash("sha256").update(JSON.stringify(input)).digest(),
              },
            }),
          );
        }),
        listMessages: read.input(listInput).query(({ ctx, input }) =>
          storeCall(() =>
            store.listMessages({
              workspaceId: ctx.member.workspace_id,
              conversationId: input.conversationId,
              limit: input.limit ?? 50,
              cursor: input.cursor,
            }),
          ),
        ),
      }),
    }),
  });
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: "string" },
    port: { type: "string", default: "0" },
    conversations: { type: "string", default: "2" },
  },
});
if (!values.data) throw new Error("--data DIR is required");
const db = openStore(values.data);
switch (positionals[0]) {
  case "seed":
    console.log(JSON.stringify(seed(db, Number(values.conversations))));
    db.close();
    break;
  case "serve": {
    const server = createHTTPServer({
      router: router(messageStore(db)),
      basePath: "/api/trpc/",
      createContext: ({ req }) => ({ headers: req.headers }),
    });
    server.listen(Number(values.port), "127.0.0.1", () => {
      console.log(`listening http://127.0.0.1:${server.address().port}`);
    });
    const stop = () => server.close(() => db.close());
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    break;
  }
  default:
    throw new Error(`unknown command ${positionals[0]}: seed or serve`);
}

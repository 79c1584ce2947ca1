// Raw SQLite on this disk: single-row commits per second with our server's
// settings (WAL, synchronous=FULL), one INSERT per transaction, rows the
// size of a small message. The ceiling of a store that commits each send on
// its own; group commit is how a server gets past it.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/** Commits for `seconds` in a new database in `dir`; returns commits per second. */
export function commitsPerSecond(dir, seconds) {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, "commits.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    if (db.pragma("synchronous", { simple: true }) !== 2) throw new Error("synchronous=FULL did not hold");
    db.exec("CREATE TABLE rows (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, content TEXT NOT NULL, created_at TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO rows (id, content, created_at) VALUES (?, ?, ?)");
    const start = process.hrtime.bigint();
    const end = start + BigInt(seconds * 1e9);
    let commits = 0;
    let at = start;
    while (at < end) {
      // Outside a transaction each statement is its own: one commit, one WAL sync.
      insert.run(`row_${commits}`, `{"en":"raw commit ${commits}"}`, new Date().toISOString());
      commits++;
      at = process.hrtime.bigint();
    }
    return commits / (Number(at - start) / 1e9);
  } finally {
    db.close();
  }
}

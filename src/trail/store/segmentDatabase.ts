import { randomUUID } from "node:crypto";
import type { Database, SqlJsStatic, Statement } from "sql.js";
import { GENESIS_HASH } from "../integrity/hashChain";
import { checkTrailId, isSafeTrailId } from "./safeFiles";
import { SCHEMA_SQL, SCHEMA_VERSION, upgradeSchema } from "./schema";
import type { SchemaDifference } from "./schemaCheck";
import { describeDifferences, schemaDifferences } from "./schemaCheck";
import { segmentBase } from "./segments";
import { BLOB_FIELDS, CHECKPOINT_FIELDS, KEY_FIELDS, placeholders, readMeta, STORED_EVENT_COLUMNS, STORED_EVENT_FIELDS, tableExists, TREE_HEAD_FIELDS } from "./trailColumns";
import { TrailError } from "./trailErrors";

/** An active segment's database as opened from trail.db's bytes, checked and upgraded. */
export interface OpenedDatabase {
  db: Database;
  trailId: string;
  head: { seq: number; hash: string };
  /** Upgraded from an older schema: the caller must write it out. */
  upgraded: boolean;
  schemaDiffs: SchemaDifference[];
}

/**
 * Opens trail.db's bytes as the in-memory active segment: refused when it is not SQLite, not
 * an Agent Audit trail, of a newer schema, or (unless `allowAlteredSchema`) edited. Nothing
 * from the file (a view, a column expression, a trigger) is used before its schema is known.
 */
export function openTrailDatabase(sql: SqlJsStatic, bytes: Uint8Array, file: string, allowAlteredSchema: boolean): OpenedDatabase {
  const untouched = `It was left untouched; move it aside to start a new trail.`;
  if (bytes.length < 100 || Buffer.from(bytes.subarray(0, 16)).toString("latin1") !== "SQLite format 3\0") {
    throw new TrailError("CORRUPT", `${file} is not an SQLite database (${bytes.length} bytes). ${untouched}`, file);
  }
  const db = new sql.Database(bytes);
  let version: number;
  let trailId: string;
  let head: { seq: number; hash: string };
  try {
    const meta = readMeta(db);
    version = Number(db.exec("PRAGMA user_version")[0]?.values[0]?.[0] ?? 0);
    trailId = meta.trail_id ?? "";
    if (!trailId || !Number.isInteger(Number(meta.schema_version))) throw new Error("meta table lacks schema_version or trail_id");
    const row = db.exec("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")[0]?.values[0];
    head = row ? { seq: Number(row[0]), hash: String(row[1]) } : segmentBase(db);
  } catch (err) {
    db.close();
    throw new TrailError("CORRUPT", `${file} is not a readable Agent Audit trail (${(err as Error).message}). ${untouched}`, file);
  }
  // The id names files in the trust store (anchors/<trail_id>.json): never a path of the file's choosing.
  if (!isSafeTrailId(trailId)) {
    db.close();
    checkTrailId(trailId, file);
  }
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new TrailError(
      "NEWER_SCHEMA",
      `${file} was written by a newer Agent Audit Trail (schema ${version}, this one reads ${SCHEMA_VERSION}); update the extension`,
      file,
    );
  }
  tuneInMemoryCopy(db);
  const upgraded = upgradeSchema(
    (s) => db.exec(s),
    (name) => tableExists(db, name),
    (name) => db.exec("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [name])[0]?.values[0]?.[0] as string | undefined,
  );
  const schemaDiffs = schemaDifferences(db, sql);
  if (schemaDiffs.length && !allowAlteredSchema) {
    db.close();
    throw new TrailError(
      "SCHEMA_ALTERED",
      `${file}: its schema was edited (${describeDifferences(schemaDiffs)}). Nothing was run from it or changed; run "agent-audit verify".`,
      file,
    );
  }
  return { db, trailId, head, upgraded, schemaDiffs };
}

/** A new, empty trail: the schema and its meta (a fresh trail id, created at `now`). */
export function createTrailDatabase(sql: SqlJsStatic, now: string): OpenedDatabase {
  const db = new sql.Database();
  db.exec(SCHEMA_SQL);
  tuneInMemoryCopy(db);
  const trailId = randomUUID();
  const meta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
  for (const [k, v] of [
    ["schema_version", String(SCHEMA_VERSION)],
    ["trail_id", trailId],
    ["created_at", now],
    ["hash_algorithm", "sha256(prev_hash || canonical_json(event)); see docs/trail-format.md"],
  ]) {
    meta.run([k, v]);
  }
  meta.free();
  return { db, trailId, head: { seq: 0, hash: GENESIS_HASH }, upgraded: false, schemaDiffs: [] };
}

/**
 * sql.js keeps the database in an in-memory file system, so SQLite's own journaling and
 * locking protect nothing here (durability is the journal's job) and only cost time.
 */
export function tuneInMemoryCopy(db: Database): void {
  db.exec("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -65536");
  // One long transaction: each commit is a savepoint inside it, so SQLite keeps changed
  // pages in its cache instead of copying them into sql.js's in-memory file every time.
  // It is committed only to export a snapshot.
  db.exec("BEGIN");
}

/** The statements every append and journal record runs. */
export interface SegmentStatements {
  insertEvent: Statement;
  insertBlob: Statement;
  hashAt: Statement;
  insertKey: Statement;
  insertTreeHead: Statement;
  insertCheckpoint: Statement;
}

export function prepareStatements(db: Database): SegmentStatements {
  // The long texts (content, a blob's body) are bound as their UTF-8 bytes and made TEXT by
  // SQLite: sql.js encodes a bound string in JavaScript, character by character, and that was
  // a third of an insert's cost. What is stored is the same TEXT either way.
  const eventValues = STORED_EVENT_COLUMNS.map((c) => (c === "content" ? "CAST(? AS TEXT)" : "?")).join(", ");
  return {
    insertEvent: db.prepare(`INSERT INTO events (${STORED_EVENT_FIELDS}) VALUES (${eventValues})`),
    insertBlob: db.prepare(`INSERT OR IGNORE INTO blobs (${BLOB_FIELDS}) VALUES (?, ?, CAST(? AS TEXT))`),
    hashAt: db.prepare("SELECT hash FROM events WHERE seq = ?"),
    insertKey: db.prepare(`INSERT OR IGNORE INTO keys (${KEY_FIELDS}) VALUES (${placeholders(KEY_FIELDS)})`),
    insertTreeHead: db.prepare(`INSERT OR IGNORE INTO tree_heads (${TREE_HEAD_FIELDS}) VALUES (?, ?)`),
    insertCheckpoint: db.prepare(`INSERT INTO checkpoints (${CHECKPOINT_FIELDS}) VALUES (${placeholders(CHECKPOINT_FIELDS)})`),
  };
}

/** A text bound as its UTF-8 bytes (see prepareStatements). */
export function utf8(text: string): Uint8Array {
  return Buffer.from(text, "utf8");
}

import type { Database, SqlValue } from "sql.js";
import type { EventRecord, StoredEvent } from "./eventTypes";
import type { Checkpoint } from "../trust/signing";

/**
 * The column lists and row readers of the trail's tables, spelled once. The names are the
 * sqlite3-facing format (docs/trail-format.md): they change only with the schema.
 */

/** The columns an event's hash and Merkle leaf cover, in EventRecord order. */
export const EVENT_RECORD_COLUMNS = [
  "seq", "event_id", "session_id", "agent_id", "user_id", "timestamp", "event_type", "step_number",
  "parent_event_id", "model_id", "system_prompt_hash", "agent_version", "content",
] as const;

/** Every column a stored event is written with: the record, then its link and hash. */
export const STORED_EVENT_COLUMNS = [...EVENT_RECORD_COLUMNS, "prev_hash", "hash"] as const;

export const EVENT_RECORD_FIELDS = EVENT_RECORD_COLUMNS.join(", ");
export const STORED_EVENT_FIELDS = STORED_EVENT_COLUMNS.join(", ");

/** A row of EVENT_RECORD_FIELDS (or STORED_EVENT_FIELDS) as the record its hash and leaf cover. */
export function eventRecordOfRow(r: SqlValue[]): EventRecord {
  return {
    seq: Number(r[0]), event_id: r[1] as string, session_id: r[2] as string, agent_id: r[3] as string, user_id: r[4] as string,
    timestamp: r[5] as string, event_type: r[6] as string, step_number: Number(r[7]), parent_event_id: r[8] as string | null,
    model_id: r[9] as string | null, system_prompt_hash: r[10] as string | null, agent_version: r[11] as string | null, content: String(r[12]),
  };
}

/** The values of a stored event in STORED_EVENT_COLUMNS order (`content` as given: text or its bytes). */
export function storedEventValues(e: StoredEvent, content: SqlValue = e.content): SqlValue[] {
  return [
    e.seq, e.event_id, e.session_id, e.agent_id, e.user_id, e.timestamp, e.event_type, e.step_number,
    e.parent_event_id, e.model_id, e.system_prompt_hash, e.agent_version, content, e.prev_hash, e.hash,
  ];
}

export const CHECKPOINT_COLUMNS = ["checkpoint_no", "trail_id", "seq", "head_hash", "time", "key_fingerprint", "signature"] as const;
export const CHECKPOINT_FIELDS = CHECKPOINT_COLUMNS.join(", ");

/** A row of CHECKPOINT_FIELDS as a checkpoint. */
export function checkpointOfRow(r: SqlValue[]): Checkpoint {
  return { checkpoint_no: Number(r[0]), trail_id: String(r[1]), seq: Number(r[2]), head_hash: String(r[3]), time: String(r[4]), key_fingerprint: String(r[5]), signature: String(r[6]) };
}

/** A checkpoint's values in CHECKPOINT_COLUMNS order. */
export function checkpointValues(c: Checkpoint): SqlValue[] {
  return [c.checkpoint_no, c.trail_id, c.seq, c.head_hash, c.time, c.key_fingerprint, c.signature];
}

export const KEY_FIELDS = "fingerprint, algorithm, public_key, added_at";
export const TREE_HEAD_FIELDS = "checkpoint_no, note";
export const BLOB_FIELDS = "hash, kind, body";

/** A comma-separated column list as names. */
export function columnsOf(fields: string): string[] {
  return fields.split(",").map((c) => c.trim());
}

/** `?, ?, …` for a column list. */
export function placeholders(columns: readonly string[] | string): string {
  const n = typeof columns === "string" ? columns.split(",").length : columns.length;
  return Array.from({ length: n }, () => "?").join(", ");
}

/** Whether the database has a table of that name (an older or foreign file may lack one). */
export function tableExists(db: Database, name: string): boolean {
  return db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).length > 0;
}

/** Every checkpoint, oldest first (none when the table is absent). */
export function readCheckpoints(db: Database): Checkpoint[] {
  if (!tableExists(db, "checkpoints")) return [];
  return (db.exec(`SELECT ${CHECKPOINT_FIELDS} FROM checkpoints ORDER BY checkpoint_no`)[0]?.values ?? []).map(checkpointOfRow);
}

/** The newest checkpoint, if any. */
export function readLatestCheckpoint(db: Database): Checkpoint | undefined {
  const row = db.exec(`SELECT ${CHECKPOINT_FIELDS} FROM checkpoints ORDER BY checkpoint_no DESC LIMIT 1`)[0]?.values[0];
  return row ? checkpointOfRow(row) : undefined;
}

/** Every tree head (signed note) by checkpoint number, oldest first. */
export function readTreeHeads(db: Database): [number, string][] {
  if (!tableExists(db, "tree_heads")) return [];
  return (db.exec(`SELECT ${TREE_HEAD_FIELDS} FROM tree_heads ORDER BY checkpoint_no`)[0]?.values ?? []).map(([n, t]) => [Number(n), String(t)]);
}

/** The meta table as key → value. */
export function readMeta(db: Database): Record<string, string> {
  return Object.fromEntries((db.exec("SELECT key, value FROM meta")[0]?.values ?? []).map(([k, v]) => [String(k), String(v)]));
}

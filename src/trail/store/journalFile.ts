import type { BlobKind, StoredEvent } from "./eventTypes";
import type { Checkpoint, PublicKeyRecord } from "../trust/signing";

/**
 * The journal (`trail.journal` beside `trail.db`) is how an append becomes durable without
 * rewriting the database: each group commit appends its records as JSON lines and fsyncs.
 * The snapshot (`trail.db`) is rewritten from time to time, after which the journal restarts
 * with a header naming the snapshot head it continues from. It deliberately does not use
 * SQLite's own `-journal`/`-wal` names, which the sqlite3 CLI would treat as its own.
 */
export const JOURNAL_MAGIC = "agent-audit-journal v1 ";

export interface JournalHeader {
  trail_id: string;
  /** seq and hash of the last event the snapshot held when this journal was started. */
  base_seq: number;
  base_hash: string;
}

export type JournalRecord =
  | { e: StoredEvent }
  | { b: { hash: string; kind: BlobKind; body: string } }
  | { k: PublicKeyRecord & { added_at: string } }
  | { c: Checkpoint }
  /** A checkpoint's Merkle tree head (signed note), right after the checkpoint. */
  | { t: { checkpoint_no: number; note: string } };

export function encodeHeader(h: JournalHeader): Buffer {
  return Buffer.from(JOURNAL_MAGIC + JSON.stringify(h) + "\n", "utf8");
}

/** Parses the first line; undefined when it is not a journal header. */
export function decodeHeader(buf: Buffer): { header: JournalHeader; length: number } | undefined {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return undefined;
  const line = buf.subarray(0, nl).toString("utf8");
  if (!line.startsWith(JOURNAL_MAGIC)) return undefined;
  try {
    const header = JSON.parse(line.slice(JOURNAL_MAGIC.length)) as JournalHeader;
    if (typeof header.trail_id !== "string" || !Number.isInteger(header.base_seq) || typeof header.base_hash !== "string") {
      return undefined;
    }
    return { header, length: nl + 1 };
  } catch {
    return undefined;
  }
}

export function encodeRecord(r: JournalRecord): string {
  return JSON.stringify(r) + "\n";
}

export interface ParsedRecords {
  records: { record: JournalRecord; end: number }[];
  /** Offset (relative to the parsed buffer) just past the last complete, parseable line. */
  goodEnd: number;
}

/**
 * Splits complete lines into records. Parsing stops at the first line that is incomplete
 * (no newline: a write cut short) or not a record (a torn or garbled write); the caller
 * decides what to do with the bytes from `goodEnd` on.
 */
export function parseRecords(buf: Buffer): ParsedRecords {
  const records: ParsedRecords["records"] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    let record: JournalRecord;
    try {
      record = JSON.parse(buf.subarray(pos, nl).toString("utf8")) as JournalRecord;
    } catch {
      break;
    }
    if (!isRecord(record)) break;
    pos = nl + 1;
    records.push({ record, end: pos });
  }
  return { records, goodEnd: pos };
}

function isRecord(r: unknown): r is JournalRecord {
  if (typeof r !== "object" || r === null) return false;
  const o = r as Record<string, unknown>;
  if (typeof o.e === "object" && o.e !== null) return typeof (o.e as StoredEvent).seq === "number";
  if (typeof o.b === "object" && o.b !== null) return typeof (o.b as { hash: unknown }).hash === "string";
  if (typeof o.k === "object" && o.k !== null) return typeof (o.k as { fingerprint: unknown }).fingerprint === "string";
  if (typeof o.c === "object" && o.c !== null) return typeof (o.c as { checkpoint_no: unknown }).checkpoint_no === "number";
  if (typeof o.t === "object" && o.t !== null) return typeof (o.t as { note: unknown }).note === "string";
  return false;
}

import { createPublicKey, verify } from "node:crypto";
import * as path from "node:path";
import type { Database, SqlJsStatic, SqlValue } from "sql.js";
import { canonicalJson } from "../integrity/canonicalJson";
import { GENESIS_HASH, sha256Hex } from "../integrity/hashChain";
import { MAX_SEGMENT_BYTES, readRegularFile, regularFileStat, UnsafeTrailFileError } from "./safeFiles";
import { SCHEMA_SQL } from "./schema";
import type { CheckpointSigner } from "../trust/signing";
import { TrailError } from "./trailErrors";
import type { SessionSummary } from "../reading/trailQueries";
import { jsonRows, mergeSummaries, queryAll } from "../reading/trailQueries";
import { BLOB_FIELDS, CHECKPOINT_COLUMNS, CHECKPOINT_FIELDS, columnsOf, KEY_FIELDS, STORED_EVENT_COLUMNS, tableExists, TREE_HEAD_FIELDS } from "./trailColumns";

/**
 * A trail is a chain of segments. `trail.db` is the active one (held in memory, rewritten,
 * made durable by the journal); when it passes a size it is *sealed*: written once to
 * `segments/seg-NNNNNN.db` and never written again, and `trail.db` starts over holding only
 * what the views need about the past (seals, the session and failure catalogs, keys, the last
 * checkpoint). Every segment is an ordinary trail file: `sqlite3` reads it, its events chain
 * on from the previous segment's last hash (meta base_seq/base_hash), and its seal (a row in
 * `seals`, signed) records its head, its file's SHA-256 and the Merkle tree's right edge.
 */
export interface SealRecord {
  segment_no: number;
  trail_id: string;
  first_seq: number;
  last_seq: number;
  /** The hash the segment's first event links to (the previous segment's last hash). */
  first_prev_hash: string;
  last_hash: string;
  file_name: string;
  file_sha256: string;
  bytes: number;
  /** The checkpoint signed at the segment's last event (0 when the trail has no signer). */
  checkpoint_no: number;
  /** JSON: MerkleFrontier.toJSON() of the tree of seq 1..last_seq. */
  merkle_frontier: string;
  sealed_at: string;
  key_fingerprint: string | null;
  /** Ed25519 (base64) over sealPayload(); null when the trail had no signer. */
  signature: string | null;
}

const SEAL_COLUMNS = "segment_no, trail_id, first_seq, last_seq, first_prev_hash, last_hash, file_name, file_sha256, bytes, checkpoint_no, merkle_frontier, sealed_at, key_fingerprint, signature";

/** Where sealed segment files live: `segments/` beside trail.db. */
export function segmentsDirFor(trailPath: string): string {
  return path.join(path.dirname(trailPath), "segments");
}

export function segmentFileName(segmentNo: number): string {
  return `seg-${String(segmentNo).padStart(6, "0")}.db`;
}

/** Whether the seal names its file as the store names it (a seal's fields are the trail file's, so anyone's). */
export function isStoreSegmentName(seal: Pick<SealRecord, "segment_no" | "file_name">): boolean {
  return Number.isSafeInteger(seal.segment_no) && seal.segment_no >= 1 && seal.file_name === segmentFileName(seal.segment_no);
}

/** The path of a seal's file in `dir`; refused when the seal names any other file (`../`, an absolute path). */
export function sealedSegmentPath(dir: string, seal: Pick<SealRecord, "segment_no" | "file_name">): string {
  if (!isStoreSegmentName(seal)) {
    throw new UnsafeTrailFileError(
      `The seal of segment ${seal.segment_no} names the file ${JSON.stringify(String(seal.file_name).slice(0, 200))}, which is not one the store makes (seg-NNNNNN.db in segments/): the trail was edited. ` +
        `Nothing was read from or written to that path; run "agent-audit verify" on a copy, or move the .agent-audit folder aside.`,
      dir,
    );
  }
  return path.join(dir, seal.file_name);
}

/**
 * A sealed segment's file as found in `dir`: undefined when absent; without `bytes` (not read)
 * when its size is not the one its seal states; refused when it is a link, a special file or
 * larger than a segment ever is. Nothing is read before those checks.
 */
export function readSealedSegment(dir: string, seal: SealRecord): { file: string; size: number; bytes?: Buffer } | undefined {
  const file = sealedSegmentPath(dir, seal);
  const st = regularFileStat(file);
  if (!st) return undefined;
  if (st.size !== seal.bytes) return { file, size: st.size };
  return { file, size: st.size, bytes: readRegularFile(file, MAX_SEGMENT_BYTES) };
}

/** The exact bytes a seal's signature covers: canonical JSON of every field but the signature. */
export function sealPayload(s: SealRecord): string {
  const { signature: _omit, ...rest } = s;
  return canonicalJson(rest as unknown as Record<string, unknown>);
}

export function signSeal(s: Omit<SealRecord, "key_fingerprint" | "signature">, signer: CheckpointSigner | undefined): SealRecord {
  const unsigned: SealRecord = { ...s, key_fingerprint: signer?.key.fingerprint ?? null, signature: null };
  return signer ? { ...unsigned, signature: signer.sign(sealPayload(unsigned)) } : unsigned;
}

/** Whether the seal is signed by `publicKeyPem` (false when unsigned or malformed). */
export function sealSignatureValid(s: SealRecord, publicKeyPem: string): boolean {
  if (!s.signature) return false;
  try {
    return verify(null, Buffer.from(sealPayload(s), "utf8"), createPublicKey(publicKeyPem), Buffer.from(s.signature, "base64"));
  } catch {
    return false;
  }
}

/** The seals a segment carries (every earlier segment's), oldest first. */
export function readSeals(db: Database): SealRecord[] {
  if (!tableExists(db, "seals")) return [];
  return queryAll<SealRecord>(db, `SELECT ${SEAL_COLUMNS} FROM seals ORDER BY segment_no`);
}

/** Where a segment's events start: after meta base_seq (0 and the genesis hash for the first). */
export function segmentBase(db: Database): { seq: number; hash: string } {
  const meta = Object.fromEntries((db.exec("SELECT key, value FROM meta WHERE key IN ('base_seq', 'base_hash')")[0]?.values ?? []).map(([k, v]) => [String(k), String(v)]));
  return meta.base_seq === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(meta.base_seq), hash: meta.base_hash ?? "" };
}

/**
 * The active segment that follows `sealed` (the copy being sealed as segment `segmentNo`): the
 * schema, the trail's meta with the new base, every key, the seal's checkpoint and tree head
 * (so numbering and the latest checkpoint carry on), every earlier seal, and the catalogs
 * extended with the sealed segment's sessions and failures. Its own seal is added by
 * `insertSeal` (it is signed where the key is). No event is copied or re-hashed.
 */
export function nextActiveDatabase(sql: SqlJsStatic, sealed: Database, segmentNo: number): Database {
  const db = new sql.Database();
  try {
    db.exec(SCHEMA_SQL);
    db.exec("BEGIN");
    const copy = (table: string, columns: string, where = "") => {
      const rows = sealed.exec(`SELECT ${columns} FROM ${table} ${where}`)[0]?.values ?? [];
      if (!rows.length) return;
      const ins = db.prepare(`INSERT INTO ${table} (${columns}) VALUES (${columns.split(",").map(() => "?").join(", ")})`);
      try {
        for (const r of rows) ins.run(r);
      } finally {
        ins.free();
      }
    };
    copy("meta", "key, value", "WHERE key NOT IN ('base_seq', 'base_hash')");
    const head = sealed.exec("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")[0]?.values[0];
    const base = head ? { seq: Number(head[0]), hash: String(head[1]) } : segmentBase(sealed);
    const meta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    meta.run(["base_seq", String(base.seq)]);
    meta.run(["base_hash", base.hash]);
    meta.free();
    copy("keys", KEY_FIELDS);
    copy("checkpoints", CHECKPOINT_FIELDS, "ORDER BY checkpoint_no DESC LIMIT 1");
    copy("tree_heads", TREE_HEAD_FIELDS, "ORDER BY checkpoint_no DESC LIMIT 1");
    copy("seals", SEAL_COLUMNS);
    copy("failure_catalog", "seq, segment_no, session_id, tool_name, error_type, timestamp");
    const failures = sealed.exec(
      `SELECT seq, ${segmentNo}, session_id, tool_name, error_type, timestamp FROM events WHERE outcome = 'error' AND event_type IN ('tool_result', 'tool_retry')`,
    )[0]?.values ?? [];
    const insF = db.prepare("INSERT INTO failure_catalog (seq, segment_no, session_id, tool_name, error_type, timestamp) VALUES (?, ?, ?, ?, ?, ?)");
    for (const r of failures) insF.run(r);
    insF.free();
    writeCatalog(db, mergedCatalog(sealed, segmentNo));
    db.exec("COMMIT");
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Adds a segment's seal to the active segment that follows it. */
export function insertSeal(db: Database, seal: SealRecord): void {
  const ins = db.prepare(`INSERT INTO seals (${SEAL_COLUMNS}) VALUES (${SEAL_COLUMNS.split(",").map(() => "?").join(", ")})`);
  try {
    ins.run(SEAL_COLUMNS.split(",").map((c) => (seal as unknown as Record<string, SqlValue>)[c.trim()]));
  } finally {
    ins.free();
  }
}

/** A session catalog row: the sessions view's summary and the segments holding the session. */
export interface CatalogEntry extends SessionSummary {
  first_segment: number;
  last_segment: number;
}

/** The sealed segment's catalog merged with its own sessions (those it shares are summed). */
function mergedCatalog(sealed: Database, segmentNo: number): CatalogEntry[] {
  const byId = new Map(readCatalog(sealed).map((c) => [c.session_id, c]));
  for (const s of queryAll<SessionSummary>(sealed, "SELECT * FROM sessions")) {
    const known = byId.get(s.session_id);
    byId.set(s.session_id, known ? { ...mergeSummaries(known, s), first_segment: known.first_segment, last_segment: segmentNo } : { ...s, first_segment: segmentNo, last_segment: segmentNo });
  }
  return [...byId.values()];
}

const CATALOG_COLUMNS = "session_id, first_seq, last_seq, started_at, ended_at, status, replay_of, task, agent_id, model_id, steps, input_tokens, output_tokens, tool_calls, failed_tool_calls, events, first_segment, last_segment";

export function readCatalog(db: Database): CatalogEntry[] {
  if (!tableExists(db, "session_catalog")) return [];
  return jsonRows<CatalogEntry>(db, CATALOG_COLUMNS, "session_catalog");
}

function writeCatalog(db: Database, entries: CatalogEntry[]): void {
  const cols = CATALOG_COLUMNS.split(",").map((c) => c.trim());
  const ins = db.prepare(`INSERT INTO session_catalog (${CATALOG_COLUMNS}) VALUES (${cols.map(() => "?").join(", ")})`);
  try {
    for (const e of entries) ins.run(cols.map((c) => (e as unknown as Record<string, SqlValue>)[c] ?? null));
  } finally {
    ins.free();
  }
}

/**
 * Sealed segment files opened read-only on demand (a session from last year) and released
 * after: at most `keep` are held. Each file is checked against its seal's SHA-256 before use,
 * so a segment edited with `sqlite3` is refused (and reported by verify), never shown.
 */
export class SegmentFiles {
  private readonly open = new Map<number, Database>();

  constructor(
    private readonly sql: SqlJsStatic,
    private readonly dir: string,
    private readonly keep = 2,
  ) {}

  /** The segment's database; throws a TrailError when the file is gone or not what was sealed. */
  get(seal: SealRecord): Database {
    const held = this.open.get(seal.segment_no);
    if (held) {
      this.open.delete(seal.segment_no);
      this.open.set(seal.segment_no, held);
      return held;
    }
    const found = readSealedSegment(this.dir, seal);
    if (!found) {
      throw new TrailError("CORRUPT", `Sealed segment ${seal.segment_no} (seq ${seal.first_seq}–${seal.last_seq}) is not in ${this.dir}: it was pruned, archived or removed`, path.join(this.dir, seal.file_name));
    }
    const { file, bytes } = found;
    if (!bytes || sha256Hex(bytes) !== seal.file_sha256) {
      throw new TrailError("CORRUPT", `${file} is not the segment that was sealed (its SHA-256 differs): it was edited. Nothing was read from it; run "agent-audit verify".`, file);
    }
    const db = new this.sql.Database(bytes);
    this.open.set(seal.segment_no, db);
    for (const [no, old] of this.open) {
      if (this.open.size <= this.keep) break;
      old.close();
      this.open.delete(no);
    }
    return db;
  }

  /** Closes every held segment. */
  release(): void {
    for (const db of this.open.values()) db.close();
    this.open.clear();
  }
}

/**
 * Copies what the writer committed to `from` (the active segment being sealed) while the
 * seal's worker ran into `next`, the segment that follows it: the events after the sealed
 * head, the blobs those events brought (also ones the sealed part has: a segment holds what its
 * events brought), later checkpoints, tree heads and keys, and the Merkle state. Returns the
 * number of events carried.
 */
export function carryIntoNextSegment(from: Database, next: Database, w: { afterSeq: number; afterCheckpoint: number; blobs: Iterable<string> }): number {
  // `bulk`: long texts, read as their bytes and written back as TEXT (the same bytes), which
  // spares sql.js decoding and re-encoding them in JavaScript (see segmentDatabase.ts prepareStatements).
  const copy = (table: string, columns: string[], where: string, paramSets: SqlValue[][], verb = "INSERT", bulk: string[] = []): number => {
    const read = from.prepare(`SELECT ${columns.map((c) => (bulk.includes(c) ? `CAST(${c} AS BLOB)` : c)).join(", ")} FROM ${table} ${where}`);
    const write = next.prepare(`${verb} INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => (bulk.includes(c) ? "CAST(? AS TEXT)" : "?")).join(", ")})`);
    let n = 0;
    try {
      for (const params of paramSets) {
        read.bind(params);
        while (read.step()) {
          write.run(read.get());
          n++;
        }
        read.reset();
      }
    } finally {
      read.free();
      write.free();
    }
    return n;
  };
  next.exec("BEGIN");
  try {
    const events = copy("events", [...STORED_EVENT_COLUMNS], "WHERE seq > ? ORDER BY seq", [[w.afterSeq]], "INSERT", ["content"]);
    copy("blobs", columnsOf(BLOB_FIELDS), "WHERE hash = ?", [...w.blobs].map((h) => [h]), "INSERT OR IGNORE", ["body"]);
    copy("keys", columnsOf(KEY_FIELDS), "", [[]], "INSERT OR IGNORE");
    copy("checkpoints", [...CHECKPOINT_COLUMNS], "WHERE checkpoint_no > ? ORDER BY checkpoint_no", [[w.afterCheckpoint]]);
    copy("tree_heads", columnsOf(TREE_HEAD_FIELDS), "WHERE checkpoint_no > ? ORDER BY checkpoint_no", [[w.afterCheckpoint]], "INSERT OR IGNORE");
    copy("merkle_state", ["checkpoint_no", "size", "nodes"], "WHERE checkpoint_no > ?", [[w.afterCheckpoint]]);
    next.exec("COMMIT");
    return events;
  } catch (err) {
    next.exec("ROLLBACK");
    throw err;
  }
}

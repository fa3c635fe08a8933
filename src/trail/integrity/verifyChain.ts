import type { Database } from "sql.js";
import type { EventRecord } from "../store/eventTypes";
import { GENESIS_HASH, canonicalEventText, hashOfCanonical, sha256Hex } from "./hashChain";
import { eventRecordOfRow, STORED_EVENT_FIELDS } from "../store/trailColumns";

export type FindingCategory =
  | "HASH_MISMATCH" // an event's fields no longer hash to its stored hash: it was altered
  | "CHAIN_BREAK" // an event's prev_hash is not the previous event's hash: removed, replaced or reordered
  | "SEQ_GAP" // events are missing (seq from–to)
  | "TRUNCATED" // the anchor (or a checkpoint) knows events the trail no longer has
  | "ROLLBACK" // the anchor's head hash differs from the trail's hash at that seq
  | "SIGNATURE_INVALID" // a checkpoint's signature fails, or the trail no longer matches what it signed
  | "KEY_UNKNOWN" // a checkpoint is signed by a key that is neither trusted nor pinned for this trail
  | "TRAIL_REPLACED" // the location holds another trail than the one pinned there
  | "CHECKPOINTS_REMOVED" // fewer signed checkpoints than the pin saw
  | "SCHEMA_ALTERED" // a table, column expression, view, index or trigger differs from its version's schema
  | "TRIGGERS_MISSING" // the append-only triggers were dropped or altered
  | "BLOB_MISMATCH" // stored content no longer matches its hash
  | "CORRUPT" // SQLite reports structural damage
  | "SEGMENT_ALTERED" // a sealed segment file differs from its signed seal (edited, replaced, or the seal is forged)
  | "SEGMENT_MISSING" // a sealed segment file is gone and no recorded pruning accounts for it
  | "PRUNED" // info: sealed segments were pruned (recorded in the trail); their link is vouched for by the signed seal
  | "UNSIGNED_TAIL"; // warning: events after the last checkpoint are chained but not yet signed

export interface Finding {
  category: FindingCategory;
  severity: "error" | "warning" | "info";
  /** Where: the event seq (or the first of a range). */
  seq?: number;
  /** Last seq of a range (SEQ_GAP, TRUNCATED, UNSIGNED_TAIL). */
  toSeq?: number;
  checkpointNo?: number;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  events: number;
  head: { seq: number; hash: string };
  /** In seq order, then blob problems; empty when the chain is intact. */
  problems: Finding[];
}

/**
 * Recomputes every link of the chain from the rows themselves (never trusting a stored
 * hash) and checks every blob against its content address. verifyTrail adds signatures,
 * the anchor and the triggers on top of this.
 */
export function verifyChain(db: Database, options: { maxProblems?: number } = {}): ChainReport {
  const max = options.maxProblems ?? 100;
  const problems: Finding[] = [];
  const add = (f: Finding) => {
    if (problems.length < max) problems.push(f);
  };
  const chain = walkChain(db, new Set(), new Map(), add);
  checkBlobs(db, add);
  return { ok: problems.length === 0, events: chain.events, head: { seq: chain.headSeq, hash: chain.headHash }, problems };
}

/** Walks events in seq order, recomputing every hash and link; `onEvent` sees each event (the Merkle tree). */
export function walkChain(
  db: Database,
  wanted: Set<number>,
  hashAt: Map<number, string>,
  add: (f: Finding) => void,
  onEvent?: (e: EventRecord, canonicalText: string, prevHash: string) => void,
  /** Where this segment starts: the previous segment's last seq and hash (the genesis for the first). */
  from: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
) {
  const stmt = db.prepare(
    `SELECT ${STORED_EVENT_FIELDS} FROM events ORDER BY seq`,
  );
  let expected = from.seq + 1;
  let prevStored = from.hash;
  let events = 0;
  try {
    while (stmt.step()) {
      const r = stmt.get();
      const e: EventRecord = eventRecordOfRow(r);
      const storedPrev = String(r[13]);
      const stored = String(r[14]);
      events++;
      const text = canonicalEventText(e);
      onEvent?.(e, text, storedPrev);
      if (e.seq !== expected) {
        add({ category: "SEQ_GAP", severity: "error", seq: expected, toSeq: e.seq - 1, message: `events ${expected}–${e.seq - 1} are missing` });
      } else if (storedPrev !== prevStored) {
        add({ category: "CHAIN_BREAK", severity: "error", seq: e.seq, message: `seq ${e.seq} does not follow seq ${e.seq - 1} (prev_hash mismatch): an event before it was removed, replaced or reordered` });
      }
      const actual = hashOfCanonical(storedPrev, text);
      if (actual !== stored) {
        add({ category: "HASH_MISMATCH", severity: "error", seq: e.seq, message: `seq ${e.seq} (${e.event_type}) was altered after it was written` });
      }
      // What was signed at this seq is compared with the hash recomputed from the genesis.
      if (wanted.has(e.seq)) hashAt.set(e.seq, actual === stored && storedPrev === prevStored ? stored : `altered:${actual}`);
      expected = e.seq + 1;
      prevStored = stored;
    }
  } finally {
    stmt.free();
  }
  return { events, headSeq: expected - 1, headHash: prevStored };
}

/** Reports blobs whose body no longer hashes to their address. */
export function checkBlobs(db: Database, add: (f: Finding) => void): void {
  const blobs = db.prepare("SELECT hash, body FROM blobs");
  try {
    while (blobs.step()) {
      const [hash, body] = blobs.get() as [string, string];
      if (sha256Hex(String(body)) === hash) continue;
      // Named by the events that use it, so an auditor can place it: the events that name the
      // hash (a system prompt's column, a message or tool list in an llm_call's request).
      const users = db.exec("SELECT min(seq), max(seq), count(*) FROM events WHERE system_prompt_hash = ? OR instr(content, ?) > 0", [hash, hash])[0]?.values[0] ?? [];
      const [from, to, count] = users.map((v) => (v === null ? undefined : Number(v)));
      const where = count ? `; used by ${count} event${count === 1 ? "" : "s"}, seq ${from}${to !== from ? `–${to}` : ""}` : "; no event uses it";
      add({ category: "BLOB_MISMATCH", severity: "error", ...(count ? { seq: from, toSeq: to } : {}), message: `stored content ${String(hash).slice(0, 12)}… was altered${where}` });
    }
  } finally {
    blobs.free();
  }
}

import type { Database } from "sql.js";
import type { EventRecord } from "./eventTypes";
import { GENESIS_HASH, computeEventHash, sha256Hex } from "./hashChain";

export type ChainProblemKind = "SEQ_GAP" | "CHAIN_BREAK" | "HASH_MISMATCH" | "BLOB_MISMATCH";

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The event's seq (for BLOB_MISMATCH: 0, see `blobHash`). */
  seq: number;
  blobHash?: string;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  events: number;
  head: { seq: number; hash: string };
  /** The first problem in seq order, then blob problems; empty when the chain is intact. */
  problems: ChainProblem[];
}

/**
 * Recomputes every link of the chain from the rows themselves (never trusting a stored
 * hash) and checks every blob against its content address.
 */
export function verifyChain(db: Database, options: { maxProblems?: number } = {}): ChainReport {
  const max = options.maxProblems ?? 100;
  const problems: ChainProblem[] = [];
  const stmt = db.prepare(
    `SELECT seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number, parent_event_id,
            model_id, system_prompt_hash, agent_version, content, prev_hash, hash FROM events ORDER BY seq`,
  );
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let events = 0;
  try {
    while (stmt.step() && problems.length < max) {
      const r = stmt.get();
      const e: EventRecord = {
        seq: Number(r[0]),
        event_id: r[1] as string,
        session_id: r[2] as string,
        agent_id: r[3] as string,
        user_id: r[4] as string,
        timestamp: r[5] as string,
        event_type: r[6] as string,
        step_number: Number(r[7]),
        parent_event_id: r[8] as string | null,
        model_id: r[9] as string | null,
        system_prompt_hash: r[10] as string | null,
        agent_version: r[11] as string | null,
        content: String(r[12]),
      };
      const storedPrev = r[13] as string;
      const storedHash = r[14] as string;
      events++;
      if (e.seq !== expectedSeq) {
        problems.push({
          kind: "SEQ_GAP",
          seq: e.seq,
          message: `events ${expectedSeq}–${e.seq - 1} are missing (seq jumps from ${expectedSeq - 1} to ${e.seq})`,
        });
      } else if (storedPrev !== prevHash) {
        problems.push({
          kind: "CHAIN_BREAK",
          seq: e.seq,
          message: `prev_hash of seq ${e.seq} does not match the hash of seq ${e.seq - 1}: an event before it was removed, replaced or reordered`,
        });
      }
      const actual = computeEventHash(storedPrev, e);
      if (actual !== storedHash) {
        problems.push({
          kind: "HASH_MISMATCH",
          seq: e.seq,
          message: `seq ${e.seq} (${e.event_type}) was altered after it was written: its fields hash to ${actual.slice(0, 12)}…, the trail says ${String(storedHash).slice(0, 12)}…`,
        });
      }
      // Continue from what the row claims, so one altered event is reported once, not as a cascade.
      expectedSeq = e.seq + 1;
      prevHash = storedHash;
    }
  } finally {
    stmt.free();
  }
  const blobs = db.prepare("SELECT hash, body FROM blobs");
  try {
    while (blobs.step() && problems.length < max) {
      const [hash, body] = blobs.get() as [string, string];
      if (sha256Hex(String(body)) !== hash) {
        problems.push({ kind: "BLOB_MISMATCH", seq: 0, blobHash: hash, message: `stored content ${hash.slice(0, 12)}… was altered: its body no longer hashes to its address` });
      }
    }
  } finally {
    blobs.free();
  }
  return { ok: problems.length === 0, events, head: { seq: expectedSeq - 1, hash: prevHash }, problems };
}

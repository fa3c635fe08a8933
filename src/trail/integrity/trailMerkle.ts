import type { Database } from "sql.js";
import type { EventRecord } from "../store/eventTypes";
import { canonicalEventText } from "./hashChain";
import { leafHash, MerkleFrontier, MerkleTree } from "./merkle";
import { EVENT_RECORD_FIELDS, eventRecordOfRow } from "../store/trailColumns";

/** The Merkle leaf of an event: SHA-256(0x00 ‖ its canonical text, the bytes its hash covers). */
export function eventLeaf(e: EventRecord): Buffer {
  return leafHash(canonicalEventText(e));
}

/** The Merkle tree of a trail's first `upTo` events (all by default), read in seq order. */
export function buildTrailTree(db: Database, upTo = Number.MAX_SAFE_INTEGER): MerkleTree {
  const tree = new MerkleTree();
  const stmt = db.prepare(`SELECT ${EVENT_RECORD_FIELDS} FROM events WHERE seq <= ? ORDER BY seq`);
  try {
    stmt.bind([upTo]);
    // Positional rows: getAsObject() costs more than hashing the event.
    while (stmt.step()) tree.append(eventLeaf(eventRecordOfRow(stmt.get())));
  } finally {
    stmt.free();
  }
  return tree;
}

/**
 * A writer's running Merkle tree, as its right edge only (MerkleFrontier): built the first
 * time a tree head is needed (so readers and short runs never pay for it) from the last
 * seal's frontier and the active segment's events, then extended by one leaf per append.
 */
export class RunningTree {
  private frontier: MerkleFrontier | undefined;

  constructor(
    private readonly db: () => Database,
    /** The tree of every event before the active segment (empty for an unsealed trail). */
    private readonly base: () => MerkleFrontier,
  ) {}

  /** After an event is inserted (in seq order); `canonicalText` when the caller has it already. */
  appended(e: EventRecord, canonicalText?: string): void {
    this.frontier?.append(canonicalText === undefined ? eventLeaf(e) : leafHash(canonicalText));
  }

  /** The database was replaced (a snapshot reload or a seal): rebuild on next use. */
  reset(): void {
    this.frontier = undefined;
  }

  /** The tree of every event so far. */
  current(): MerkleFrontier {
    if (!this.frontier) {
      const f = this.base();
      const stmt = this.db().prepare(`SELECT ${EVENT_RECORD_FIELDS} FROM events WHERE seq > ? ORDER BY seq`);
      try {
        stmt.bind([f.size]);
        while (stmt.step()) f.append(eventLeaf(eventRecordOfRow(stmt.get())));
      } finally {
        stmt.free();
      }
      this.frontier = f;
    }
    return this.frontier;
  }

  /** The root of the first `size` events: only the current size (what a checkpoint signs). */
  root(size: number): Buffer {
    const f = this.current();
    if (f.size !== size) throw new RangeError(`the running tree has ${f.size} leaves, not ${size}`);
    return f.root();
  }
}

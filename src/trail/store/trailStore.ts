import * as path from "node:path";
import type { Database, SqlJsStatic } from "sql.js";
import { ActiveSegment } from "./activeSegment";
import { Checkpointer } from "../integrity/checkpointer";
import type { CheckpointerOptions } from "../integrity/checkpointer";
import type { EventInput, StoredEvent } from "./eventTypes";
import { Journal, journalPathFor } from "./journal";
import type { JournalReport, JournalRollback } from "./journal";
import { canonicalLocation } from "../trust/pins";
import type { PreparedEvent } from "./preparedEvent";
import { prepareAppend } from "./preparedEvent";
import { ProcessLock } from "./processLock";
import { checkTrailFolders } from "./safeFiles";
import { SCHEMA_VERSION } from "./schema";
import { Sealer } from "./sealer";
import type { SealerOptions } from "./sealer";
import type { SealRecord } from "./segments";
import { segmentsDirFor } from "./segments";
import type { Checkpoint } from "../trust/signing";
import type { SnapshotPolicy } from "./snapshotWriter";
import { SnapshotWriter } from "./snapshotWriter";
import { TrailFiles } from "./trailFiles";
import { groupCommit } from "./groupCommit";
import type { CommitParts } from "./groupCommit";
import { loadSqlEngine } from "./sqlEngine";
import { TrailError } from "./trailErrors";

export { DEFAULT_SEAL_BYTES } from "./sealer";
export { journalPathFor } from "./journal";

export interface TrailStoreOptions extends SnapshotPolicy, Omit<CheckpointerOptions, "location" | "log">, Pick<SealerOptions, "sealBytes"> {
  /** Open without taking the lock or repairing anything (auditors, `verify`). No appends. */
  readOnly?: boolean;
  /** Runs at a writing open (under the lock, caught up, before anything is written): throws to refuse (writerGate.ts). */
  gate?: (store: TrailStore) => void;
  /** Open even when the schema differs from this version's (verify, to report it). */
  allowAlteredSchema?: boolean;
  log?: (message: string) => void;
  clock?: () => Date;
}

/** What opening found and repaired, for the caller to tell the user (journal findings: journal.ts). */
export interface OpenReport extends JournalReport {
  created: boolean;
  removedTempFiles: string[];
  /**
   * The journal continues from a seq the database file does not reach: the file was replaced
   * by an older copy or cut short. Only reported by read-only opens (writers refuse).
   */
  rollback?: JournalRollback;
}

const MAX_BATCH = 1000;
/** Longest a process keeps the lock across back-to-back commits while nobody else waits. */
const LEASE_MS = 50;
/** How many microtask turns to wait for a caller's next append before letting the lock go. */
const LEASE_MICROTASKS = 8;
/** While a seal's worker runs, the writer's loop lets the event loop turn this often (ms). */
const SEAL_YIELD_MS = 4;

/**
 * The audit trail of one workspace: an SQLite database (`trail.db`, held in memory by sql.js:
 * activeSegment.ts) made durable by an fsync'd journal (`trail.journal`: journal.ts). This
 * class is the coordinator: the append queue, the process lock, and the commit loop that
 * catches up with other processes, commits, checkpoints (checkpointer.ts), seals (sealer.ts)
 * and rewrites the snapshot (snapshotWriter.ts), each under the lock.
 *
 * - `append()` resolves once the event is fsync'd in the journal; appends that arrive while
 *   a commit is in flight share the next fsync (group commit). An append costs the same on a
 *   trail of 100 events or 100,000: it never exports the database.
 * - Every commit and rewrite happens under a lock shared by all processes, after catching
 *   up with what other processes wrote, so seq stays gapless and the chain intact.
 */
export class TrailStore {
  readonly journalPath: string;
  private readonly segmentState: ActiveSegment;
  private readonly journal: Journal;
  private readonly snapshots: SnapshotWriter;
  private readonly checkpointer: Checkpointer;
  private readonly sealer: Sealer;
  private readonly files: TrailFiles;
  private readonly parts: CommitParts;
  private readonly lock: ProcessLock;
  private readonly listeners = new Set<(events: StoredEvent[]) => void>();
  private pending: PreparedEvent[] = [];
  private loop: Promise<void> | undefined;
  private snapshotWanted = false;
  /** Wakes the writer's loop while it waits for a seal's worker (new appends to commit). */
  private wake: (() => void) | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    sql: SqlJsStatic,
    private readonly options: TrailStoreOptions,
  ) {
    const log = (message: string) => this.log(message);
    const readOnly = !!options.readOnly;
    const segmentsDir = segmentsDirFor(path);
    this.journalPath = journalPathFor(path);
    this.lock = new ProcessLock(path);
    this.segmentState = new ActiveSegment(sql, { trail: path, journal: this.journalPath, segmentsDir, readOnly }, options.clock, log);
    this.journal = new Journal(this.journalPath, path, readOnly, log);
    this.snapshots = new SnapshotWriter(path, options, log);
    this.checkpointer = new Checkpointer(this.segmentState, { ...options, location: () => canonicalLocation(path), log });
    this.sealer = new Sealer(this.segmentState, this.snapshots, this.journal, { sealBytes: options.sealBytes, readOnly, signer: options.signer, segmentsDir, log });
    this.files = new TrailFiles(path, this.segmentState, this.journal, this.snapshots, { allowAlteredSchema: options.allowAlteredSchema, log, emit: (events) => this.emit(events) });
    this.parts = { segment: this.segmentState, journal: this.journal, checkpointer: this.checkpointer, sealer: this.sealer, files: this.files };
  }

  /** Opens (or creates) the trail at `trailPath`, recovering from any crash. */
  static async open(trailPath: string, options: TrailStoreOptions = {}): Promise<{ store: TrailStore; report: OpenReport }> {
    const store = new TrailStore(path.resolve(trailPath), await loadSqlEngine(), options);
    const report = options.readOnly ? store.openReadOnly() : await store.openReadWrite();
    return { store, report };
  }

  // ---- reading: the active segment's state ----------------------------------------------

  /** The trail's id (meta trail_id), stable across segments. */
  get trailId(): string { return this.segmentState.trailId; }
  /** The newest event's seq and hash (seq 0 and the genesis hash for an empty trail). */
  get head(): { seq: number; hash: string } { return this.segmentState.head; }
  /** The in-memory database, for queries. Callers must not write to it. */
  get database(): Database { return this.segmentState.database; }
  /** The public key this store signs checkpoints and seals with, if it has one. */
  get signerKey() { return this.options.signer?.key; }
  /** The SQLite engine the trail is read with. */
  get sqlEngine(): SqlJsStatic { return this.segmentState.sql; }
  /** Sealed segments, oldest first (empty until the trail first passes `sealBytes`). */
  get seals(): readonly SealRecord[] { return this.segmentState.seals; }
  /** Bytes of events and blobs in the active segment (it is sealed past `sealBytes`). */
  get activeSegmentBytes(): number { return this.segmentState.activeBytes; }
  /** Where the active segment's events start: everything up to this seq is sealed. */
  get activeBase(): { seq: number; hash: string } { return this.segmentState.base; }
  /** Folder of the sealed segment files. */
  get segmentsDir(): string { return segmentsDirFor(this.path); }
  /** The newest signed checkpoint in the trail, if any. */
  get latestCheckpoint(): Checkpoint | undefined { return this.segmentState.latestCheckpoint; }
  /** A sealed segment's database, read-only, checked against its seal (at most two are held). */
  segment(seal: SealRecord): Database { return this.segmentState.segment(seal); }
  /** Lets go of the sealed segments held for reading. */
  releaseSegments(): void { this.segmentState.releaseSegments(); }
  /** The hash at `seq` (as stored), in the active segment or a sealed one; undefined when there is none. */
  hashAtSeq(seq: number): string | undefined { return this.segmentState.hashAtSeq(seq); }

  // ---- appending -------------------------------------------------------------------------

  /** Called after events (from this or another process) were added to the in-memory copy. */
  onDidAppend(listener: (events: StoredEvent[]) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Appends one event; resolves with it as stored once it is fsync'd. */
  append(input: EventInput): Promise<StoredEvent> {
    if (this.closed) return Promise.reject(new TrailError("CLOSED", `Trail ${this.path} is closed`));
    if (this.options.readOnly) return Promise.reject(new TrailError("READ_ONLY", `Trail ${this.path} was opened read-only`));
    return new Promise<StoredEvent>((resolve, reject) => {
      try {
        this.pending.push(prepareAppend(input, resolve, reject));
      } catch (err) {
        reject(err);
        return;
      }
      this.kick();
    });
  }

  /** Waits for pending appends and writes the database file now. */
  async flush(): Promise<void> {
    if (this.options.readOnly || this.closed) return;
    // Events appended while a snapshot was being written need one more round.
    for (let round = 0; round < 3; round++) {
      this.snapshotWanted = true;
      this.kick();
      while (this.loop) await this.loop;
      if (this.journal.recordBytes <= 0) return;
    }
  }

  /** Signs a checkpoint at the current head now (if it is not signed yet); resolves with the latest. */
  async checkpointNow(): Promise<Checkpoint | undefined> {
    this.checkpointer.requireSigner();
    this.checkpointer.want();
    this.kick();
    while (this.loop) await this.loop;
    return this.segmentState.latestCheckpoint;
  }

  /** Picks up what other processes appended since we last looked. Returns true if anything changed. */
  async refresh(): Promise<boolean> {
    const before = this.head.seq;
    if (this.options.readOnly) {
      this.files.catchUpReading();
    } else {
      await this.lock.acquire();
      try {
        this.files.catchUp(true);
      } finally {
        this.lock.release();
      }
    }
    return this.head.seq !== before;
  }

  /** Flushes and releases everything. Appends after this are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.checkpointer.wantBeforeClosing();
    await this.flush();
    this.closed = true;
    this.snapshots.cancelIdle();
    this.journal.close();
    this.segmentState.close();
  }

  // ---- opening ---------------------------------------------------------------------------

  private async openReadWrite(): Promise<OpenReport> {
    // A repository may ship .agent-audit or segments/ as a link out of the workspace.
    checkTrailFolders(this.path, { create: true });
    await this.lock.acquire();
    try {
      const removedTempFiles = [...this.files.removeStaleTemps(), ...this.sealer.removeStaleTemps()];
      const report: OpenReport = { created: false, discardedBytes: 0, removedTempFiles };
      report.created = this.files.openForWriting(() => this.checkpointer.checkPinBeforeCreating(), report);
      this.checkpointer.openForWriting();
      this.options.gate?.(this);
      this.checkpointer.startWriter();
      if (this.segmentState.upgraded) {
        this.log(`upgraded ${path.basename(this.path)} to schema ${SCHEMA_VERSION}`);
        this.files.writeNow();
        this.segmentState.upgraded = false;
      }
      if (removedTempFiles.length) this.log(`removed leftovers of an interrupted write: ${removedTempFiles.join(", ")}`);
      // A trail past the seal size (one written before segments existed) is sealed right away.
      if (this.sealer.due()) queueMicrotask(() => this.kick());
      return report;
    } finally {
      this.lock.release();
    }
  }

  private openReadOnly(): OpenReport {
    checkTrailFolders(this.path);
    const report: OpenReport = { created: false, discardedBytes: 0, removedTempFiles: [] };
    this.files.openForReading(report);
    report.rollback = this.files.rollback;
    return report;
  }

  // ---- the commit loop -------------------------------------------------------------------

  private kick(): void {
    this.wake?.();
    if (this.closed) {
      for (const p of this.pending.splice(0)) p.reject(new TrailError("CLOSED", `Trail ${this.path} is closed`));
      return;
    }
    this.loop ??= this.runLoop().finally(() => {
      this.loop = undefined;
      if (this.pending.length || this.snapshotWanted) this.kick();
    });
  }

  private async runLoop(): Promise<void> {
    let held = false;
    let heldSince = 0;
    let lastYield = 0;
    const { sealer, snapshots, checkpointer } = this;
    // A wanted snapshot waits while another one is being written.
    // While a seal's worker runs, only appends (up to the carry limit), checkpoints and the
    // seal's end are work.
    const hasWork = () =>
      !this.closed &&
      ((this.pending.length > 0 && !sealer.holdsAppends()) ||
        checkpointer.isWanted ||
        sealer.done ||
        (!sealer.busy && (sealer.due() || (this.snapshotWanted && !snapshots.writing) || snapshots.done)));
    try {
      for (;;) {
        if (!hasWork()) {
          if (sealer.busy) {
            // The lock stays ours until the seal is finished: another process must not seal
            // the same segment meanwhile. Appends are committed as they come.
            await this.untilWoken(sealer.settled);
            continue;
          }
          if (held) {
            // Lease: a caller awaiting each append queues its next one a few microtasks
            // after ours resolves. Keeping the lock for it saves a release, an acquire and
            // a catch-up (nobody else can have written), unless another process waits.
            for (let i = 0; i < LEASE_MICROTASKS && !hasWork(); i++) await Promise.resolve();
            if (!hasWork() || this.lock.contended || Date.now() - heldSince > LEASE_MS) {
              this.lock.release();
              held = false;
            }
            continue;
          }
          if (snapshots.writing && !this.closed) {
            await snapshots.written;
            continue;
          }
          break;
        }
        if (sealer.busy && !sealer.done && performance.now() - lastYield > SEAL_YIELD_MS) {
          // A caller awaiting each append keeps this loop in microtasks; the worker's answer is
          // a message (a macrotask) that would wait until the caller stops.
          await new Promise((r) => setImmediate(r));
          lastYield = performance.now();
        }
        const batch: PreparedEvent[] = [];
        try {
          if (!held) {
            await this.lock.acquire();
            held = true;
            heldSince = Date.now();
            this.files.catchUp(true);
          }
          // Taken after the lock: everything that arrived while we waited shares this commit.
          if (!sealer.holdsAppends()) batch.push(...this.pending.splice(0, MAX_BATCH));
          if (batch.length || checkpointer.isWanted) this.commit(batch);
          if (sealer.busy) {
            if (sealer.done) sealer.finish();
          } else if (snapshots.done) this.files.finishSnapshot();
          // A seal does not wait for a snapshot being written: it replaces trail.db, so that
          // snapshot is stale and finishSnapshot drops it. (Under a continuous burst a snapshot
          // write can wait long for the I/O turns it needs; the seal must not wait with it.)
          else if (sealer.due()) this.startSeal();
          else if (!snapshots.writing && ((this.snapshotWanted && this.pending.length === 0) || snapshots.journalIsLarge(this.journal.recordBytes))) {
            this.snapshotWanted = false;
            this.files.startSnapshot();
          }
        } catch (err) {
          for (const p of batch) p.reject(err);
          for (const p of this.pending.splice(0)) p.reject(err);
          this.snapshotWanted = false;
          this.log(`write failed: ${(err as Error).message}`);
          // Not released before the worker is done with the segment file; the seal is
          // dropped (trail.db and the journal still hold everything) and done again later.
          if (sealer.busy) await sealer.abandon();
          if (held) this.lock.release();
          held = false;
        }
      }
    } finally {
      if (held) this.lock.release();
    }
    this.scheduleIdleSnapshot();
  }

  private commit(batch: PreparedEvent[]): void {
    const events = groupCommit(this.parts, batch);
    if (events.length) this.emit(events);
  }

  /** A seal begins with a checkpoint at the segment's last event, committed before the export. */
  private startSeal(): void {
    if (this.options.signer) {
      this.checkpointer.want();
      this.commit([]);
    }
    this.sealer.start();
  }

  /** Resolves when `settled` does or an append arrives, whichever is first. */
  private untilWoken(settled: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      void settled.then(resolve);
    }).finally(() => {
      this.wake = undefined;
    });
  }

  // ---- snapshots (snapshotWriter.ts) -------------------------------------------------------

  private scheduleIdleSnapshot(): void {
    this.snapshots.cancelIdle();
    if (this.closed || this.journal.recordBytes <= 0) return;
    this.snapshots.scheduleIdle(() => {
      this.snapshotWanted = true;
      this.kick();
    });
  }

  private emit(events: StoredEvent[]): void {
    for (const l of this.listeners) {
      try {
        l(events);
      } catch (err) {
        this.log(`listener failed: ${(err as Error).message}`);
      }
    }
  }

  private log(message: string): void {
    this.options.log?.(`[trail] ${message}`);
  }
}

import * as fs from "node:fs";
import * as path from "node:path";
import { fileIdentity, fsyncDir, sameIdentity, tempPathFor, writeFileAtomic, writeFileDurably } from "./durableFile";
import type { FileIdentity } from "./durableFile";
import { MAX_SNAPSHOT_BYTES, readRegularFile } from "./safeFiles";

export interface SnapshotPolicy {
  /** Write the snapshot this long after the last append (default 1000 ms). */
  idleSnapshotMs?: number;
  /** Also write it while appends keep coming once the journal holds this many bytes… */
  minJournalBytesForSnapshot?: number;
  /** …and at least this fraction of the snapshot's size (default 0.5). */
  snapshotJournalRatio?: number;
}

/** A snapshot written in the background: what it holds, and the journal offset it corresponds to. */
interface SnapshotWrite {
  tmp: string;
  bytes: number;
  head: { seq: number; hash: string };
  journalIno: bigint | undefined;
  /** Journal offset the export corresponds to; records after it are carried over. */
  journalCut: number;
  /** The database file the export was based on; if it changed since, ours is stale. */
  basedOn: FileIdentity | undefined;
  done: boolean;
  error?: Error;
  written: Promise<void>;
}

/**
 * The file trail.db: which version of it the store holds (to notice another process replacing
 * it), and rewriting it off the append path. The export happens under the lock; the temp file
 * is written and fsync'd in the background while appends go on; the swap (`finish`) happens
 * under the lock again, and the caller restarts the journal with what was appended meanwhile.
 * When: about a second after appends stop, on flush and close, and when the journal grows past
 * half the snapshot, which keeps the rewrite's cost per event constant.
 */
export class SnapshotWriter {
  private id: FileIdentity | undefined;
  private bytes = 0;
  private write: SnapshotWrite | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly policy: SnapshotPolicy,
    private readonly log: (message: string) => void,
  ) {}

  /** Size of trail.db as last read or written. */
  get size(): number {
    return this.bytes;
  }

  /** A background write is under way (or done and not yet swapped in). */
  get writing(): boolean {
    return this.write !== undefined;
  }

  /** The background write is done (written or failed): `finish` is due. */
  get done(): boolean {
    return this.write?.done === true;
  }

  /** Settles when the background write does. */
  get written(): Promise<void> {
    return this.write?.written ?? Promise.resolve();
  }

  /** trail.db's bytes, read whole and unchanged while reading; `identity` to pass to `loaded` once they are accepted. */
  read(): { bytes: Buffer; identity: FileIdentity | undefined } {
    for (;;) {
      const identity = fileIdentity(this.path);
      const bytes = readRegularFile(this.path, MAX_SNAPSHOT_BYTES);
      if (sameIdentity(identity, fileIdentity(this.path))) return { bytes, identity }; // not changed while we read it
    }
  }

  /** The bytes `read` returned are the ones the store now holds. */
  loaded(identity: FileIdentity | undefined, size: number): void {
    this.id = identity;
    this.bytes = size;
  }

  /** Someone replaced or changed trail.db since we read or wrote it. */
  changedOnDisk(): boolean {
    return !sameIdentity(fileIdentity(this.path), this.id);
  }

  /** Writes trail.db atomically now (a new trail, an upgrade, the segment after a seal). Under the lock. */
  writeNow(bytes: Uint8Array): void {
    this.id = writeFileAtomic(this.path, bytes);
    this.bytes = bytes.length;
  }

  /** The journal has grown past half the snapshot: rewriting now keeps each event's share constant. */
  journalIsLarge(journalRecordBytes: number): boolean {
    return (
      journalRecordBytes >= (this.policy.minJournalBytesForSnapshot ?? 8 * 1024 * 1024) &&
      journalRecordBytes >= this.bytes * (this.policy.snapshotJournalRatio ?? 0.5)
    );
  }

  /**
   * Starts writing `bytes` (the exported database at `head`, which the journal holds up to
   * `journalCut`) to a temp file in the background.
   */
  start(bytes: Uint8Array, head: { seq: number; hash: string }, journalIno: bigint | undefined, journalCut: number): void {
    const write: SnapshotWrite = {
      tmp: tempPathFor(this.path), bytes: bytes.length, head, journalIno, journalCut, basedOn: this.id, done: false, written: Promise.resolve(),
    };
    write.written = writeFileDurably(write.tmp, bytes).then(
      () => {
        write.done = true;
      },
      (err: Error) => {
        write.done = true;
        write.error = err;
      },
    );
    this.write = write;
  }

  /**
   * Swaps the written temp file in (under the lock, caught up) and returns where the journal
   * must restart from and the offset of the records to carry over. Undefined when the write
   * failed (nothing is lost: the journal holds every event; it is retried later) or is stale
   * (someone else rewrote the trail or restarted the journal meanwhile): it is dropped.
   */
  finish(journalIno: bigint | undefined): { head: { seq: number; hash: string }; journalCut: number } | undefined {
    const w = this.write!;
    this.write = undefined;
    if (w.error) {
      fs.rmSync(w.tmp, { force: true });
      this.log(`could not write ${this.path} (will retry; no event is lost): ${w.error.message}`);
      return undefined;
    }
    if (!sameIdentity(fileIdentity(this.path), w.basedOn) || journalIno !== w.journalIno) {
      fs.rmSync(w.tmp, { force: true });
      return undefined;
    }
    try {
      fs.renameSync(w.tmp, this.path);
      fsyncDir(path.dirname(this.path));
    } catch (err) {
      fs.rmSync(w.tmp, { force: true });
      this.log(`could not replace ${this.path} (will retry; no event is lost): ${(err as Error).message}`);
      return undefined;
    }
    this.id = fileIdentity(this.path);
    this.bytes = w.bytes;
    return { head: w.head, journalCut: w.journalCut };
  }

  /** Calls `due` once appends have been quiet for the idle delay (unless rescheduled or cancelled). */
  scheduleIdle(due: () => void): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(due, this.policy.idleSnapshotMs ?? 1000);
    // A process may exit without waiting for this; the journal already holds every event,
    // and the next open replays it.
    this.idleTimer.unref();
  }

  cancelIdle(): void {
    clearTimeout(this.idleTimer);
  }
}

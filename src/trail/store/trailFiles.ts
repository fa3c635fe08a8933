import * as fs from "node:fs";
import * as path from "node:path";
import type { ActiveSegment } from "./activeSegment";
import { removeStaleTempFiles } from "./durableFile";
import type { StoredEvent } from "./eventTypes";
import type { Journal, JournalReport, JournalRollback } from "./journal";
import { createTrailDatabase, openTrailDatabase } from "./segmentDatabase";
import type { SnapshotWriter } from "./snapshotWriter";
import { TrailError } from "./trailErrors";

export interface TrailFilesOptions {
  /** Open even when the schema differs from this version's (verify, to report it). */
  allowAlteredSchema?: boolean;
  log: (message: string) => void;
  /** Events (from this or another process) were added to the in-memory copy. */
  emit: (events: StoredEvent[]) => void;
}

/**
 * trail.db and trail.journal read as one: loading the snapshot into the active segment,
 * catching up with what other processes wrote (a replaced snapshot, a restarted or grown
 * journal), restarting the journal after a rewrite, and refusing to go on when the files hold
 * less than this store acknowledged (a rollback).
 */
export class TrailFiles {
  /** Highest seq this store acknowledged: if the disk ever holds less, it was rolled back. */
  private ackedSeq = 0;

  constructor(
    readonly path: string,
    private readonly segment: ActiveSegment,
    private readonly journal: Journal,
    private readonly snapshots: SnapshotWriter,
    private readonly opts: TrailFilesOptions,
  ) {}

  /** The events up to `seq` were acknowledged to their callers. */
  acknowledged(seq: number): void {
    this.ackedSeq = seq;
  }

  /** Where a reader found the journal continuing past the end of trail.db, if it did. */
  get rollback(): JournalRollback | undefined {
    return this.journal.rollback;
  }

  /**
   * A writer's open (under the lock): trail.db loaded, or a new trail created where there is
   * none (after `beforeCreating`, which may refuse), the journal started if missing, and
   * caught up with an unfinished write cut off. Returns whether the trail was created.
   */
  openForWriting(beforeCreating: () => void, report: JournalReport): boolean {
    let created = false;
    if (fs.existsSync(this.path)) {
      this.load();
    } else if (fs.existsSync(this.journal.path)) {
      throw new TrailError(
        "CORRUPT",
        `${this.path} is missing but its journal ${this.journal.path} is there: the trail was partly deleted. ` +
          `Nothing was changed; restore trail.db, or move both files aside to start a new trail.`,
        this.path,
      );
    } else {
      beforeCreating();
      this.create();
      created = true;
    }
    if (!fs.existsSync(this.journal.path)) this.restartJournal();
    this.catchUp(true, report);
    return created;
  }

  /** A reader's open: nothing is repaired, created or locked. */
  openForReading(report: JournalReport): void {
    if (!fs.existsSync(this.path)) {
      throw new TrailError("CORRUPT", `No trail at ${this.path}: run an agent first, or check the path`, this.path);
    }
    this.load();
    this.catchUpReading(report);
  }

  /** Temp files of an interrupted rewrite of trail.db or the journal. Under the lock. */
  removeStaleTemps(): string[] {
    return [...removeStaleTempFiles(this.path), ...removeStaleTempFiles(this.journal.path)];
  }

  /** Reads trail.db into the active segment (checked: segmentDatabase.ts). */
  load(): void {
    const { bytes, identity } = this.snapshots.read();
    this.segment.adopt(openTrailDatabase(this.segment.sql, bytes, this.path, !!this.opts.allowAlteredSchema));
    this.snapshots.loaded(identity, bytes.length);
    this.journal.forget(); // re-read the journal against this snapshot
  }

  /** A new trail: its database written out and its journal started. Under the lock. */
  create(): void {
    this.segment.adopt(createTrailDatabase(this.segment.sql, this.segment.now()));
    this.writeNow();
  }

  /** Writes the whole database atomically now (a new trail, an upgrade) and restarts the journal. Under the lock. */
  writeNow(): void {
    this.snapshots.writeNow(this.segment.export());
    this.restartJournal();
  }

  /** Replaces the journal with one that continues from `base` (default: the head), holding `tail`. */
  restartJournal(base = this.segment.head, tail?: Buffer): void {
    this.journal.start({ trail_id: this.segment.trailId, base_seq: base.seq, base_hash: base.hash }, tail);
  }

  /** Starts rewriting trail.db in the background (nothing to do when it holds everything). Under the lock. */
  startSnapshot(): void {
    if (this.journal.recordBytes <= 0 && !this.snapshots.changedOnDisk()) return;
    this.snapshots.start(this.segment.export(), this.segment.head, this.journal.inode, this.journal.end);
  }

  /** Swaps the written snapshot in and restarts the journal from its head, carrying over what was appended meanwhile. */
  finishSnapshot(): void {
    const swapped = this.snapshots.finish(this.journal.inode);
    if (swapped) this.restartJournal(swapped.head, this.journal.readFrom(swapped.journalCut));
  }

  /**
   * A reader's catchUp. A writer replaces trail.db and then starts a new journal; a reader that
   * read the old trail.db and then the new journal sees a journal that starts past the end of
   * its database, which looks like a restored older copy for a moment. Read both again: a real
   * rollback persists, a writer's swap does not. Without this a view's store that catches up
   * across a snapshot stayed behind, and verify reported the anchor's events as removed.
   */
  catchUpReading(report?: JournalReport): void {
    const known = this.journal.rollback;
    for (let attempt = 0; ; attempt++) {
      if (report) report.discardedBytes = 0;
      this.catchUp(false, report);
      if (!this.journal.rollback || this.journal.rollback === known || attempt >= 3) return;
      this.journal.rollback = known;
      this.load();
    }
  }

  /**
   * Brings the in-memory database up to date with the files: reloads the snapshot if anyone
   * replaced or changed it, then applies journal records we have not seen. With `repair`
   * (only under the lock) an unfinished write at the journal's end is cut off, after keeping
   * a copy of its bytes (journal.ts).
   */
  catchUp(repair: boolean, report?: JournalReport): void {
    if (this.snapshots.changedOnDisk()) {
      if (!fs.existsSync(this.path)) {
        throw new TrailError("ROLLED_BACK", `${this.path} was deleted while in use; nothing more will be written to it`, this.path);
      }
      this.opts.log(`${path.basename(this.path)} changed on disk; reloading it`);
      this.load();
    }
    const look = this.journal.look();
    if (look === "absent") {
      if (this.segment.head.seq < this.ackedSeq) this.throwRolledBack();
      if (!repair) return;
      this.restartJournal();
    } else if (look === "replaced") {
      this.journal.open(this.segment.trailId, this.segment.head.seq);
    } else if (look === "shrunk") {
      // Shrunk in place: not something we do. Start over from the files to see what is left.
      this.load();
      this.journal.open(this.segment.trailId, this.segment.head.seq);
    }
    const tail = this.journal.readTail();
    if (tail) {
      const { goodEnd, added } = this.segment.applyRecords(tail.records);
      this.journal.accept(tail, goodEnd, this.segment.head.seq + 1, repair, report);
      if (added.length) this.opts.emit(added);
    }
    if (this.segment.head.seq < this.ackedSeq) this.throwRolledBack();
  }

  private throwRolledBack(): never {
    throw new TrailError(
      "ROLLED_BACK",
      `${this.path} no longer holds events up to seq ${this.ackedSeq} that were written to it ` +
        `(it now ends at seq ${this.segment.head.seq}): the file was replaced by an older copy or the journal was removed. ` +
        `Nothing more will be written; run "agent-audit verify".`,
      this.path,
    );
  }
}

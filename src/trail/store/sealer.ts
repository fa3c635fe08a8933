import * as fs from "node:fs";
import * as path from "node:path";
import type { Database } from "sql.js";
import type { ActiveSegment } from "./activeSegment";
import { mkdirDurable, removeStaleTempFiles } from "./durableFile";
import type { Journal } from "./journal";
import type { SealBuilt } from "./sealJob";
import { runSealJob } from "./sealJob";
import { carryIntoNextSegment, insertSeal, segmentFileName, signSeal } from "./segments";
import type { CheckpointSigner } from "../trust/signing";
import type { SnapshotWriter } from "./snapshotWriter";

/**
 * 6 MiB, and appends during a seal go on until the active segment holds a third more (8 MiB),
 * then wait for the seal: the active segment stays within ~8 MiB. Its sessions are aggregated
 * from its rows for the sessions list (cold, in proportion to its size: ~100 ms at 8 MiB), and
 * exporting it for a snapshot or a seal blocks the event loop for ~15 ms; both grow with it.
 */
export const DEFAULT_SEAL_BYTES = 6 * 1024 * 1024;
/** A failed seal is tried again after this long (nothing is lost meanwhile). */
const SEAL_RETRY_MS = 60_000;

/**
 * A seal whose worker is writing the segment file and building the next active segment.
 * Appends go on meanwhile (into the in-memory copy and the journal, under the lock the writer
 * keeps until the seal is finished); `finish` carries them into the next segment.
 */
interface SealWork {
  segmentNo: number;
  fileName: string;
  first: number;
  last: { seq: number; hash: string };
  base: { seq: number; hash: string };
  /** The checkpoint signed at `last` (0 without a signer). */
  checkpointNo: number;
  frontier: string;
  bytes: number;
  startedAt: number;
  /** Blobs the events committed during the seal brought: the next segment gets each of them. */
  blobs: Set<string>;
  done: boolean;
  built?: SealBuilt;
  error?: Error;
  settled: Promise<void>;
}

export interface SealerOptions {
  /** Seal past this many bytes (default DEFAULT_SEAL_BYTES; 0: never). */
  sealBytes?: number;
  readOnly: boolean;
  signer?: CheckpointSigner;
  segmentsDir: string;
  log: (message: string) => void;
}

/**
 * Sealing the active segment once it passes `sealBytes`: the export (on this thread), the
 * worker that writes segments/seg-NNNNNN.db once and builds the next active segment, the carry
 * of what was appended meanwhile into it, and the swap of trail.db that is the seal's commit
 * point. All of it under the writer's lock, which it keeps until the seal is finished.
 */
export class Sealer {
  private work: SealWork | undefined;
  private retryAt = 0;

  constructor(
    private readonly segment: ActiveSegment,
    private readonly snapshots: SnapshotWriter,
    private readonly journal: Journal,
    private readonly opts: SealerOptions,
  ) {}

  private get limit(): number {
    return this.opts.sealBytes ?? DEFAULT_SEAL_BYTES;
  }

  /** A seal is under way (its worker running, or done and not yet finished). */
  get busy(): boolean {
    return this.work !== undefined;
  }

  /** The worker is done: `finish` is due. */
  get done(): boolean {
    return this.work?.done === true;
  }

  /** Settles when the worker does. */
  get settled(): Promise<void> {
    return this.work?.settled ?? Promise.resolve();
  }

  /** The active segment has grown past `sealBytes` (and a failed seal is not being retried yet). */
  due(): boolean {
    const seg = this.segment;
    return !this.opts.readOnly && this.limit > 0 && seg.head.seq > seg.base.seq && seg.activeBytes >= this.limit && Date.now() >= this.retryAt;
  }

  /**
   * A seal is under way and the active segment already holds a third more than the seal size:
   * appends wait for the seal (it keeps the active segment, which the sessions list aggregates,
   * within bounds under a burst).
   */
  holdsAppends(): boolean {
    const w = this.work;
    if (!w || w.done) return false;
    return this.segment.activeBytes >= this.limit * (4 / 3);
  }

  /** A blob committed during a seal: the next segment must get it even if the sealed part has it. True when newly noted. */
  noteBlob(hash: string): boolean {
    if (!this.work || this.work.blobs.has(hash)) return false;
    this.work.blobs.add(hash);
    return true;
  }

  /** The commit that brought these blobs failed. */
  forgetBlobs(hashes: string[]): void {
    for (const h of hashes) this.work?.blobs.delete(h);
  }

  /**
   * Starts sealing (under the lock, caught up, with the checkpoint at the segment's last event
   * committed): the in-memory copy exported and handed to the worker. Appends go on meanwhile.
   */
  start(): void {
    const seg = this.segment;
    const segmentNo = (seg.seals[seg.seals.length - 1]?.segment_no ?? 0) + 1;
    const fileName = segmentFileName(segmentNo);
    try {
      mkdirDurable(this.opts.segmentsDir);
      const frontier = JSON.stringify(seg.tree.current().toJSON());
      // The only part proportional to the segment left on this thread: the export.
      let bytes = seg.export();
      if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
      const work: SealWork = {
        segmentNo, fileName, first: seg.base.seq + 1, last: seg.head, base: { ...seg.base },
        checkpointNo: seg.latestCheckpoint?.checkpoint_no ?? 0, frontier, bytes: bytes.length, startedAt: performance.now(),
        blobs: new Set(), done: false, settled: Promise.resolve(),
      };
      work.settled = runSealJob({ bytes, file: path.join(this.opts.segmentsDir, fileName), segmentNo }).then(
        (built) => {
          work.built = built;
          work.done = true;
        },
        (err: Error) => {
          work.error = err;
          work.done = true;
        },
      );
      this.work = work;
    } catch (err) {
      this.retryAt = Date.now() + SEAL_RETRY_MS;
      this.opts.log(`could not seal segment ${segmentNo} (will retry; no event is lost): ${(err as Error).message}`);
    }
  }

  /**
   * Completes a seal whose worker is done (under the lock): the signed seal added to the next
   * active segment, with everything committed while the worker ran carried into it, and
   * trail.db replaced by it. That replacement is the commit point: a crash before it leaves the
   * old trail.db and journal (the segment file is an unlisted leftover, overwritten by the next
   * seal); a crash after it, the new trail.db with the old journal, whose records are all in it
   * or sealed, and are recognised and skipped. Then the journal restarts at the head.
   */
  finish(): void {
    const w = this.work!;
    this.work = undefined;
    const seg = this.segment;
    let next: Database | undefined;
    let carried = 0;
    try {
      if (w.error || !w.built) throw w.error ?? new Error("the seal's worker gave no result");
      const seal = signSeal(
        {
          segment_no: w.segmentNo, trail_id: seg.trailId, first_seq: w.first, last_seq: w.last.seq, first_prev_hash: w.base.hash,
          last_hash: w.last.hash, file_name: w.fileName, file_sha256: w.built.fileSha256, bytes: w.bytes,
          checkpoint_no: w.checkpointNo, merkle_frontier: w.frontier, sealed_at: seg.now(),
        },
        this.opts.signer,
      );
      next = new seg.sql.Database(w.built.nextBytes);
      insertSeal(next, seal);
      carried = carryIntoNextSegment(seg.database, next, { afterSeq: w.last.seq, afterCheckpoint: w.checkpointNo, blobs: w.blobs });
      this.snapshots.writeNow(next.export());
    } catch (err) {
      next?.close();
      this.retryAt = Date.now() + SEAL_RETRY_MS;
      this.opts.log(`could not seal segment ${w.segmentNo} (will retry; no event is lost): ${(err as Error).message}`);
      return;
    }
    seg.adoptNext(next);
    const head = seg.head;
    this.journal.start({ trail_id: seg.trailId, base_seq: head.seq, base_hash: head.hash });
    this.opts.log(
      `sealed segment ${w.segmentNo} (seq ${w.first}–${w.last.seq}) as ${w.fileName} in ${Math.round(performance.now() - w.startedAt)} ms` +
        (carried ? ` (${carried} events appended meanwhile carried into the next segment)` : ""),
    );
  }

  /** A write failed while a seal was under way: the seal is dropped once its worker is done with the file (done again later). */
  async abandon(): Promise<void> {
    if (!this.work) return;
    await this.work.settled;
    this.work = undefined;
  }

  /** Temp files of a segment write that was interrupted. Under the lock. */
  removeStaleTemps(): string[] {
    const dir = this.opts.segmentsDir;
    if (!fs.existsSync(dir)) return [];
    const names = new Set(fs.readdirSync(dir).map((f) => f.match(/^(seg-\d+\.db)/)?.[1]).filter((f): f is string => !!f));
    return [...names].flatMap((f) => removeStaleTempFiles(path.join(dir, f)));
  }
}

import * as fs from "node:fs";
import * as path from "node:path";
import { fileIdentity, fsyncDir, writeFileAtomic } from "./durableFile";
import { decodeHeader, encodeHeader, parseRecords } from "./journalFile";
import type { JournalHeader, ParsedRecords } from "./journalFile";
import { checkSize, MAX_JOURNAL_BYTES, openRegularFile } from "./safeFiles";
import { TrailError } from "./trailErrors";

/** The journal's path for a trail file: `trail.db` → `trail.journal`. */
export function journalPathFor(trailPath: string): string {
  return trailPath.replace(/(\.db)?$/, ".journal");
}

/** What reading the journal found and set aside, for the caller to tell the user (part of OpenReport). */
export interface JournalReport {
  /** Bytes of an unfinished write found at the end of the journal and not accepted. */
  discardedBytes: number;
  /** Where those bytes were kept for inspection (never silently dropped). */
  discardedCopy?: string;
  /** A record in the middle of the journal fails its check (read-only opens report it; writers refuse). */
  corruption?: JournalCorruption;
}

export interface JournalCorruption {
  fromSeq: number;
  toSeq: number;
  offset: number;
}

/** The journal continues from a seq the database file does not reach (an older trail.db restored, or cut short). */
export interface JournalRollback {
  trailEndsAt: number;
  journalContinuesFrom: number;
}

/** Records read past what was already applied, with where they start. */
export interface JournalTail extends ParsedRecords {
  /** Offset in the file where `bytes` start (the end of what was applied before). */
  at: number;
  bytes: Buffer;
}

/**
 * What the bytes after the last good record are. Only an incomplete final record (no
 * terminating newline: a write cut short by a crash) is a torn write, which was never
 * acknowledged and may be set aside. Anything else — a complete line that does not parse or
 * does not check, whatever follows it — is corruption of bytes that were fsync'd and
 * acknowledged: it is never cut off. For corruption, `fromSeq`–`toSeq` is the range of events
 * the bad part covers (as far as the lines after it still tell).
 */
export function classifyLeftover(bytes: Buffer, nextSeq: number): { kind: "torn" } | { kind: "corrupt"; fromSeq: number; toSeq: number } {
  if (bytes.indexOf(0x0a) < 0) return { kind: "torn" };
  let toSeq = nextSeq;
  for (const line of bytes.toString("utf8").split("\n")) {
    const m = /"seq":(\d+)/.exec(line);
    if (m && line.startsWith('{"e":')) toSeq = Math.max(toSeq, Number(m[1]));
  }
  return { kind: "corrupt", fromSeq: nextSeq, toSeq };
}

/**
 * The open journal file (`trail.journal`, format in journalFile.ts): its header, where the
 * applied part ends, the group commit's append + fsync, reading what others appended, and the
 * torn-tail rule (an unfinished last write is kept in a copy and cut off, only under the lock;
 * a bad record before acknowledged ones is never cut). It knows nothing of the database: the
 * caller applies the records it reads and says how far they were good.
 */
export class Journal {
  private fd: number | undefined;
  private ino: bigint | undefined;
  private headerLen = 0;
  /** End of the journal bytes already applied by the caller. */
  private endOffset = 0;
  private corrupt: JournalCorruption | undefined;
  private rolledBack: JournalRollback | undefined;

  constructor(
    readonly path: string,
    /** Whose journal it is (for messages). */
    private readonly trailPath: string,
    private readonly readOnly: boolean,
    private readonly log: (message: string) => void,
  ) {}

  /** End of the bytes applied so far. */
  get end(): number {
    return this.endOffset;
  }

  /** Bytes of records after the header (0: everything is in the snapshot). */
  get recordBytes(): number {
    return this.endOffset - this.headerLen;
  }

  /** The inode of the journal we have open (a snapshot or a seal replaces the file). */
  get inode(): bigint | undefined {
    return this.ino;
  }

  /** Set (read-only) when a record in the middle fails its check: nothing past it is read. */
  get corruption(): JournalCorruption | undefined {
    return this.corrupt;
  }

  /** Set (read-only opens) when the journal starts after the end of the database file. */
  get rollback(): JournalRollback | undefined {
    return this.rolledBack;
  }

  set rollback(r: JournalRollback | undefined) {
    this.rolledBack = r;
  }

  /** The snapshot was reloaded: the journal must be re-read against it. */
  forget(): void {
    this.ino = undefined;
  }

  /** How the file on disk relates to the one we read: gone, another file, cut shorter than we read, or ours. */
  look(): "absent" | "replaced" | "shrunk" | "same" {
    const id = fileIdentity(this.path);
    if (!id) return "absent";
    if (id.ino !== this.ino) return "replaced";
    return Number(id.size) < this.endOffset ? "shrunk" : "same";
  }

  /** Opens the file and checks its header belongs to `trailId` and continues from at most `headSeq`. */
  open(trailId: string, headSeq: number): void {
    this.corrupt = undefined;
    this.close();
    this.fd = openRegularFile(this.path, this.readOnly ? "r" : "r+", { singleName: !this.readOnly });
    this.ino = fs.fstatSync(this.fd, { bigint: true }).ino;
    const first = Buffer.alloc(4096);
    const n = fs.readSync(this.fd, first, 0, first.length, 0);
    const decoded = decodeHeader(first.subarray(0, n));
    if (!decoded || decoded.header.trail_id !== trailId) {
      throw new TrailError(
        "CORRUPT",
        `${this.path} is not the journal of ${this.trailPath} (bad header or another trail's id). ` +
          `Nothing was changed; move the journal aside to open the trail without it.`,
        this.path,
      );
    }
    const h = decoded.header;
    this.headerLen = decoded.length;
    if (h.base_seq > headSeq && this.readOnly) {
      // For a reader this is evidence, not an obstacle: report it and read what is there.
      this.rolledBack = { trailEndsAt: headSeq, journalContinuesFrom: h.base_seq };
      this.endOffset = fs.fstatSync(this.fd).size;
      return;
    }
    if (h.base_seq > headSeq) {
      throw new TrailError(
        "ROLLED_BACK",
        `${this.trailPath} ends at seq ${headSeq} but its journal continues from seq ${h.base_seq}: ` +
          `an older copy of trail.db seems to have been restored. Nothing was changed; run "agent-audit verify".`,
        this.trailPath,
      );
    }
    this.endOffset = decoded.length;
  }

  /**
   * Replaces the journal (atomically) with one that continues from `header`'s base, holding
   * `tail`: records after the base that the caller has already applied.
   */
  start(header: JournalHeader, tail: Buffer = Buffer.alloc(0)): void {
    writeFileAtomic(this.path, Buffer.concat([encodeHeader(header), tail]));
    this.open(header.trail_id, header.base_seq);
    this.endOffset += tail.length;
  }

  /** The records appended after what was applied; undefined when there are none (or a bad record stops the reading). */
  readTail(): JournalTail | undefined {
    const size = fs.fstatSync(this.fd!).size;
    checkSize(this.path, size, MAX_JOURNAL_BYTES);
    // Past a damaged record nothing is read: what follows cannot be chained to what is known.
    if (size <= this.endOffset || this.corrupt) return undefined;
    const buf = Buffer.alloc(size - this.endOffset);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(this.fd!, buf, got, buf.length - got, this.endOffset + got);
      if (n === 0) break;
      got += n;
    }
    const bytes = buf.subarray(0, got);
    return { ...parseRecords(bytes), at: this.endOffset, bytes };
  }

  /**
   * The caller applied `tail`'s records up to `goodEnd` (relative to the tail). What follows is
   * an unfinished write (kept in a copy, then cut off when `repair`, i.e. under the lock) or a
   * bad record (a writer refuses; a reader notes it and reads no further).
   */
  accept(tail: JournalTail, goodEnd: number, nextSeq: number, repair: boolean, report?: JournalReport): void {
    const tornAt = tail.at + goodEnd;
    this.endOffset = tornAt;
    if (goodEnd >= tail.bytes.length) return;
    const leftover = tail.bytes.subarray(goodEnd);
    const kind = classifyLeftover(leftover, nextSeq);
    if (kind.kind === "corrupt") this.refuseCorrupt(kind.fromSeq, kind.toSeq, tornAt, repair, report);
    else this.setAsideTornTail(leftover, tornAt, repair, report);
  }

  /**
   * Appends one group commit's records and fsyncs them. Synchronous on purpose: an fsync
   * here takes ~0.15 ms, less than a hop through the thread pool costs, and appends that
   * arrive meanwhile simply wait for the next commit.
   */
  append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const fd = this.fd!;
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off, this.endOffset + off);
      fs.fdatasyncSync(fd);
    } catch (err) {
      // Leave no half-written batch behind for the next commit to append after.
      try {
        fs.ftruncateSync(fd, this.endOffset);
      } catch {
        /* the next catch-up treats whatever is left as an unfinished write */
      }
      throw err;
    }
    this.endOffset += bytes.length;
  }

  /** The applied bytes from `from` to the end (records to carry into a restarted journal). */
  readFrom(from: number): Buffer {
    const tail = Buffer.alloc(this.endOffset - from);
    if (tail.length) fs.readSync(this.fd!, tail, 0, tail.length, from);
    return tail;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * A bad record with acknowledged records possibly after it: never cut, never repaired. A
   * writer refuses (both files stay byte-for-byte as they are); a reader shows what comes
   * before it and reports it.
   */
  private refuseCorrupt(fromSeq: number, toSeq: number, offset: number, repair: boolean, report?: JournalReport): void {
    const range = toSeq > fromSeq ? `seq ${fromSeq}–${toSeq}` : `seq ${fromSeq}`;
    if (!repair) {
      this.corrupt = { fromSeq, toSeq, offset };
      if (report) report.corruption = this.corrupt;
      return;
    }
    throw new TrailError(
      "CORRUPT",
      `${this.path} is damaged at byte ${offset} (${range}): a record that was written and acknowledged fails its check. ` +
        `Nothing was changed and nothing more will be written; the events before it can still be viewed read-only. Run "agent-audit verify".`,
      this.path,
    );
  }

  /** An unfinished write (never acknowledged): a durable copy first, then cut off. */
  private setAsideTornTail(bytes: Buffer, offset: number, repair: boolean, report?: JournalReport): void {
    if (report) report.discardedBytes += bytes.length;
    if (!repair) {
      this.log(`ignoring ${bytes.length} bytes of an unfinished write at the end of ${this.path}`);
      return;
    }
    const copy = `${this.path}.discarded-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`;
    // The copy is durable (file and folder fsync'd) before a single byte is cut.
    const fd = fs.openSync(copy, "wx");
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDir(path.dirname(copy));
    fs.ftruncateSync(this.fd!, offset);
    fs.fsyncSync(this.fd!);
    if (report) report.discardedCopy = copy;
    this.log(
      `discarded ${bytes.length} bytes of an unfinished write (never acknowledged) at the end of ` +
        `${this.path}; a copy is in ${copy}`,
    );
  }
}

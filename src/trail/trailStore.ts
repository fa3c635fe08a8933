import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Database, SqlJsStatic, Statement } from "sql.js";
import { canonicalJson, MAX_CONTENT_DEPTH, nestingDepth } from "./canonicalJson";
import {
  fileIdentity,
  fsyncDir,
  removeStaleTempFiles,
  sameIdentity,
  tempPathFor,
  writeFileAtomic,
  writeFileDurably,
} from "./durableFile";
import type { FileIdentity } from "./durableFile";
import type { BlobInput, EventInput, StoredEvent } from "./eventTypes";
import { TERMINAL_EVENT_TYPES } from "./eventTypes";
import { GENESIS_HASH, canonicalEventText, computeEventHash, hashOfCanonical, sha256Hex } from "./hashChain";
import { classifyLeftover, decodeHeader, encodeHeader, encodeRecord, parseRecords } from "./journalFile";
import type { JournalHeader, JournalRecord } from "./journalFile";
import { ProcessLock } from "./processLock";
import { updateAnchor } from "./anchorFile";
import { SCHEMA_SQL, SCHEMA_VERSION, upgradeSchema } from "./schema";
import type { SchemaDifference } from "./schemaCheck";
import { describeDifferences, schemaDifferences } from "./schemaCheck";
import type { PinKeeper } from "./pinKeeper";
import type { TrailState } from "./pins";
import { canonicalLocation } from "./pins";
import type { Checkpoint, CheckpointSigner } from "./signing";
import { checkpointPayload } from "./signing";
import { checkpointBody, signNote, trailOrigin } from "./signedNote";
import { MerkleFrontier } from "./merkle";
import { parseCheckpoint } from "./evidenceVerifier";
import { RunningTree } from "./trailMerkle";
import type { SealRecord } from "./segments";
import { carryIntoNextSegment, insertSeal, readSeals, segmentBase, segmentFileName, segmentsDirFor, SegmentFiles, signSeal } from "./segments";
import type { SealBuilt } from "./sealJob";
import { runSealJob } from "./sealJob";
import { loadSqlEngine } from "./sqlEngine";
import { checkSize, checkTrailFolders, checkTrailId, isSafeTrailId, MAX_JOURNAL_BYTES, MAX_SNAPSHOT_BYTES, openRegularFile, readRegularFile } from "./safeFiles";
import { TrailError } from "./trailErrors";
import { vouchLine, WriterStart } from "./writerProvenance";

/** Rewrites an event's content and blobs before it is hashed (secret redaction). */
export type Redactor = (input: EventInput) => EventInput;

export interface TrailStoreOptions {
  /** Open without taking the lock or repairing anything (auditors, `verify`). No appends. */
  readOnly?: boolean;
  /** Write the snapshot this long after the last append (default 1000 ms). */
  idleSnapshotMs?: number;
  /** Also write it while appends keep coming once the journal holds this many bytes and at
   *  least half the snapshot's size, so each append's share of the rewrite stays constant. */
  minJournalBytesForSnapshot?: number;
  /** …and at least this fraction of the snapshot's size (default 0.5). */
  snapshotJournalRatio?: number;
  redact?: Redactor;
  /** Signs a checkpoint every `checkpointEvery` events (default 100) and at every session end. */
  signer?: CheckpointSigner;
  checkpointEvery?: number;
  /** Folder outside the workspace where the latest checkpoint is kept (see anchorFile.ts). */
  anchorDir?: string;
  /** Compares the trail with the user's pin when opening for writing, and advances it (pins.ts). */
  pins?: PinKeeper;
  /** Runs at a writing open (under the lock, caught up, before anything is written): throws to refuse (writerGate.ts). */
  gate?: (store: TrailStore) => void;
  /**
   * Seal the active segment once it holds about this many bytes (default 6 MiB; 0: never).
   * Appends during a seal go on until it holds a third more, then wait for the seal.
   * Memory and the cost of each rewrite stay bounded by it whatever the trail's age.
   */
  sealBytes?: number;
  /** Open even when the schema differs from this version's (verify, to report it). */
  allowAlteredSchema?: boolean;
  log?: (message: string) => void;
  clock?: () => Date;
}

/** What opening found and repaired, for the caller to tell the user. */
export interface OpenReport {
  created: boolean;
  /** Bytes of an unfinished write found at the end of the journal and not accepted. */
  discardedBytes: number;
  /** Where those bytes were kept for inspection (never silently dropped). */
  discardedCopy?: string;
  removedTempFiles: string[];
  /**
   * The journal continues from a seq the database file does not reach: the file was replaced
   * by an older copy or cut short. Only reported by read-only opens (writers refuse).
   */
  rollback?: { trailEndsAt: number; journalContinuesFrom: number };
  /**
   * A record in the middle of the journal fails its check (found by read-only opens; writers
   * refuse to open). Events from `fromSeq` on are not shown; nothing was changed.
   */
  corruption?: { fromSeq: number; toSeq: number; offset: number };
}

/** A snapshot being written in the background (see startSnapshot). */
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
 * A seal whose worker is writing the segment file and building the next active segment.
 * Appends go on meanwhile (into the in-memory copy and the journal, under the lock the writer
 * keeps until the seal is finished); `finishSeal` carries them into the next segment.
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

interface PreparedEvent {
  input: EventInput;
  content: string;
  blobs: { hash: string; kind: BlobInput["kind"]; body: string }[];
  resolve: (e: StoredEvent) => void;
  reject: (err: unknown) => void;
}

const MAX_BATCH = 1000;
/** Longest a process keeps the lock across back-to-back commits while nobody else waits. */
const LEASE_MS = 50;
/** How many microtask turns to wait for a caller's next append before letting the lock go. */
const LEASE_MICROTASKS = 8;
/** While a seal's worker runs, the writer's loop lets the event loop turn this often (ms). */
const SEAL_YIELD_MS = 4;
const COMMIT_EVERY_BYTES = 4 * 1024 * 1024;
/**
 * 6 MiB, and appends during a seal go on until the active segment holds a third more (8 MiB),
 * then wait for the seal: the active segment stays within ~8 MiB. Its sessions are aggregated
 * from its rows for the sessions list (cold, in proportion to its size: ~100 ms at 8 MiB), and
 * exporting it for a snapshot or a seal blocks the event loop for ~15 ms; both grow with it.
 */
export const DEFAULT_SEAL_BYTES = 6 * 1024 * 1024;

/**
 * The audit trail of one workspace: an SQLite database (`trail.db`, held in memory by
 * sql.js) made durable by an fsync'd journal (`trail.journal`).
 *
 * - `append()` resolves once the event is fsync'd in the journal; appends that arrive while
 *   a commit is in flight share the next fsync (group commit). An append costs the same on a
 *   trail of 100 events or 100,000: it never exports the database.
 * - The database file is rewritten (atomically: temp, fsync, rename) about a second after
 *   appends stop, on `flush()`/`close()`, and when the journal grows past half the
 *   snapshot, which keeps the rewrite's cost per event constant.
 * - Every commit and rewrite happens under a lock shared by all processes, after catching
 *   up with what other processes wrote, so seq stays gapless and the chain intact.
 */
export class TrailStore {
  readonly journalPath: string;
  private db!: Database;
  private insertEvent!: Statement;
  private insertBlob!: Statement;
  private hashAt!: Statement;
  private insertKey!: Statement;
  private insertCheckpoint!: Statement;
  private lastCheckpoint: Checkpoint | undefined;
  private registeredKeys = new Set<string>();
  private checkpointWanted = false;
  /** Set (read-only opens) when the journal starts after the end of the database file. */
  private rollback: OpenReport["rollback"];
  private corruption: OpenReport["corruption"];
  private readonly tree = new RunningTree(() => this.db, () => this.frontierAtBase());
  /** Where the active segment starts (seq 0 and the genesis hash until the first seal). */
  private base = { seq: 0, hash: GENESIS_HASH };
  private sealList: SealRecord[] = [];
  private segmentFiles: SegmentFiles | undefined;
  private readonly canonicalTexts = new WeakMap<StoredEvent, string>();
  private insertTreeHead!: Statement;
  private lastTreeNote: string | undefined;
  /** The newest event time at seq (now() never goes before it), and whether the clock is behind it. */
  private latestTime = { seq: -1, time: "" };
  private clockBehind = false;
  private schemaDiffs: SchemaDifference[] = [];
  /** The in-memory copy was upgraded from an older schema and must be written out. */
  private upgraded = false;
  private trailIdValue = "";
  private headSeq = 0;
  private headHash = GENESIS_HASH;
  /** Highest seq this store acknowledged: if the disk ever holds less, it was rolled back. */
  private ackedSeq = 0;
  private snapshotId: FileIdentity | undefined;
  private snapshotBytes = 0;
  private journalFd: number | undefined;
  private journalIno: bigint | undefined;
  private journalHeaderLen = 0;
  /** End of the journal bytes already applied to `db`. */
  private journalEnd = 0;
  private pending: PreparedEvent[] = [];
  private loop: Promise<void> | undefined;
  private snapshotWanted = false;
  /** Bytes of events and blobs in the active segment, to know when to seal it. */
  private activeBytes = 0;
  private sealRetryAt = 0;
  private snapshotWrite: SnapshotWrite | undefined;
  private sealWork: SealWork | undefined;
  /** Wakes the writer's loop while it waits for a seal's worker (new appends to commit). */
  private wake: (() => void) | undefined;
  /** Journal bytes applied since the in-memory copy's long transaction was last committed. */
  private uncommittedBytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lock: ProcessLock;
  private readonly listeners = new Set<(events: StoredEvent[]) => void>();
  /** Where this writer's key starts vouching (writerProvenance.ts); set at a writing open with a signer. */
  private writerStart: WriterStart | undefined;
  private appendedHere = false;

  private constructor(
    readonly path: string,
    private readonly sql: SqlJsStatic,
    private readonly options: TrailStoreOptions,
  ) {
    this.journalPath = journalPathFor(path);
    this.lock = new ProcessLock(path);
  }

  /** Opens (or creates) the trail at `trailPath`, recovering from any crash. */
  static async open(trailPath: string, options: TrailStoreOptions = {}): Promise<{ store: TrailStore; report: OpenReport }> {
    const sql = await loadSqlEngine();
    const store = new TrailStore(path.resolve(trailPath), sql, options);
    const report = options.readOnly ? store.openReadOnly() : await store.openReadWrite();
    return { store, report };
  }

  get trailId(): string {
    return this.trailIdValue;
  }

  get head(): { seq: number; hash: string } {
    return { seq: this.headSeq, hash: this.headHash };
  }

  /** The in-memory database, for queries. Callers must not write to it. */
  get database(): Database {
    return this.db;
  }

  /** The public key this store signs checkpoints and seals with, if it has one. */
  get signerKey() {
    return this.options.signer?.key;
  }

  /** The SQLite engine the trail is read with. */
  get sqlEngine(): SqlJsStatic {
    return this.sql;
  }

  /** Sealed segments, oldest first (empty until the trail first passes `sealBytes`). */
  get seals(): readonly SealRecord[] {
    return this.sealList;
  }

  /** Bytes of events and blobs in the active segment (it is sealed past `sealBytes`). */
  get activeSegmentBytes(): number {
    return this.activeBytes;
  }

  /** Where the active segment's events start: everything up to this seq is sealed. */
  get activeBase(): { seq: number; hash: string } {
    return this.base;
  }

  /** Folder of the sealed segment files. */
  get segmentsDir(): string {
    return segmentsDirFor(this.path);
  }

  /** A sealed segment's database, read-only, checked against its seal (at most two are held). */
  segment(seal: SealRecord): Database {
    this.segmentFiles ??= new SegmentFiles(this.sql, this.segmentsDir);
    return this.segmentFiles.get(seal);
  }

  /** Lets go of the sealed segments held for reading. */
  releaseSegments(): void {
    this.segmentFiles?.release();
  }

  /** Called after events (from this or another process) were added to the in-memory copy. */
  onDidAppend(listener: (events: StoredEvent[]) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Appends one event; resolves with it as stored once it is fsync'd. */
  append(input: EventInput): Promise<StoredEvent> {
    if (this.closed) return Promise.reject(new TrailError("CLOSED", `Trail ${this.path} is closed`));
    if (this.options.readOnly) return Promise.reject(new TrailError("INVALID_EVENT", `Trail ${this.path} was opened read-only`));
    return new Promise<StoredEvent>((resolve, reject) => {
      let prepared: PreparedEvent;
      try {
        prepared = this.prepare(input, resolve, reject);
      } catch (err) {
        reject(err);
        return;
      }
      this.pending.push(prepared);
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
      if (this.journalEnd <= this.journalHeaderLen) return;
    }
  }

  /** Picks up what other processes appended since we last looked. Returns true if anything changed. */
  async refresh(): Promise<boolean> {
    const before = this.headSeq;
    if (this.options.readOnly) {
      this.catchUpReading();
    } else {
      await this.lock.acquire();
      try {
        this.catchUp(true);
      } finally {
        this.lock.release();
      }
    }
    return this.headSeq !== before;
  }

  /** Flushes and releases everything. Appends after this are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    // What this writer appended is signed before it goes: its key vouches for it, and the next
    // writer inherits a head covered by a checkpoint.
    if (this.appendedHere && this.options.signer && this.headSeq > (this.lastCheckpoint?.seq ?? 0)) this.checkpointWanted = true;
    await this.flush();
    this.closed = true;
    clearTimeout(this.idleTimer);
    if (this.journalFd !== undefined) fs.closeSync(this.journalFd);
    this.journalFd = undefined;
    this.segmentFiles?.release();
    this.db.close();
  }

  // ---- opening ---------------------------------------------------------------------------

  private async openReadWrite(): Promise<OpenReport> {
    // A repository may ship .agent-audit or segments/ as a link out of the workspace.
    checkTrailFolders(this.path, { create: true });
    await this.lock.acquire();
    try {
      const removedTempFiles = [...removeStaleTempFiles(this.path), ...removeStaleTempFiles(this.journalPath), ...this.removeStaleSegmentTemps()];
      let created = false;
      if (fs.existsSync(this.path)) {
        this.loadSnapshot();
      } else if (fs.existsSync(this.journalPath)) {
        throw new TrailError(
          "CORRUPT",
          `${this.path} is missing but its journal ${this.journalPath} is there: the trail was partly deleted. ` +
            `Nothing was changed; restore trail.db, or move both files aside to start a new trail.`,
          this.path,
        );
      } else {
        // A pinned trail that is gone is not replaced silently by a new one.
        this.options.pins?.beforeWriting({ location: canonicalLocation(this.path), trailId: "", headSeq: 0, headHash: GENESIS_HASH, hashAt: () => undefined, checkpoints: 0, keys: [] });
        this.createNew();
        created = true;
      }
      if (!fs.existsSync(this.journalPath)) this.startJournal();
      const report: OpenReport = { created, discardedBytes: 0, removedTempFiles };
      this.catchUp(true, report);
      this.options.pins?.beforeWriting(this.pinState());
      this.options.gate?.(this);
      if (this.options.signer) this.writerStart = this.startWriter(this.options.signer);
      if (this.upgraded) {
        this.log(`upgraded ${path.basename(this.path)} to schema ${SCHEMA_VERSION}`);
        this.writeSnapshotNow();
        this.upgraded = false;
      }
      if (removedTempFiles.length) this.log(`removed leftovers of an interrupted write: ${removedTempFiles.join(", ")}`);
      // A trail past the seal size (one written before segments existed) is sealed right away.
      if (this.sealDue()) queueMicrotask(() => this.kick());
      return report;
    } finally {
      this.lock.release();
    }
  }

  private openReadOnly(): OpenReport {
    checkTrailFolders(this.path);
    if (!fs.existsSync(this.path)) {
      throw new TrailError("CORRUPT", `No trail at ${this.path}: run an agent first, or check the path`, this.path);
    }
    const report: OpenReport = { created: false, discardedBytes: 0, removedTempFiles: [] };
    this.loadSnapshot();
    this.catchUpReading(report);
    report.rollback = this.rollback;
    return report;
  }

  /**
   * A reader's catchUp. A writer replaces trail.db and then starts a new journal; a reader that
   * read the old trail.db and then the new journal sees a journal that starts past the end of
   * its database, which looks like a restored older copy for a moment. Read both again: a real
   * rollback persists, a writer's swap does not. Without this a view's store that catches up
   * across a snapshot stayed behind, and verify reported the anchor's events as removed.
   */
  private catchUpReading(report?: OpenReport): void {
    const known = this.rollback;
    for (let attempt = 0; ; attempt++) {
      if (report) report.discardedBytes = 0;
      this.catchUp(false, report);
      if (!this.rollback || this.rollback === known || attempt >= 3) return;
      this.rollback = known;
      this.loadSnapshot();
    }
  }

  private createNew(): void {
    this.db = new this.sql.Database();
    this.db.exec(SCHEMA_SQL);
    this.tuneInMemoryCopy();
    this.trailIdValue = randomUUID();
    const meta = this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    for (const [k, v] of [
      ["schema_version", String(SCHEMA_VERSION)],
      ["trail_id", this.trailIdValue],
      ["created_at", this.now()],
      ["hash_algorithm", "sha256(prev_hash || canonical_json(event)); see docs/trail-format.md"],
    ]) {
      meta.run([k, v]);
    }
    meta.free();
    this.prepareStatements();
    this.readCheckpointState();
    this.readSegmentState();
    this.headSeq = 0;
    this.headHash = GENESIS_HASH;
    this.writeSnapshotNow();
  }

  private loadSnapshot(): void {
    let bytes: Buffer;
    let id: FileIdentity | undefined;
    for (;;) {
      id = fileIdentity(this.path);
      bytes = readRegularFile(this.path, MAX_SNAPSHOT_BYTES);
      if (sameIdentity(id, fileIdentity(this.path))) break; // not changed while we read it
    }
    const untouched = `It was left untouched; move it aside to start a new trail.`;
    if (bytes.length < 100 || bytes.subarray(0, 16).toString("latin1") !== "SQLite format 3\0") {
      throw new TrailError("CORRUPT", `${this.path} is not an SQLite database (${bytes.length} bytes). ${untouched}`, this.path);
    }
    const db = new this.sql.Database(bytes);
    let version: number;
    try {
      const meta = Object.fromEntries(
        (db.exec("SELECT key, value FROM meta")[0]?.values ?? []).map(([k, v]) => [String(k), String(v)]),
      );
      version = Number(db.exec("PRAGMA user_version")[0]?.values[0]?.[0] ?? 0);
      this.trailIdValue = meta.trail_id ?? "";
      if (!this.trailIdValue || !Number.isInteger(Number(meta.schema_version))) throw new Error("meta table lacks schema_version or trail_id");
      const head = db.exec("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")[0]?.values[0];
      const base = segmentBase(db);
      this.headSeq = head ? Number(head[0]) : base.seq;
      this.headHash = head ? String(head[1]) : base.hash;
    } catch (err) {
      db.close();
      throw new TrailError(
        "CORRUPT",
        `${this.path} is not a readable Agent Audit trail (${(err as Error).message}). ${untouched}`,
        this.path,
      );
    }
    // The id names files in the trust store (anchors/<trail_id>.json): never a path of the file's choosing.
    if (!isSafeTrailId(this.trailIdValue)) {
      db.close();
      checkTrailId(this.trailIdValue, this.path);
    }
    if (version > SCHEMA_VERSION) {
      db.close();
      throw new TrailError(
        "NEWER_SCHEMA",
        `${this.path} was written by a newer Agent Audit Trail (schema ${version}, this one reads ${SCHEMA_VERSION}); update the extension`,
        this.path,
      );
    }
    this.tree.reset();
    this.db?.close();
    this.db = db;
    this.tuneInMemoryCopy();
    this.upgraded =
      upgradeSchema(
        (sql) => this.db.exec(sql),
        (name) => this.db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).length > 0,
        (name) => this.db.exec("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [name])[0]?.values[0]?.[0] as string | undefined,
      ) || this.upgraded;
    // Nothing from the file (a view, a column expression, a trigger) is used before its
    // schema is known to be ours; verify opens with allowAlteredSchema to report it.
    this.schemaDiffs = schemaDifferences(this.db, this.sql);
    if (this.schemaDiffs.length && !this.options.allowAlteredSchema) {
      throw new TrailError(
        "SCHEMA_ALTERED",
        `${this.path}: its schema was edited (${describeDifferences(this.schemaDiffs)}). Nothing was run from it or changed; run "agent-audit verify".`,
        this.path,
      );
    }
    this.prepareStatements();
    this.readCheckpointState();
    this.readSegmentState();
    this.snapshotId = id;
    this.snapshotBytes = bytes.length;
    this.journalIno = undefined; // re-read the journal against this snapshot
  }

  /**
   * sql.js keeps the database in an in-memory file system, so SQLite's own journaling and
   * locking protect nothing here (durability is the journal's job) and only cost time.
   */
  private tuneInMemoryCopy(): void {
    this.db.exec("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -65536");
    // One long transaction: each commit is a savepoint inside it, so SQLite keeps changed
    // pages in its cache instead of copying them into sql.js's in-memory file every time.
    // It is committed only to export a snapshot.
    this.db.exec("BEGIN");
  }

  private prepareStatements(): void {
    // The long texts (content, a blob's body) are bound as their UTF-8 bytes and made TEXT by
    // SQLite: sql.js encodes a bound string in JavaScript, character by character, and that was
    // a third of an insert's cost. What is stored is the same TEXT either way.
    this.insertEvent = this.db.prepare(
      `INSERT INTO events (seq, event_id, session_id, agent_id, user_id, timestamp, event_type, step_number,
        parent_event_id, model_id, system_prompt_hash, agent_version, content, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?)`,
    );
    this.insertBlob = this.db.prepare("INSERT OR IGNORE INTO blobs (hash, kind, body) VALUES (?, ?, CAST(? AS TEXT))");
    this.hashAt = this.db.prepare("SELECT hash FROM events WHERE seq = ?");
    this.insertKey = this.db.prepare("INSERT OR IGNORE INTO keys (fingerprint, algorithm, public_key, added_at) VALUES (?, ?, ?, ?)");
    this.insertTreeHead = this.db.prepare("INSERT OR IGNORE INTO tree_heads (checkpoint_no, note) VALUES (?, ?)");
    this.insertCheckpoint = this.db.prepare(
      "INSERT INTO checkpoints (checkpoint_no, trail_id, seq, head_hash, time, key_fingerprint, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
  }

  private readCheckpointState(): void {
    const row = this.db.exec("SELECT checkpoint_no, trail_id, seq, head_hash, time, key_fingerprint, signature FROM checkpoints ORDER BY checkpoint_no DESC LIMIT 1")[0]?.values[0];
    this.lastCheckpoint = row
      ? { checkpoint_no: Number(row[0]), trail_id: String(row[1]), seq: Number(row[2]), head_hash: String(row[3]), time: String(row[4]), key_fingerprint: String(row[5]), signature: String(row[6]) }
      : undefined;
    this.registeredKeys = new Set((this.db.exec("SELECT fingerprint FROM keys")[0]?.values ?? []).map((r) => String(r[0])));
  }

  private readSegmentState(): void {
    this.base = segmentBase(this.db);
    this.sealList = readSeals(this.db);
    this.tree.reset();
    const sum = (sql: string) => Number(this.db.exec(sql)[0]?.values[0]?.[0] ?? 0);
    this.activeBytes = this.options.readOnly ? 0 : sum("SELECT coalesce(sum(length(content)), 0) FROM events") + sum("SELECT coalesce(sum(length(body)), 0) FROM blobs");
  }

  /**
   * Where the running tree starts: the frontier stored at the last checkpoint when its root is
   * the one that checkpoint's tree head signed (then only later events are read), else the
   * last seal's (the whole active segment is read).
   */
  private frontierAtBase(): MerkleFrontier {
    try {
      const row = this.db.exec("SELECT m.size, m.nodes, t.note FROM merkle_state m JOIN tree_heads t USING (checkpoint_no)")[0]?.values[0];
      if (row && Number(row[0]) >= this.base.seq && Number(row[0]) <= this.headSeq) {
        const stored = MerkleFrontier.fromJSON(Number(row[0]), JSON.parse(String(row[1])));
        const signed = parseCheckpoint(String(row[2]));
        if (signed.size === stored.size && signed.root.equals(stored.root())) return stored;
      }
    } catch {
      /* not usable: rebuilt below */
    }
    const last = this.sealList[this.sealList.length - 1];
    return last ? MerkleFrontier.fromJSON(last.last_seq, JSON.parse(last.merkle_frontier)) : MerkleFrontier.empty();
  }

  /** The hash at `seq` (as stored), in the active segment or a sealed one; undefined when there is none. */
  hashAtSeq(seq: number): string | undefined {
    if (seq > this.base.seq) {
      this.hashAt.bind([seq]);
      const h = this.hashAt.step() ? String(this.hashAt.get()[0]) : undefined;
      this.hashAt.reset();
      return h;
    }
    if (seq === this.base.seq) return seq === 0 ? undefined : this.base.hash;
    const seal = this.sealList.find((s) => s.first_seq <= seq && seq <= s.last_seq);
    if (!seal) return undefined;
    if (seal.last_seq === seq) return seal.last_hash;
    try {
      const row = this.segment(seal).exec("SELECT hash FROM events WHERE seq = ?", [seq])[0]?.values[0];
      return row ? String(row[0]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** What this writer inherits at open: the head, and the last checkpoint with its tree head. */
  private startWriter(signer: CheckpointSigner): WriterStart {
    const last = this.lastCheckpoint;
    const note = last ? this.db.exec("SELECT note FROM tree_heads WHERE checkpoint_no = ?", [last.checkpoint_no])[0]?.values[0]?.[0] : undefined;
    return new WriterStart(signer, { seq: this.headSeq, hash: this.headHash, trailId: this.trailIdValue, origin: trailOrigin(this.trailIdValue), last, lastNote: note === undefined ? undefined : String(note) });
  }

  /** What a pin compares: identity, head, checkpoints, keys (pins.ts). */
  private pinState(): TrailState {
    return {
      location: canonicalLocation(this.path),
      trailId: this.trailIdValue,
      headSeq: this.headSeq,
      headHash: this.headHash,
      hashAt: (seq) => this.hashAtSeq(seq),
      checkpoints: this.lastCheckpoint?.checkpoint_no ?? 0,
      keys: [...this.registeredKeys],
    };
  }

  /** The newest signed checkpoint in the trail, if any. */
  get latestCheckpoint(): Checkpoint | undefined {
    return this.lastCheckpoint;
  }

  /** Signs a checkpoint at the current head now (if it is not signed yet); resolves with the latest. */
  async checkpointNow(): Promise<Checkpoint | undefined> {
    if (!this.options.signer) throw new TrailError("INVALID_EVENT", "No signing key: cannot sign a checkpoint");
    this.checkpointWanted = true;
    this.kick();
    while (this.loop) await this.loop;
    return this.lastCheckpoint;
  }

  // ---- catching up with the files --------------------------------------------------------

  /**
   * Brings the in-memory database up to date with the files: reloads the snapshot if anyone
   * replaced or changed it, then applies journal records we have not seen. With `repair`
   * (only under the lock) an unfinished write at the journal's end is cut off, after keeping
   * a copy of its bytes.
   */
  private catchUp(repair: boolean, report?: OpenReport): void {
    if (!sameIdentity(fileIdentity(this.path), this.snapshotId)) {
      if (!fs.existsSync(this.path)) {
        throw new TrailError("ROLLED_BACK", `${this.path} was deleted while in use; nothing more will be written to it`, this.path);
      }
      this.log(`${path.basename(this.path)} changed on disk; reloading it`);
      this.loadSnapshot();
    }
    const jid = fileIdentity(this.journalPath);
    if (!jid) {
      if (this.headSeq < this.ackedSeq) this.throwRolledBack();
      if (repair) this.startJournal();
      else return;
    } else if (jid.ino !== this.journalIno) {
      this.openJournal();
    } else if (Number(jid.size) < this.journalEnd) {
      // Shrunk in place: not something we do. Start over from the files to see what is left.
      this.loadSnapshot();
      this.openJournal();
    }
    const size = fs.fstatSync(this.journalFd!).size;
    checkSize(this.journalPath, size, MAX_JOURNAL_BYTES);
    // Past a damaged record nothing is read: what follows cannot be chained to what is known.
    if (size > this.journalEnd && !this.corruption) this.applyJournal(size, repair, report);
    if (this.headSeq < this.ackedSeq) this.throwRolledBack();
  }

  private openJournal(): void {
    this.corruption = undefined;
    if (this.journalFd !== undefined) fs.closeSync(this.journalFd);
    this.journalFd = openRegularFile(this.journalPath, this.options.readOnly ? "r" : "r+", { singleName: !this.options.readOnly });
    this.journalIno = fs.fstatSync(this.journalFd, { bigint: true }).ino;
    const first = Buffer.alloc(4096);
    const n = fs.readSync(this.journalFd, first, 0, first.length, 0);
    const decoded = decodeHeader(first.subarray(0, n));
    if (!decoded || decoded.header.trail_id !== this.trailIdValue) {
      throw new TrailError(
        "CORRUPT",
        `${this.journalPath} is not the journal of ${this.path} (bad header or another trail's id). ` +
          `Nothing was changed; move the journal aside to open the trail without it.`,
        this.journalPath,
      );
    }
    const h = decoded.header;
    if (h.base_seq > this.headSeq && this.options.readOnly) {
      // For a reader this is evidence, not an obstacle: report it and read what is there.
      this.rollback = { trailEndsAt: this.headSeq, journalContinuesFrom: h.base_seq };
      this.journalHeaderLen = decoded.length;
      this.journalEnd = fs.fstatSync(this.journalFd).size;
      return;
    }
    if (h.base_seq > this.headSeq) {
      throw new TrailError(
        "ROLLED_BACK",
        `${this.path} ends at seq ${this.headSeq} but its journal continues from seq ${h.base_seq}: ` +
          `an older copy of trail.db seems to have been restored. Nothing was changed; run "agent-audit verify".`,
        this.path,
      );
    }
    this.journalHeaderLen = decoded.length;
    this.journalEnd = decoded.length;
  }

  private applyJournal(size: number, repair: boolean, report?: OpenReport): void {
    const buf = Buffer.alloc(size - this.journalEnd);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(this.journalFd!, buf, got, buf.length - got, this.journalEnd + got);
      if (n === 0) break;
      got += n;
    }
    const { records } = parseRecords(buf.subarray(0, got));
    const added: StoredEvent[] = [];
    let goodEnd = 0;
    this.db.exec("SAVEPOINT apply");
    try {
      for (const { record, end } of records) {
        if (!this.applyRecord(record, added)) break;
        goodEnd = end;
      }
      this.db.exec("RELEASE apply");
    } catch (err) {
      this.db.exec("ROLLBACK TO apply; RELEASE apply");
      throw err;
    }
    const tornAt = this.journalEnd + goodEnd;
    this.activeBytes += goodEnd;
    this.journalEnd = tornAt;
    if (goodEnd < got) {
      const leftover = buf.subarray(goodEnd, got);
      const kind = classifyLeftover(leftover, this.headSeq + 1);
      if (kind.kind === "corrupt") {
        this.corruptJournal(kind.fromSeq, kind.toSeq, tornAt, repair, report);
      } else {
        this.handleTornTail(leftover, tornAt, repair, report);
      }
    }
    if (added.length) this.emit(added);
  }

  /**
   * A bad record with acknowledged records possibly after it: never cut, never repaired. A
   * writer refuses (both files stay byte-for-byte as they are); a reader shows what comes
   * before it and reports it.
   */
  private corruptJournal(fromSeq: number, toSeq: number, offset: number, repair: boolean, report?: OpenReport): void {
    const range = toSeq > fromSeq ? `seq ${fromSeq}–${toSeq}` : `seq ${fromSeq}`;
    if (!repair) {
      this.corruption = { fromSeq, toSeq, offset };
      if (report) report.corruption = this.corruption;
      return;
    }
    throw new TrailError(
      "CORRUPT",
      `${this.journalPath} is damaged at byte ${offset} (${range}): a record that was written and acknowledged fails its check. ` +
        `Nothing was changed and nothing more will be written; the events before it can still be viewed read-only. Run "agent-audit verify".`,
      this.journalPath,
    );
  }

  /** Applies one journal record; false when it is not a valid continuation (torn or garbled). */
  private applyRecord(record: JournalRecord, added: StoredEvent[]): boolean {
    if ("k" in record) {
      const k = record.k;
      this.insertKey.run([k.fingerprint, k.algorithm, k.public_key, k.added_at]);
      this.registeredKeys.add(k.fingerprint);
      return true;
    }
    if ("t" in record) {
      this.insertTreeHead.run([record.t.checkpoint_no, record.t.note]);
      return true;
    }
    if ("c" in record) {
      const c = record.c;
      if (c.checkpoint_no <= (this.lastCheckpoint?.checkpoint_no ?? 0)) return true; // already in the snapshot
      if (c.checkpoint_no !== (this.lastCheckpoint?.checkpoint_no ?? 0) + 1) return false;
      this.insertCheckpoint.run([c.checkpoint_no, c.trail_id, c.seq, c.head_hash, c.time, c.key_fingerprint, c.signature]);
      this.lastCheckpoint = c;
      return true;
    }
    if ("b" in record) {
      const b = record.b;
      if (typeof b.body !== "string" || sha256Hex(b.body) !== b.hash) return false;
      this.insertBlob.run([b.hash, b.kind, utf8(b.body)]);
      return true;
    }
    const e = record.e;
    if (e.seq <= this.headSeq) {
      // Already in the snapshot (a crash between writing it and restarting the journal), or
      // sealed (a crash between the seal and restarting the journal): the seal's head and the
      // segment file's signed hash stand for those.
      if (e.seq < this.base.seq) return true;
      const known = e.seq === this.base.seq ? this.base.hash : this.hashAtSeq(e.seq);
      if (known !== e.hash) {
        throw new TrailError(
          "CORRUPT",
          `${this.journalPath} disagrees with ${this.path} at seq ${e.seq}. Nothing was changed; run "agent-audit verify".`,
          this.journalPath,
        );
      }
      return true;
    }
    if (e.seq !== this.headSeq + 1 || e.prev_hash !== this.headHash || computeEventHash(e.prev_hash, e) !== e.hash) {
      return false;
    }
    this.runInsert(e);
    added.push(e);
    return true;
  }

  private handleTornTail(bytes: Buffer, offset: number, repair: boolean, report?: OpenReport): void {
    if (report) report.discardedBytes += bytes.length;
    if (!repair) {
      this.log(`ignoring ${bytes.length} bytes of an unfinished write at the end of ${this.journalPath}`);
      return;
    }
    const copy = `${this.journalPath}.discarded-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`;
    // The copy is durable (file and folder fsync'd) before a single byte is cut.
    const fd = fs.openSync(copy, "wx");
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDir(path.dirname(copy));
    fs.ftruncateSync(this.journalFd!, offset);
    fs.fsyncSync(this.journalFd!);
    if (report) report.discardedCopy = copy;
    this.log(
      `discarded ${bytes.length} bytes of an unfinished write (never acknowledged) at the end of ` +
        `${this.journalPath}; a copy is in ${copy}`,
    );
  }

  private throwRolledBack(): never {
    throw new TrailError(
      "ROLLED_BACK",
      `${this.path} no longer holds events up to seq ${this.ackedSeq} that were written to it ` +
        `(it now ends at seq ${this.headSeq}): the file was replaced by an older copy or the journal was removed. ` +
        `Nothing more will be written; run "agent-audit verify".`,
      this.path,
    );
  }

  // ---- appending -------------------------------------------------------------------------

  private prepare(raw: EventInput, resolve: PreparedEvent["resolve"], reject: PreparedEvent["reject"]): PreparedEvent {
    const input = this.options.redact ? this.options.redact(raw) : raw;
    if (typeof input.session_id !== "string" || !input.session_id) throw invalid("session_id is required");
    if (typeof input.event_type !== "string" || !input.event_type) throw invalid("event_type is required");
    if (typeof input.content !== "object" || input.content === null || Array.isArray(input.content)) {
      throw invalid("content must be an object");
    }
    if (nestingDepth(input.content, MAX_CONTENT_DEPTH) > MAX_CONTENT_DEPTH) {
      throw invalid(`content is nested more than ${MAX_CONTENT_DEPTH} levels deep (SQLite's JSON functions take at most 1000); record such data as text`);
    }
    let content: string;
    try {
      content = canonicalJson(input.content);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    const blobs = (input.blobs ?? []).map((b) => ({ hash: sha256Hex(b.body), kind: b.kind, body: b.body }));
    return { input, content, blobs, resolve, reject };
  }

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
    // A wanted snapshot waits while another one is being written.
    // While a seal's worker runs, only appends (up to the carry limit), checkpoints and the
    // seal's end are work.
    const hasWork = () =>
      !this.closed &&
      ((this.pending.length > 0 && !this.sealHoldsAppends()) ||
        this.checkpointWanted ||
        this.sealWork?.done === true ||
        (!this.sealWork && (this.sealDue() || (this.snapshotWanted && !this.snapshotWrite) || this.snapshotWrite?.done === true)));
    try {
      for (;;) {
        if (!hasWork()) {
          if (this.sealWork) {
            // The lock stays ours until the seal is finished: another process must not seal
            // the same segment meanwhile. Appends are committed as they come.
            await this.untilWoken(this.sealWork.settled);
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
          if (this.snapshotWrite && !this.closed) {
            await this.snapshotWrite.written;
            continue;
          }
          break;
        }
        if (this.sealWork && !this.sealWork.done && performance.now() - lastYield > SEAL_YIELD_MS) {
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
            this.catchUp(true);
          }
          // Taken after the lock: everything that arrived while we waited shares this commit.
          if (!this.sealHoldsAppends()) batch.push(...this.pending.splice(0, MAX_BATCH));
          if (batch.length || this.checkpointWanted) this.commit(batch);
          if (this.sealWork) {
            if (this.sealWork.done) this.finishSeal();
          } else if (this.snapshotWrite?.done) this.finishSnapshot();
          // A seal does not wait for a snapshot being written: it replaces trail.db, so that
          // snapshot is stale and finishSnapshot drops it. (Under a continuous burst a snapshot
          // write can wait long for the I/O turns it needs; the seal must not wait with it.)
          else if (this.sealDue()) this.startSeal();
          else if (!this.snapshotWrite && ((this.snapshotWanted && this.pending.length === 0) || this.journalIsLarge())) {
            this.snapshotWanted = false;
            this.startSnapshot();
          }
        } catch (err) {
          for (const p of batch) p.reject(err);
          for (const p of this.pending.splice(0)) p.reject(err);
          this.snapshotWanted = false;
          this.log(`write failed: ${(err as Error).message}`);
          if (this.sealWork) {
            // Not released before the worker is done with the segment file; the seal is
            // dropped (trail.db and the journal still hold everything) and done again later.
            await this.sealWork.settled;
            this.sealWork = undefined;
          }
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
    const lines: string[] = [];
    const done: { p: PreparedEvent; e: StoredEvent }[] = [];
    const startSeq = this.headSeq;
    const startHash = this.headHash;
    // What a failed commit must put back besides the database (rolled back to the savepoint).
    const before = { checkpointWanted: this.checkpointWanted, treeNote: this.lastTreeNote, sealBlobs: [] as string[] };
    // Before this writer's first event or checkpoint: where its key starts vouching, if it must say so.
    const record = batch.length || this.checkpointWanted ? this.writerStart?.takeRecord(this.headSeq + 1, this.headHash, this.trailIdValue, this.now(), batch[0]?.input.session_id) : undefined;
    if (record) batch = [{ input: record, content: canonicalJson(record.content), blobs: [], resolve: () => {}, reject: () => {} }, ...batch];
    this.db.exec("SAVEPOINT batch");
    try {
      for (const p of batch) {
        const e = this.buildEvent(p);
        try {
          for (const b of p.blobs) {
            // During a seal the next segment must get the blob even if the sealed part has it.
            if (this.sealWork && !this.sealWork.blobs.has(b.hash)) {
              this.sealWork.blobs.add(b.hash);
              before.sealBlobs.push(b.hash);
            }
            // INSERT OR IGNORE: a blob already stored changes no row and is not journaled again.
            this.insertBlob.run([b.hash, b.kind, utf8(b.body)]);
            if (this.db.getRowsModified() === 0) continue;
            lines.push(encodeRecord({ b }));
          }
          this.runInsert(e);
        } catch (err) {
          // One bad event (say a duplicate event_id) must not sink the others in its batch.
          p.reject(invalid((err as Error).message));
          continue;
        }
        lines.push(encodeRecord({ e }));
        done.push({ p, e });
      }
      const checkpoint = this.maybeCheckpoint(done.map((d) => d.e), lines);
      const bytes = Buffer.from(lines.join(""), "utf8");
      this.writeJournal(bytes);
      this.db.exec("RELEASE batch");
      this.uncommittedBytes += bytes.length;
      this.activeBytes += bytes.length;
      if (this.uncommittedBytes > COMMIT_EVERY_BYTES) {
        // Copying changed pages into sql.js's file costs time proportional to how many
        // piled up; doing it every few MB keeps the export before a snapshot short.
        this.db.exec("COMMIT; BEGIN");
        this.uncommittedBytes = 0;
      }
      if (checkpoint) {
        this.lastCheckpoint = checkpoint;
        this.writeAnchor(checkpoint);
      }
    } catch (err) {
      // Every in-memory structure as before this commit, so that the next one, once the disk
      // takes writes again, succeeds: the running Merkle tree is rebuilt from the rolled-back
      // database (it had the failed batch's leaves), a wanted checkpoint is still wanted.
      this.db.exec("ROLLBACK TO batch; RELEASE batch");
      this.headSeq = startSeq;
      this.headHash = startHash;
      if (record) this.writerStart?.revert();
      this.readCheckpointState();
      this.tree.reset();
      this.checkpointWanted ||= before.checkpointWanted;
      this.lastTreeNote = before.treeNote;
      for (const h of before.sealBlobs) this.sealWork?.blobs.delete(h);
      throw err instanceof TrailError ? err : new TrailError("IO", `Could not write ${this.journalPath}: ${diskErrorText(err)}`, this.journalPath);
    }
    if (done.length) this.ackedSeq = this.headSeq;
    if (done.length) this.appendedHere = true;
    for (const { p, e } of done) p.resolve(e);
    if (done.length) this.emit(done.map((d) => d.e));
  }

  /**
   * Adds a signed checkpoint for the current head to this commit (same fsync) when one is
   * due: every `checkpointEvery` events, at a session end, or when asked for.
   */
  private maybeCheckpoint(events: StoredEvent[], lines: string[]): Checkpoint | undefined {
    const signer = this.options.signer;
    const wanted = this.checkpointWanted;
    this.checkpointWanted = false;
    if (!signer || this.headSeq === 0) return undefined;
    const since = this.headSeq - (this.lastCheckpoint?.seq ?? 0);
    if (since <= 0) return undefined;
    const due = wanted || since >= (this.options.checkpointEvery ?? 100) || events.some((e) => TERMINAL_EVENT_TYPES.includes(e.event_type));
    if (!due) return undefined;
    if (!this.registeredKeys.has(signer.key.fingerprint)) {
      const k = { ...signer.key, added_at: this.now() };
      this.insertKey.run([k.fingerprint, k.algorithm, k.public_key, k.added_at]);
      lines.push(encodeRecord({ k }));
      this.registeredKeys.add(k.fingerprint);
    }
    const body = { trail_id: this.trailIdValue, seq: this.headSeq, head_hash: this.headHash, time: this.now(), key_fingerprint: signer.key.fingerprint };
    const c: Checkpoint = { checkpoint_no: (this.lastCheckpoint?.checkpoint_no ?? 0) + 1, ...body, signature: signer.sign(checkpointPayload(body)) };
    this.insertCheckpoint.run([c.checkpoint_no, c.trail_id, c.seq, c.head_hash, c.time, c.key_fingerprint, c.signature]);
    lines.push(encodeRecord({ c }));
    // The same statement in the standard form: the Merkle tree head, a C2SP signed note.
    const origin = trailOrigin(this.trailIdValue);
    // The tree head also says from which seq this writer vouches (an extension line).
    const note = signNote(checkpointBody(origin, c.seq, this.tree.root(c.seq)) + (this.writerStart ? vouchLine(this.writerStart.vouchesFrom) : ""), origin, signer);
    this.insertTreeHead.run([c.checkpoint_no, note]);
    this.db.run("DELETE FROM merkle_state");
    this.db.run("INSERT INTO merkle_state (checkpoint_no, size, nodes) VALUES (?, ?, ?)", [c.checkpoint_no, c.seq, JSON.stringify(this.tree.current().toJSON())]);
    lines.push(encodeRecord({ t: { checkpoint_no: c.checkpoint_no, note } }));
    this.lastTreeNote = note;
    return c;
  }

  /** Keeps the newest checkpoint outside the workspace too. A failure here loses nothing in the trail. */
  private writeAnchor(c: Checkpoint): void {
    if (this.options.pins && this.options.signer) {
      try {
        this.options.pins.advance(this.pinState(), this.options.signer.key.fingerprint);
      } catch (err) {
        this.log(`could not update the pin: ${(err as Error).message}`);
      }
    }
    if (!this.options.anchorDir || !this.options.signer) return;
    try {
      updateAnchor(this.options.anchorDir, c, this.options.signer.key, this.lastTreeNote);
    } catch (err) {
      this.log(`could not update the anchor in ${this.options.anchorDir}: ${(err as Error).message}`);
    }
  }

  private buildEvent(p: PreparedEvent): StoredEvent {
    const i = p.input;
    const e: StoredEvent = {
      seq: this.headSeq + 1,
      event_id: i.event_id ?? randomUUID(),
      session_id: i.session_id,
      agent_id: i.agent_id ?? "",
      user_id: i.user_id ?? "",
      timestamp: i.timestamp ?? this.now(),
      event_type: i.event_type,
      step_number: i.step_number ?? 0,
      parent_event_id: i.parent_event_id ?? null,
      model_id: i.model_id ?? null,
      system_prompt_hash: i.system_prompt_hash ?? null,
      agent_version: i.agent_version ?? null,
      content: p.content,
      prev_hash: this.headHash,
      hash: "",
    };
    const text = canonicalEventText(e);
    e.hash = hashOfCanonical(e.prev_hash, text);
    this.canonicalTexts.set(e, text); // the Merkle leaf covers the same bytes: built once
    return e;
  }

  private runInsert(e: StoredEvent): void {
    this.insertEvent.run([
      e.seq, e.event_id, e.session_id, e.agent_id, e.user_id, e.timestamp, e.event_type, e.step_number,
      e.parent_event_id, e.model_id, e.system_prompt_hash, e.agent_version, utf8(e.content), e.prev_hash, e.hash,
    ]);
    this.headSeq = e.seq;
    this.headHash = e.hash;
    if (e.timestamp > this.latestTime.time) this.latestTime = { seq: e.seq, time: e.timestamp };
    else this.latestTime.seq = e.seq;
    this.tree.appended(e, this.canonicalTexts.get(e));
  }

  /**
   * Appends one group commit's records and fsyncs them. Synchronous on purpose: an fsync
   * here takes ~0.15 ms, less than a hop through the thread pool costs, and appends that
   * arrive meanwhile simply wait in `pending` for the next commit.
   */
  private writeJournal(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const fd = this.journalFd!;
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off, this.journalEnd + off);
      fs.fdatasyncSync(fd);
    } catch (err) {
      // Leave no half-written batch behind for the next commit to append after.
      try {
        fs.ftruncateSync(fd, this.journalEnd);
      } catch {
        /* the next catch-up treats whatever is left as an unfinished write */
      }
      throw err;
    }
    this.journalEnd += bytes.length;
  }

  // ---- sealing ---------------------------------------------------------------------------

  /** The active segment has grown past `sealBytes` (and a failed seal is not being retried yet). */
  private sealDue(): boolean {
    const limit = this.options.sealBytes ?? DEFAULT_SEAL_BYTES;
    return !this.options.readOnly && limit > 0 && this.headSeq > this.base.seq && this.activeBytes >= limit && Date.now() >= this.sealRetryAt;
  }

  /**
   * Starts sealing the active segment (under the lock, caught up): a checkpoint at its last
   * event, then the in-memory copy exported and handed to a worker, which writes it once to
   * segments/seg-NNNNNN.db (temp, fsync, rename) and builds the next active segment. Appends
   * go on meanwhile; `finishSeal` completes it.
   */
  private startSeal(): void {
    const signer = this.options.signer;
    if (signer) {
      this.checkpointWanted = true;
      this.commit([]);
    }
    const segmentNo = (this.sealList[this.sealList.length - 1]?.segment_no ?? 0) + 1;
    const fileName = segmentFileName(segmentNo);
    try {
      fs.mkdirSync(this.segmentsDir, { recursive: true });
      const frontier = JSON.stringify(this.tree.current().toJSON());
      // The only part proportional to the segment left on this thread: the export.
      let bytes = this.exportDatabase();
      if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
      const work: SealWork = {
        segmentNo, fileName, first: this.base.seq + 1, last: { seq: this.headSeq, hash: this.headHash }, base: { ...this.base },
        checkpointNo: this.lastCheckpoint?.checkpoint_no ?? 0, frontier, bytes: bytes.length, startedAt: performance.now(),
        blobs: new Set(), done: false, settled: Promise.resolve(),
      };
      work.settled = runSealJob({ bytes, file: path.join(this.segmentsDir, fileName), segmentNo }).then(
        (built) => {
          work.built = built;
          work.done = true;
        },
        (err: Error) => {
          work.error = err;
          work.done = true;
        },
      );
      this.sealWork = work;
    } catch (err) {
      this.sealRetryAt = Date.now() + 60_000;
      this.log(`could not seal segment ${segmentNo} (will retry; no event is lost): ${(err as Error).message}`);
    }
  }

  /**
   * Completes a seal whose worker is done (under the lock): the signed seal added to the next
   * active segment, with everything committed while the worker ran carried into it, and
   * trail.db replaced by it. That replacement is the commit point: a crash before it leaves the
   * old trail.db and journal (the segment file is an unlisted leftover, overwritten by the next
   * seal); a crash after it, the new trail.db with the old journal, whose records are all in it
   * or sealed, and are recognised and skipped.
   */
  private finishSeal(): void {
    const w = this.sealWork!;
    this.sealWork = undefined;
    let next: Database | undefined;
    let carried = 0;
    try {
      if (w.error || !w.built) throw w.error ?? new Error("the seal's worker gave no result");
      const seal = signSeal(
        {
          segment_no: w.segmentNo, trail_id: this.trailIdValue, first_seq: w.first, last_seq: w.last.seq, first_prev_hash: w.base.hash,
          last_hash: w.last.hash, file_name: w.fileName, file_sha256: w.built.fileSha256, bytes: w.bytes,
          checkpoint_no: w.checkpointNo, merkle_frontier: w.frontier, sealed_at: this.now(),
        },
        this.options.signer,
      );
      next = new this.sql.Database(w.built.nextBytes);
      insertSeal(next, seal);
      carried = carryIntoNextSegment(this.db, next, { afterSeq: w.last.seq, afterCheckpoint: w.checkpointNo, blobs: w.blobs });
      const nextBytes = next.export();
      this.snapshotId = writeFileAtomic(this.path, nextBytes);
      this.snapshotBytes = nextBytes.length;
    } catch (err) {
      next?.close();
      this.sealRetryAt = Date.now() + 60_000;
      this.log(`could not seal segment ${w.segmentNo} (will retry; no event is lost): ${(err as Error).message}`);
      return;
    }
    this.db.close();
    this.db = next;
    this.tuneInMemoryCopy();
    this.prepareStatements();
    this.readCheckpointState();
    this.readSegmentState();
    this.startJournal();
    this.log(
      `sealed segment ${w.segmentNo} (seq ${w.first}–${w.last.seq}) as ${w.fileName} in ${Math.round(performance.now() - w.startedAt)} ms` +
        (carried ? ` (${carried} events appended meanwhile carried into the next segment)` : ""),
    );
  }

  /**
   * A seal is under way and the active segment already holds a third more than the seal size:
   * appends wait for the seal (it keeps the active segment, which the sessions list aggregates,
   * within bounds under a burst).
   */
  private sealHoldsAppends(): boolean {
    const w = this.sealWork;
    if (!w || w.done) return false;
    return this.activeBytes >= (this.options.sealBytes ?? DEFAULT_SEAL_BYTES) * (4 / 3);
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

  /** Temp files of a segment write that was interrupted. Under the lock. */
  private removeStaleSegmentTemps(): string[] {
    const dir = this.segmentsDir;
    if (!fs.existsSync(dir)) return [];
    const names = new Set(fs.readdirSync(dir).map((f) => f.match(/^(seg-\d+\.db)/)?.[1]).filter((f): f is string => !!f));
    return [...names].flatMap((f) => removeStaleTempFiles(path.join(dir, f)));
  }

  // ---- snapshots -------------------------------------------------------------------------

  private scheduleIdleSnapshot(): void {
    clearTimeout(this.idleTimer);
    if (this.closed || this.journalEnd <= this.journalHeaderLen) return;
    this.idleTimer = setTimeout(() => {
      this.snapshotWanted = true;
      this.kick();
    }, this.options.idleSnapshotMs ?? 1000);
    // A process may exit without waiting for this; the journal already holds every event,
    // and the next open replays it.
    this.idleTimer.unref();
  }

  /** The journal has grown past half the snapshot: rewriting now keeps each event's share constant. */
  private journalIsLarge(): boolean {
    const bytes = this.journalEnd - this.journalHeaderLen;
    return (
      bytes >= (this.options.minJournalBytesForSnapshot ?? 8 * 1024 * 1024) &&
      bytes >= this.snapshotBytes * (this.options.snapshotJournalRatio ?? 0.5)
    );
  }

  /**
   * Starts rewriting the database file. Under the lock, only the in-memory export happens;
   * the temp file is written and fsync'd in the background while appends go on, and
   * `finishSnapshot` swaps it in later.
   */
  private startSnapshot(): void {
    if (this.journalEnd <= this.journalHeaderLen && sameIdentity(fileIdentity(this.path), this.snapshotId)) return;
    const bytes = this.exportDatabase();
    const tmp = tempPathFor(this.path);
    const write: SnapshotWrite = {
      tmp,
      bytes: bytes.length,
      head: { seq: this.headSeq, hash: this.headHash },
      journalIno: this.journalIno,
      journalCut: this.journalEnd,
      basedOn: this.snapshotId,
      done: false,
      written: Promise.resolve(),
    };
    write.written = writeFileDurably(tmp, bytes).then(
      () => {
        write.done = true;
      },
      (err: Error) => {
        write.done = true;
        write.error = err;
      },
    );
    this.snapshotWrite = write;
  }

  /**
   * Swaps the written temp file in and restarts the journal from its head, carrying over
   * the records appended meanwhile. Under the lock, after catching up. If someone else
   * rewrote the trail in the meantime, ours is stale and is dropped.
   */
  private finishSnapshot(): void {
    const w = this.snapshotWrite!;
    this.snapshotWrite = undefined;
    // A failed rewrite loses nothing (the journal holds every event); it is retried later.
    if (w.error) {
      fs.rmSync(w.tmp, { force: true });
      this.log(`could not write ${this.path} (will retry; no event is lost): ${w.error.message}`);
      return;
    }
    if (!sameIdentity(fileIdentity(this.path), w.basedOn) || this.journalIno !== w.journalIno) {
      fs.rmSync(w.tmp, { force: true });
      return;
    }
    try {
      fs.renameSync(w.tmp, this.path);
      fsyncDir(path.dirname(this.path));
    } catch (err) {
      fs.rmSync(w.tmp, { force: true });
      this.log(`could not replace ${this.path} (will retry; no event is lost): ${(err as Error).message}`);
      return;
    }
    this.snapshotId = fileIdentity(this.path);
    this.snapshotBytes = w.bytes;
    const tail = Buffer.alloc(this.journalEnd - w.journalCut);
    if (tail.length) fs.readSync(this.journalFd!, tail, 0, tail.length, w.journalCut);
    this.startJournal(w.head, tail);
  }

  /** Writes the whole database atomically now (a new trail). Under the lock. */
  private writeSnapshotNow(): void {
    const bytes = this.exportDatabase();
    this.snapshotId = writeFileAtomic(this.path, bytes);
    this.snapshotBytes = bytes.length;
    this.startJournal();
  }

  private exportDatabase(): Uint8Array {
    this.db.exec("COMMIT");
    try {
      return this.db.export();
    } finally {
      this.db.exec("BEGIN");
      this.uncommittedBytes = 0;
    }
  }

  /**
   * Replaces the journal with one that continues from `base` (default: the current head),
   * holding `tail`: records after base that are already applied in memory.
   */
  private startJournal(base = { seq: this.headSeq, hash: this.headHash }, tail: Buffer = Buffer.alloc(0)): void {
    const header: JournalHeader = { trail_id: this.trailIdValue, base_seq: base.seq, base_hash: base.hash };
    writeFileAtomic(this.journalPath, Buffer.concat([encodeHeader(header), tail]));
    this.openJournal();
    this.journalEnd += tail.length;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private emit(events: StoredEvent[]): void {
    for (const l of this.listeners) {
      try {
        l(events);
      } catch (err) {
        this.log(`listener failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * The time for what this store writes (events without a time of their own, checkpoints,
   * seals, keys): the clock, but never before the newest event's time. A clock stepped back
   * (a VM restored, a bad NTP answer) must not make new events look old: retention would then
   * prune what was just written. The step is logged once, with how far back the clock is.
   */
  private now(): string {
    const wall = (this.options.clock?.() ?? new Date()).toISOString();
    if (this.latestTime.seq !== this.headSeq) this.latestTime = { seq: this.headSeq, time: this.timeAtHead() };
    if (wall >= this.latestTime.time) {
      this.clockBehind = false;
      return wall;
    }
    if (!this.clockBehind) {
      this.clockBehind = true;
      this.log(`the clock (${wall}) is ${Date.parse(this.latestTime.time) - Date.parse(wall)} ms behind the trail's newest event (${this.latestTime.time}): new times are held at it until the clock catches up`);
    }
    return this.latestTime.time;
  }

  /** The newest time in the trail: its head event's, or the last seal's when the active segment is empty. */
  private timeAtHead(): string {
    const row = this.headSeq > this.base.seq ? this.db.exec("SELECT max(timestamp) FROM (SELECT timestamp FROM events ORDER BY seq DESC LIMIT 64)")[0]?.values[0]?.[0] : undefined;
    const sealed = this.sealList[this.sealList.length - 1]?.sealed_at ?? "";
    const t = typeof row === "string" ? row : "";
    return t > sealed ? t : sealed;
  }

  private log(message: string): void {
    this.options.log?.(`[trail] ${message}`);
  }
}

/** The journal's path for a trail file: `trail.db` → `trail.journal`. */
export function journalPathFor(trailPath: string): string {
  return trailPath.replace(/(\.db)?$/, ".journal");
}

/** A text bound as its UTF-8 bytes (see prepareStatements). */
function utf8(text: string): Uint8Array {
  return Buffer.from(text, "utf8");
}

function invalid(message: string): TrailError {
  return new TrailError("INVALID_EVENT", `Invalid trail event: ${message}`);
}

/** What a write error means to the user, and what to do; nothing acknowledged was lost. */
function diskErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const what =
    e.code === "ENOSPC" || e.code === "EDQUOT" ? "the disk is full (or the quota is used up)"
    : e.code === "EROFS" ? "the file system is read-only"
    : e.code === "EIO" ? "the disk reported an I/O error"
    : (e.message ?? String(err)).replace(/\s+/g, " ");
  return `${what}. This event was not recorded; everything acknowledged before it is safe. Once the disk takes writes again, the next append goes on.`;
}

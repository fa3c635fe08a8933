import { randomUUID } from "node:crypto";
import type { Database, SqlJsStatic } from "sql.js";
import type { BlobInput, EventInput, StoredEvent } from "./eventTypes";
import { GENESIS_HASH, canonicalEventText, computeEventHash, hashOfCanonical, sha256Hex } from "../integrity/hashChain";
import type { JournalRecord } from "./journalFile";
import { parseCheckpoint } from "../integrity/c2spNote";
import { MerkleFrontier } from "../integrity/merkle";
import type { SchemaDifference } from "./schemaCheck";
import type { SegmentStatements, OpenedDatabase } from "./segmentDatabase";
import { prepareStatements, tuneInMemoryCopy, utf8 } from "./segmentDatabase";
import type { SealRecord } from "./segments";
import { readSeals, segmentBase, SegmentFiles } from "./segments";
import type { Checkpoint, PublicKeyRecord } from "../trust/signing";
import { checkpointValues, readLatestCheckpoint, storedEventValues } from "./trailColumns";
import { TrailClock } from "./trailClock";
import { TrailError } from "./trailErrors";
import { RunningTree } from "../integrity/trailMerkle";

/** Bytes of journal records after which the long transaction is committed (see `released`). */
const COMMIT_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * The active segment: trail.db held in memory by sql.js. It owns the database and its
 * prepared statements, the head and the base (where the segment starts), the seals it carries,
 * the latest checkpoint and the registered keys, and the running Merkle tree — every append
 * reaches the tree here, in `insert`, and every replacement of the database resets it.
 * Changes are made inside a savepoint (`begin` … `release` or `rollback`).
 */
export class ActiveSegment {
  private db!: Database;
  private stmts!: SegmentStatements;
  private id = "";
  private headSeq = 0;
  private headHash = GENESIS_HASH;
  private baseHead = { seq: 0, hash: GENESIS_HASH };
  private sealList: SealRecord[] = [];
  private bytes = 0;
  /** Journal bytes applied since the long transaction was last committed. */
  private uncommittedBytes = 0;
  private lastCheckpoint: Checkpoint | undefined;
  private keys = new Set<string>();
  private diffs: SchemaDifference[] = [];
  private savedHead: { seq: number; hash: string } | undefined;
  private segmentFiles: SegmentFiles | undefined;
  private readonly canonicalTexts = new WeakMap<StoredEvent, string>();
  /** The upgraded copy must be written out (cleared by the caller once it is). */
  upgraded = false;
  readonly tree = new RunningTree(() => this.db, () => this.frontierAtBase());
  readonly clock: TrailClock;

  constructor(
    readonly sql: SqlJsStatic,
    /** The files it stands for (for messages), and whether it is a reader's (readers never seal, so do not count bytes). */
    private readonly files: { trail: string; journal: string; segmentsDir: string; readOnly: boolean },
    clock: (() => Date) | undefined,
    log: (message: string) => void,
  ) {
    this.clock = new TrailClock(clock, log, () => this.timeAtHead());
  }

  get database(): Database {
    return this.db;
  }

  get trailId(): string {
    return this.id;
  }

  get head(): { seq: number; hash: string } {
    return { seq: this.headSeq, hash: this.headHash };
  }

  /** Where the segment's events start: everything up to this seq is sealed. */
  get base(): { seq: number; hash: string } {
    return this.baseHead;
  }

  get seals(): readonly SealRecord[] {
    return this.sealList;
  }

  /** Bytes of events and blobs in the segment (it is sealed past a size). */
  get activeBytes(): number {
    return this.bytes;
  }

  get latestCheckpoint(): Checkpoint | undefined {
    return this.lastCheckpoint;
  }

  get registeredKeys(): ReadonlySet<string> {
    return this.keys;
  }

  get schemaDiffs(): readonly SchemaDifference[] {
    return this.diffs;
  }

  /** The time for what the store writes now (never before the newest event's; trailClock.ts). */
  now(): string {
    return this.clock.now(this.headSeq);
  }

  /** Takes an opened trail.db (or a new trail) as the active segment. */
  adopt(opened: OpenedDatabase): void {
    this.replaceDatabase(opened.db);
    this.id = opened.trailId;
    this.headSeq = opened.head.seq;
    this.headHash = opened.head.hash;
    this.upgraded ||= opened.upgraded;
    this.diffs = opened.schemaDiffs;
    this.readState();
  }

  /** Takes the segment a seal built (same trail, same head: what was appended meanwhile is carried into it). */
  adoptNext(next: Database): void {
    this.replaceDatabase(next);
    tuneInMemoryCopy(next);
    this.readState();
  }

  /** Commits the long transaction, exports the database, and opens the next one. */
  export(): Uint8Array {
    this.db.exec("COMMIT");
    try {
      return this.db.export();
    } finally {
      this.db.exec("BEGIN");
      this.uncommittedBytes = 0;
    }
  }

  close(): void {
    this.segmentFiles?.release();
    this.db.close();
  }

  /** A sealed segment's database, read-only, checked against its seal (at most two are held). */
  segment(seal: SealRecord): Database {
    this.segmentFiles ??= new SegmentFiles(this.sql, this.files.segmentsDir);
    return this.segmentFiles.get(seal);
  }

  releaseSegments(): void {
    this.segmentFiles?.release();
  }

  /** The hash at `seq` (as stored), in this segment or a sealed one; undefined when there is none. */
  hashAtSeq(seq: number): string | undefined {
    if (seq > this.baseHead.seq) {
      const s = this.stmts.hashAt;
      s.bind([seq]);
      const h = s.step() ? String(s.get()[0]) : undefined;
      s.reset();
      return h;
    }
    if (seq === this.baseHead.seq) return seq === 0 ? undefined : this.baseHead.hash;
    const seal = this.sealList.find((x) => x.first_seq <= seq && seq <= x.last_seq);
    if (!seal) return undefined;
    if (seal.last_seq === seq) return seal.last_hash;
    try {
      const row = this.segment(seal).exec("SELECT hash FROM events WHERE seq = ?", [seq])[0]?.values[0];
      return row ? String(row[0]) : undefined;
    } catch {
      return undefined;
    }
  }

  // ---- changing it: one savepoint per commit -------------------------------------------------

  begin(): void {
    this.db.exec("SAVEPOINT batch");
    this.savedHead = this.head;
  }

  /** The commit's journal bytes are durable: keep its changes. */
  release(journalBytes: number): void {
    this.db.exec("RELEASE batch");
    this.uncommittedBytes += journalBytes;
    this.bytes += journalBytes;
    if (this.uncommittedBytes > COMMIT_EVERY_BYTES) {
      // Copying changed pages into sql.js's file costs time proportional to how many
      // piled up; doing it every few MB keeps the export before a snapshot short.
      this.db.exec("COMMIT; BEGIN");
      this.uncommittedBytes = 0;
    }
  }

  /**
   * The commit failed: the database, the head, the checkpoint state and the running tree as
   * before it (the tree is rebuilt from the rolled-back database: it had the failed leaves).
   */
  rollback(): void {
    this.db.exec("ROLLBACK TO batch; RELEASE batch");
    if (this.savedHead) {
      this.headSeq = this.savedHead.seq;
      this.headHash = this.savedHead.hash;
    }
    this.readCheckpointState();
    this.tree.reset();
  }

  /** The next event for `input` (its content already canonical JSON), chained to the head. */
  buildEvent(i: EventInput, content: string): StoredEvent {
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
      content,
      prev_hash: this.headHash,
      hash: "",
    };
    const text = canonicalEventText(e);
    e.hash = hashOfCanonical(e.prev_hash, text);
    this.canonicalTexts.set(e, text); // the Merkle leaf covers the same bytes: built once
    return e;
  }

  /** Inserts the event at the head: the head moves, the clock and the running tree see it. */
  insert(e: StoredEvent): void {
    this.stmts.insertEvent.run(storedEventValues(e, utf8(e.content)));
    this.headSeq = e.seq;
    this.headHash = e.hash;
    this.clock.saw(e.seq, e.timestamp);
    this.tree.appended(e, this.canonicalTexts.get(e));
  }

  /** Stores a blob; false when it was already there (then it is not journaled again). */
  insertBlob(b: { hash: string; kind: BlobInput["kind"]; body: string }): boolean {
    // INSERT OR IGNORE: a blob already stored changes no row.
    this.stmts.insertBlob.run([b.hash, b.kind, utf8(b.body)]);
    return this.db.getRowsModified() > 0;
  }

  insertKey(k: PublicKeyRecord & { added_at: string }): void {
    this.stmts.insertKey.run([k.fingerprint, k.algorithm, k.public_key, k.added_at]);
    this.keys.add(k.fingerprint);
  }

  insertCheckpoint(c: Checkpoint): void {
    this.stmts.insertCheckpoint.run(checkpointValues(c));
    this.lastCheckpoint = c;
  }

  insertTreeHead(checkpointNo: number, note: string): void {
    this.stmts.insertTreeHead.run([checkpointNo, note]);
  }

  /** The running tree at checkpoint `checkpointNo`, so the next writer starts from it. */
  storeMerkleState(checkpointNo: number): void {
    const f = this.tree.current();
    this.db.run("DELETE FROM merkle_state");
    this.db.run("INSERT INTO merkle_state (checkpoint_no, size, nodes) VALUES (?, ?, ?)", [checkpointNo, f.size, JSON.stringify(f.toJSON())]);
  }

  // ---- applying journal records ------------------------------------------------------------

  /**
   * Applies records read from the journal (all or nothing on an error); stops at the first
   * that is not a valid continuation. Returns the end of the last good one and the events added.
   */
  applyRecords(records: { record: JournalRecord; end: number }[]): { goodEnd: number; added: StoredEvent[] } {
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
    this.bytes += goodEnd;
    return { goodEnd, added };
  }

  /** Applies one journal record; false when it is not a valid continuation (torn or garbled). */
  private applyRecord(record: JournalRecord, added: StoredEvent[]): boolean {
    if ("k" in record) {
      this.insertKey(record.k);
      return true;
    }
    if ("t" in record) {
      this.insertTreeHead(record.t.checkpoint_no, record.t.note);
      return true;
    }
    if ("c" in record) {
      const c = record.c;
      const last = this.lastCheckpoint?.checkpoint_no ?? 0;
      if (c.checkpoint_no <= last) return true; // already in the snapshot
      if (c.checkpoint_no !== last + 1) return false;
      this.insertCheckpoint(c);
      return true;
    }
    if ("b" in record) {
      const b = record.b;
      if (typeof b.body !== "string" || sha256Hex(b.body) !== b.hash) return false;
      this.insertBlob(b);
      return true;
    }
    const e = record.e;
    if (e.seq <= this.headSeq) {
      // Already in the snapshot (a crash between writing it and restarting the journal), or
      // sealed (a crash between the seal and restarting the journal): the seal's head and the
      // segment file's signed hash stand for those.
      if (e.seq < this.baseHead.seq) return true;
      const known = e.seq === this.baseHead.seq ? this.baseHead.hash : this.hashAtSeq(e.seq);
      if (known !== e.hash) {
        throw new TrailError(
          "CORRUPT",
          `${this.files.journal} disagrees with ${this.files.trail} at seq ${e.seq}. Nothing was changed; run "agent-audit verify".`,
          this.files.journal,
        );
      }
      return true;
    }
    if (e.seq !== this.headSeq + 1 || e.prev_hash !== this.headHash || computeEventHash(e.prev_hash, e) !== e.hash) {
      return false;
    }
    this.insert(e);
    added.push(e);
    return true;
  }

  // ---- derived state -----------------------------------------------------------------------

  private replaceDatabase(db: Database): void {
    this.tree.reset();
    if (this.db !== db) this.db?.close();
    this.db = db;
  }

  private readState(): void {
    this.stmts = prepareStatements(this.db);
    this.readCheckpointState();
    this.baseHead = segmentBase(this.db);
    this.sealList = readSeals(this.db);
    this.tree.reset();
    const sum = (sql: string) => Number(this.db.exec(sql)[0]?.values[0]?.[0] ?? 0);
    this.bytes = this.files.readOnly ? 0 : sum("SELECT coalesce(sum(length(content)), 0) FROM events") + sum("SELECT coalesce(sum(length(body)), 0) FROM blobs");
  }

  private readCheckpointState(): void {
    this.lastCheckpoint = readLatestCheckpoint(this.db);
    this.keys = new Set((this.db.exec("SELECT fingerprint FROM keys")[0]?.values ?? []).map((r) => String(r[0])));
  }

  /**
   * Where the running tree starts: the frontier stored at the last checkpoint when its root is
   * the one that checkpoint's tree head signed (then only later events are read), else the
   * last seal's (the whole active segment is read).
   */
  private frontierAtBase(): MerkleFrontier {
    try {
      const row = this.db.exec("SELECT m.size, m.nodes, t.note FROM merkle_state m JOIN tree_heads t USING (checkpoint_no)")[0]?.values[0];
      if (row && Number(row[0]) >= this.baseHead.seq && Number(row[0]) <= this.headSeq) {
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

  /** The newest time in the trail: its head event's, or the last seal's when the segment is empty. */
  private timeAtHead(): string {
    const row = this.headSeq > this.baseHead.seq ? this.db.exec("SELECT max(timestamp) FROM (SELECT timestamp FROM events ORDER BY seq DESC LIMIT 64)")[0]?.values[0]?.[0] : undefined;
    const sealed = this.sealList[this.sealList.length - 1]?.sealed_at ?? "";
    const t = typeof row === "string" ? row : "";
    return t > sealed ? t : sealed;
  }
}

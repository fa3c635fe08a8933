import type { ActiveSegment } from "../store/activeSegment";
import { updateAnchor } from "../trust/anchorFile";
import type { EventInput, StoredEvent } from "../store/eventTypes";
import { TERMINAL_EVENT_TYPES } from "../store/eventTypes";
import { GENESIS_HASH } from "./hashChain";
import { encodeRecord } from "../store/journalFile";
import type { PinKeeper } from "../trust/pinKeeper";
import type { TrailState } from "../trust/pins";
import type { Checkpoint, CheckpointSigner } from "../trust/signing";
import { checkpointPayload } from "../trust/signing";
import { checkpointBody, signNote, trailOrigin } from "./signedNote";
import { TrailError } from "../store/trailErrors";
import { vouchLine, WriterStart } from "./writerProvenance";

export interface CheckpointerOptions {
  /** Signs a checkpoint every `checkpointEvery` events (default 100) and at every session end. */
  signer?: CheckpointSigner;
  checkpointEvery?: number;
  /** Folder outside the workspace where the latest checkpoint is kept (see anchorFile.ts). */
  anchorDir?: string;
  /** Compares the trail with the user's pin when opening for writing, and advances it (pins.ts). */
  pins?: PinKeeper;
  /** The trail's canonical location (what a pin is kept for; resolved when asked: the folder may not exist yet). */
  location: () => string;
  log: (message: string) => void;
}

/** What a failed commit puts back (see `mark` and `revert`). */
export interface CheckpointMark {
  wanted: boolean;
  treeNote: string | undefined;
  tookWriterRecord: boolean;
}

/**
 * What a writer signs, and what it tells the world outside the trail: whether a checkpoint is
 * wanted, the checkpoint and its Merkle tree head (a C2SP signed note, with the seq this
 * writer vouches from: writerProvenance.ts), the anchor kept outside the workspace, and the
 * user's pin of this location (compared at a writing open, advanced at each checkpoint). The
 * checkpoint and tree head go into the same commit (and fsync) as the events they cover.
 */
export class Checkpointer {
  private wanted = false;
  private lastTreeNote: string | undefined;
  private writerStart: WriterStart | undefined;
  private appendedHere = false;

  constructor(
    private readonly segment: ActiveSegment,
    private readonly opts: CheckpointerOptions,
  ) {}

  get signer(): CheckpointSigner | undefined {
    return this.opts.signer;
  }

  /** A checkpoint is wanted with the next commit (asked for, a seal, a close). */
  get isWanted(): boolean {
    return this.wanted;
  }

  /** Asks for a checkpoint at the head with the next commit. */
  want(): void {
    this.wanted = true;
  }

  /** Asks for one; throws (NO_SIGNING_KEY) when the store has no key. */
  requireSigner(): void {
    if (!this.opts.signer) throw new TrailError("NO_SIGNING_KEY", "No signing key: cannot sign a checkpoint");
  }

  /** At close: what this writer appended is signed before it goes (its key vouches for it, the next writer inherits a signed head). */
  wantBeforeClosing(): void {
    if (this.appendedHere && this.opts.signer && this.segment.head.seq > (this.segment.latestCheckpoint?.seq ?? 0)) this.wanted = true;
  }

  /** What a pin compares: identity, head, checkpoints, keys (pins.ts). */
  pinState(): TrailState {
    const head = this.segment.head;
    return {
      location: this.opts.location(),
      trailId: this.segment.trailId,
      headSeq: head.seq,
      headHash: head.hash,
      hashAt: (seq) => this.segment.hashAtSeq(seq),
      checkpoints: this.segment.latestCheckpoint?.checkpoint_no ?? 0,
      keys: [...this.segment.registeredKeys],
    };
  }

  /** Before a new trail is created where the user pinned one: a pinned trail that is gone is not replaced silently. */
  checkPinBeforeCreating(): void {
    this.opts.pins?.beforeWriting({ location: this.opts.location(), trailId: "", headSeq: 0, headHash: GENESIS_HASH, hashAt: () => undefined, checkpoints: 0, keys: [] });
  }

  /** At a writing open (under the lock, caught up): the pin is checked (throws PIN_MISMATCH), and this writer's start decided. */
  openForWriting(): void {
    this.opts.pins?.beforeWriting(this.pinState());
  }

  /** What this writer inherits at open: the head, and the last checkpoint with its tree head. */
  startWriter(): void {
    const signer = this.opts.signer;
    if (!signer) return;
    const last = this.segment.latestCheckpoint;
    const head = this.segment.head;
    const trailId = this.segment.trailId;
    const note = last ? this.segment.database.exec("SELECT note FROM tree_heads WHERE checkpoint_no = ?", [last.checkpoint_no])[0]?.values[0]?.[0] : undefined;
    this.writerStart = new WriterStart(signer, { seq: head.seq, hash: head.hash, trailId, origin: trailOrigin(trailId), last, lastNote: note === undefined ? undefined : String(note) });
  }

  /** The state a failed commit must put back besides the database. */
  mark(): CheckpointMark {
    return { wanted: this.wanted, treeNote: this.lastTreeNote, tookWriterRecord: false };
  }

  /**
   * Before this writer's first event or checkpoint: the `writer_start` event saying where its
   * key starts vouching, if it must say so (once; `revert` makes it due again).
   */
  writerRecord(mark: CheckpointMark, sessionId: string | undefined): EventInput | undefined {
    const head = this.segment.head;
    const record = this.writerStart?.takeRecord(head.seq + 1, head.hash, this.segment.trailId, this.segment.now(), sessionId);
    if (record) mark.tookWriterRecord = true;
    return record;
  }

  /** The commit failed: a wanted checkpoint is still wanted, the tree head and the writer's start as before. */
  revert(mark: CheckpointMark): void {
    if (mark.tookWriterRecord) this.writerStart?.revert();
    this.wanted ||= mark.wanted;
    this.lastTreeNote = mark.treeNote;
  }

  /**
   * Adds a signed checkpoint for the current head to this commit (its records into `lines`)
   * when one is due: every `checkpointEvery` events, at a session end, or when asked for.
   */
  maybeCheckpoint(events: StoredEvent[], lines: string[]): Checkpoint | undefined {
    const signer = this.opts.signer;
    const wanted = this.wanted;
    this.wanted = false;
    const seg = this.segment;
    const head = seg.head;
    if (!signer || head.seq === 0) return undefined;
    const since = head.seq - (seg.latestCheckpoint?.seq ?? 0);
    if (since <= 0) return undefined;
    const due = wanted || since >= (this.opts.checkpointEvery ?? 100) || events.some((e) => TERMINAL_EVENT_TYPES.includes(e.event_type));
    if (!due) return undefined;
    if (!seg.registeredKeys.has(signer.key.fingerprint)) {
      const k = { ...signer.key, added_at: seg.now() };
      seg.insertKey(k);
      lines.push(encodeRecord({ k }));
    }
    const trailId = seg.trailId;
    const body = { trail_id: trailId, seq: head.seq, head_hash: head.hash, time: seg.now(), key_fingerprint: signer.key.fingerprint };
    const c: Checkpoint = { checkpoint_no: (seg.latestCheckpoint?.checkpoint_no ?? 0) + 1, ...body, signature: signer.sign(checkpointPayload(body)) };
    seg.insertCheckpoint(c);
    lines.push(encodeRecord({ c }));
    // The same statement in the standard form: the Merkle tree head, a C2SP signed note.
    const origin = trailOrigin(trailId);
    // The tree head also says from which seq this writer vouches (an extension line).
    const note = signNote(checkpointBody(origin, c.seq, seg.tree.root(c.seq)) + (this.writerStart ? vouchLine(this.writerStart.vouchesFrom) : ""), origin, signer);
    seg.insertTreeHead(c.checkpoint_no, note);
    seg.storeMerkleState(c.checkpoint_no);
    lines.push(encodeRecord({ t: { checkpoint_no: c.checkpoint_no, note } }));
    this.lastTreeNote = note;
    return c;
  }

  /** The commit is durable: events this writer appended are its to sign at close; a checkpoint goes to the pin and the anchor. */
  committed(appended: boolean, checkpoint: Checkpoint | undefined): void {
    if (appended) this.appendedHere = true;
    if (checkpoint) this.publish(checkpoint);
  }

  /** Keeps the newest checkpoint outside the workspace too. A failure here loses nothing in the trail. */
  private publish(c: Checkpoint): void {
    const { pins, signer, anchorDir } = this.opts;
    if (pins && signer) {
      try {
        pins.advance(this.pinState(), signer.key.fingerprint);
      } catch (err) {
        this.opts.log(`could not update the pin: ${(err as Error).message}`);
      }
    }
    if (!anchorDir || !signer) return;
    try {
      updateAnchor(anchorDir, c, signer.key, this.lastTreeNote);
    } catch (err) {
      this.opts.log(`could not update the anchor in ${anchorDir}: ${(err as Error).message}`);
    }
  }
}

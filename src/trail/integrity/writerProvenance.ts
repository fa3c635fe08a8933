import { canonicalJson } from "./canonicalJson";
import type { EventInput, EventRecord } from "../store/eventTypes";
import { openNote, parseVerifierKey } from "./c2spNote";
import { noteVerifierKey } from "./signedNote";
import type { Checkpoint, CheckpointSigner } from "../trust/signing";
import { checkpointSignatureValid } from "../trust/signing";
import { createPublicKey, verify } from "node:crypto";

/**
 * Who vouches for which events. A checkpoint signs the whole chain up to its seq, but the key
 * behind it vouches only for what its writer appended: a writer that opens a trail it did not
 * write (a cloned repository's, a forger's) must not turn the history it inherits into
 * something signed by the user. So every writer knows the seq from which it vouches:
 *
 * - it created the trail, or it inherits a head its own key signed (a checkpoint at the head,
 *   by this key, whose tree head says from where that writer vouched): it vouches from there;
 * - otherwise it appends a signed `writer_start` event before anything else ("key K vouches
 *   from seq p", bound to the trail, p and the hash before it) and vouches from p.
 *
 * Each checkpoint's tree head (a signed note) carries the writer's start as an extension line
 * `agent-audit-vouches-from p`. verify reads it; where a note lacks it (written before this
 * existed, or removed), the latest valid `writer_start` of that key at or before the
 * checkpoint marks the start, else seq 1 (a trail made by an older version from empty).
 */
export const WRITER_START = "writer_start";
export const WRITER_AGENT_ID = "agent-audit";
const VOUCH_PREFIX = "agent-audit-vouches-from ";

/** The extension line a checkpoint's tree head carries: the seq its writer vouches from. */
export function vouchLine(fromSeq: number): string {
  return `${VOUCH_PREFIX}${fromSeq}\n`;
}

/** The seq a verified tree head's text says its writer vouches from, if it says so. */
export function vouchesFromOf(noteText: string): number | undefined {
  const line = noteText.split("\n").slice(3).find((l) => l.startsWith(VOUCH_PREFIX));
  const n = line ? Number(line.slice(VOUCH_PREFIX.length)) : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/** The vouches-from line of `note` if it verifies with `publicKeyPem` for `origin` at `size` events. */
export function noteVouchesFrom(note: string | undefined, origin: string, publicKeyPem: string, size: number): number | undefined {
  if (!note) return undefined;
  try {
    const text = openNote(note, parseVerifierKey(noteVerifierKey(origin, publicKeyPem)));
    const lines = text.split("\n");
    if (lines[0] !== origin || Number(lines[1]) !== size) return undefined;
    return vouchesFromOf(text);
  } catch {
    return undefined;
  }
}

interface WriterStartStatement {
  trail_id: string;
  seq: number;
  prev_hash: string;
  key_fingerprint: string;
  time: string;
}

/** The content of a `writer_start` event at `seq` (after `prevHash`), signed by `signer`. */
export function writerStartContent(signer: CheckpointSigner, s: Omit<WriterStartStatement, "key_fingerprint">): Record<string, unknown> {
  const statement: WriterStartStatement = { ...s, key_fingerprint: signer.key.fingerprint };
  return { ...statement, vouches_from: s.seq, signature: signer.sign(canonicalJson(statement as unknown as Record<string, unknown>)) };
}

/** The key of a `writer_start` event whose statement is for this trail, at this event's place, and verifies. */
export function writerStartKey(e: EventRecord & { prev_hash: string }, trailId: string, keyFor: (fp: string) => string | undefined): string | undefined {
  try {
    const c = JSON.parse(e.content) as Partial<WriterStartStatement> & { signature?: string };
    if (c.trail_id !== trailId || c.seq !== e.seq || c.prev_hash !== e.prev_hash || typeof c.key_fingerprint !== "string" || typeof c.time !== "string") return undefined;
    const pem = keyFor(c.key_fingerprint);
    if (!pem || typeof c.signature !== "string") return undefined;
    const statement: WriterStartStatement = { trail_id: c.trail_id, seq: c.seq, prev_hash: c.prev_hash, key_fingerprint: c.key_fingerprint, time: c.time };
    const ok = verify(null, Buffer.from(canonicalJson(statement as unknown as Record<string, unknown>)), createPublicKey(pem), Buffer.from(c.signature, "base64"));
    return ok ? c.key_fingerprint : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A writing store's start: decided at open (under the lock, caught up) from what it inherits.
 * `record` is set when the writer must say where it starts before its first append.
 */
export class WriterStart {
  private fromSeq: number | undefined;
  private recordDue: boolean;

  constructor(
    private readonly signer: CheckpointSigner,
    inherited: { seq: number; hash: string; trailId: string; origin: string; last?: Checkpoint; lastNote?: string },
  ) {
    const c = inherited.last;
    const own =
      c !== undefined &&
      c.seq === inherited.seq &&
      c.head_hash === inherited.hash &&
      c.trail_id === inherited.trailId &&
      c.key_fingerprint === signer.key.fingerprint &&
      checkpointSignatureValid(c, signer.key.public_key);
    const from = own ? noteVouchesFrom(inherited.lastNote, inherited.origin, signer.key.public_key, c.seq) : undefined;
    if (inherited.seq === 0) this.fromSeq = 1;
    else if (from !== undefined) this.fromSeq = from;
    this.recordDue = this.fromSeq === undefined;
  }

  /** The seq this writer vouches from (known once its writer_start is appended). */
  get vouchesFrom(): number {
    return this.fromSeq ?? Number.MAX_SAFE_INTEGER;
  }

  /** The commit that held the record failed: it is due again. */
  revert(): void {
    this.fromSeq = undefined;
    this.recordDue = true;
  }

  /**
   * The `writer_start` event to append first (at `seq`, after `prevHash`), once: before the
   * first event or checkpoint this writer commits.
   */
  takeRecord(seq: number, prevHash: string, trailId: string, time: string, sessionId: string | undefined): EventInput | undefined {
    if (!this.recordDue) return undefined;
    this.recordDue = false;
    this.fromSeq = seq;
    return {
      session_id: sessionId ?? `writer-${time.replace(/[:.]/g, "-")}`,
      event_type: WRITER_START,
      agent_id: WRITER_AGENT_ID,
      timestamp: time,
      content: writerStartContent(this.signer, { trail_id: trailId, seq, prev_hash: prevHash, time }),
    };
  }
}

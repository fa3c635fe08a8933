import { openNote, parseCheckpoint, parseVerifierKey } from "./c2spNote";
import type { GoodCheckpoint } from "./provenanceRanges";
import type { SealRecord } from "../store/segments";
import { noteVerifierKey, trailOrigin } from "./signedNote";
import type { Checkpoint } from "../trust/signing";
import { checkpointSignatureValid, fingerprintOf } from "../trust/signing";
import type { Finding } from "./verifyChain";
import type { VerifyContext } from "./verifyContext";
import { noteVouchesFrom } from "./writerProvenance";

/**
 * The checkpoints and tree heads stage (after the walk): numbering without gaps (those of
 * pruned or skipped segments aside), each signature by a known key, for this trail, over the
 * hash the walk recomputed at its seq; each tree head signed and over the Merkle root of the
 * events up to it. Returns the checkpoints that hold, for provenance; fills `lastSignedSeq`
 * and `vouchedBy`.
 */
export function checkCheckpoints(ctx: VerifyContext): GoodCheckpoint[] {
  const { add, seals, missing, trailId, trusted } = ctx;
  const cps = sortedCheckpoints(ctx);
  // Checkpoints signed while a pruned or skipped segment was active are gone with it.
  const absentNos = (no: number) => {
    const prev = (s: SealRecord) => seals.find((x) => x.segment_no === s.segment_no - 1)?.checkpoint_no ?? 0;
    return [...missing, ...seals.slice(0, ctx.startIdx)].some((s) => no > prev(s) && no <= s.checkpoint_no);
  };
  ctx.lastSignedSeq = ctx.before ? ctx.before.last_seq : 0;
  let expectedNo = 1;
  const good: GoodCheckpoint[] = [];
  for (const c of cps) {
    const where = { checkpointNo: c.checkpoint_no, seq: c.seq };
    if (c.checkpoint_no !== expectedNo) {
      let first = expectedNo;
      while (first < c.checkpoint_no && absentNos(first)) first++;
      if (first < c.checkpoint_no) add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoints ${first}–${c.checkpoint_no - 1} are missing` });
    }
    expectedNo = c.checkpoint_no + 1;
    const key = ctx.keyFor(c.key_fingerprint);
    if (!key) {
      add({ category: "KEY_UNKNOWN", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}) is signed by key ${c.key_fingerprint.slice(0, 16)}…, which is neither trusted nor in the trail` });
      continue;
    }
    if (fingerprintOf(key) !== c.key_fingerprint || !checkpointSignatureValid(c, key)) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}): the signature does not verify` });
      continue;
    }
    if (c.trail_id !== trailId) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} was signed for another trail (${c.trail_id})` });
      continue;
    }
    const actual = ctx.hashAt.get(c.seq);
    if (actual === undefined) {
      add({ category: "TRUNCATED", severity: "error", seq: ctx.head.seq + 1, toSeq: c.seq, checkpointNo: c.checkpoint_no, message: `checkpoint ${c.checkpoint_no} signed ${c.seq} events; the trail has only ${ctx.head.seq}` });
      continue;
    }
    if (actual !== c.head_hash) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `the trail up to seq ${c.seq} is not what checkpoint ${c.checkpoint_no} signed: events at or before seq ${c.seq} were changed and re-hashed` });
      continue;
    }
    ctx.lastSignedSeq = Math.max(ctx.lastSignedSeq, c.seq);
    if (trusted.has(c.key_fingerprint)) ctx.vouchedBy.add(c.key_fingerprint);
    good.push({ seq: c.seq, key: c.key_fingerprint, vouchesFrom: noteVouchesFrom(ctx.treeHeads.get(c.checkpoint_no), trailOrigin(trailId), key, c.seq) });
  }
  for (const seal of seals) if (seal.key_fingerprint && trusted.has(seal.key_fingerprint) && ctx.goodSeals.has(seal.segment_no)) ctx.vouchedBy.add(seal.key_fingerprint);
  // Damage the chain walk already found makes every later tree head differ too: say it once.
  const firstDamage = Math.min(...ctx.findings.filter((f) => ["HASH_MISMATCH", "CHAIN_BREAK", "SEQ_GAP"].includes(f.category)).map((f) => f.seq ?? Infinity));
  checkTreeHeads(ctx.treeHeads, ctx.checkpoints, ctx.keyFor, trailId, (seq) => ctx.roots.get(seq), firstDamage, add);
  return good;
}

/** Every checkpoint the walk collected, in number order. */
export function sortedCheckpoints(ctx: VerifyContext): Checkpoint[] {
  return [...ctx.checkpoints.values()].sort((a, b) => a.checkpoint_no - b.checkpoint_no);
}

/**
 * Each checkpoint's tree head (a C2SP signed note, schema 3) must be signed by the checkpoint's
 * key for this trail's origin, and state the checkpoint's seq and the Merkle root of the events
 * up to it as they are now.
 */
function checkTreeHeads(notes: Map<number, string>, byNo: Map<number, Checkpoint>, keyFor: (fp: string) => string | undefined, trailId: string, rootAt: (seq: number) => Buffer | undefined, firstDamage: number, add: (f: Finding) => void): void {
  const origin = trailOrigin(trailId);
  for (const [no, note] of [...notes].sort((x, y) => x[0] - y[0])) {
    const c = byNo.get(Number(no));
    const bad = (why: string) => add({ category: "SIGNATURE_INVALID", severity: "error", checkpointNo: Number(no), seq: c?.seq, message: `the Merkle tree head of checkpoint ${no} ${why}` });
    if (!c) {
      add({ category: "CHECKPOINTS_REMOVED", severity: "error", checkpointNo: Number(no), message: `checkpoint ${no} is gone but its signed Merkle tree head is still in the trail` });
      continue;
    }
    const pem = keyFor(c.key_fingerprint);
    if (!pem || c.seq >= firstDamage) continue; // no key: reported above; damaged: reported by the chain walk
    try {
      const head = parseCheckpoint(openNote(String(note), parseVerifierKey(noteVerifierKey(origin, pem))));
      const root = rootAt(c.seq);
      if (head.origin !== origin || head.size !== c.seq) bad(`is for ${head.origin} at ${head.size} events, not this trail at seq ${c.seq}`);
      else if (!root || !head.root.equals(root)) bad(`does not match the events up to seq ${c.seq}: they were changed after it was signed`);
    } catch (err) {
      bad(`does not verify: ${(err as Error).message}`);
    }
  }
}

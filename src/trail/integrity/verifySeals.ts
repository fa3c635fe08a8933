import { GENESIS_HASH } from "./hashChain";
import { sealSignatureValid } from "../store/segments";
import { fingerprintOf } from "../trust/signing";
import type { VerifyContext } from "./verifyContext";

/**
 * The seals stage: each seal is for this trail, continues the one before it, and is signed by
 * a known key (unsigned seals of a trail without a key are only linked: a warning). Fills
 * `goodSeals`.
 */
export function checkSeals(ctx: VerifyContext): void {
  const { add, trailId } = ctx;
  let linkFrom = { seq: 0, hash: GENESIS_HASH };
  for (const seal of ctx.seals) {
    const where = `seal of segment ${seal.segment_no} (seq ${seal.first_seq}–${seal.last_seq})`;
    const key = seal.key_fingerprint ? ctx.keyFor(seal.key_fingerprint) : undefined;
    if (seal.trail_id !== trailId) add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `the ${where} was made for another trail (${seal.trail_id})` });
    else if (seal.first_seq !== linkFrom.seq + 1 || seal.first_prev_hash !== linkFrom.hash) {
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `the ${where} does not continue the previous segment (seq ${linkFrom.seq}): segments were removed, replaced or reordered` });
    } else if (!seal.signature || !seal.key_fingerprint) {
      add({ category: "SEGMENT_ALTERED", severity: "warning", seq: seal.first_seq, message: `the ${where} is not signed (the trail had no signing key): only the hash chain links it` });
      ctx.goodSeals.add(seal.segment_no);
    } else if (!key) {
      add({ category: "KEY_UNKNOWN", severity: "error", seq: seal.first_seq, message: `the ${where} is signed by key ${seal.key_fingerprint.slice(0, 16)}…, which is neither trusted nor in the trail` });
    } else if (fingerprintOf(key) !== seal.key_fingerprint || !sealSignatureValid(seal, key)) {
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `the ${where}: the signature does not verify (the seal was edited or forged)` });
    } else {
      ctx.goodSeals.add(seal.segment_no);
    }
    linkFrom = { seq: seal.last_seq, hash: seal.last_hash };
  }
}

/**
 * The pruned-segments stage (after the walk): a missing segment must be accounted for by a
 * recorded pruning and vouched for by its verified, signed seal; each pruning is reported.
 */
export function checkPrunes(ctx: VerifyContext): void {
  const { add, missing, prunes } = ctx;
  for (const seal of missing) {
    const p = prunes.find((r) => r.segments.includes(seal.segment_no));
    if (!p) {
      add({ category: "SEGMENT_MISSING", severity: "error", seq: seal.first_seq, toSeq: seal.last_seq, message: `sealed segment ${seal.segment_no} (${seal.file_name}, seq ${seal.first_seq}–${seal.last_seq}) is missing and no recorded pruning accounts for it` });
    } else if (!ctx.goodSeals.has(seal.segment_no) || !seal.signature) {
      add({ category: "SEGMENT_MISSING", severity: "error", seq: seal.first_seq, toSeq: seal.last_seq, message: `sealed segment ${seal.segment_no} was pruned but its seal does not verify, so nothing vouches for seq ${seal.first_seq}–${seal.last_seq}` });
    }
  }
  for (const p of prunes) {
    const gone = missing.filter((m) => p.segments.includes(m.segment_no));
    if (!gone.length) continue;
    add({
      category: "PRUNED",
      severity: "info",
      seq: gone[0].first_seq,
      toSeq: gone[gone.length - 1].last_seq,
      message: `PRUNED (seq ${gone[0].first_seq}–${gone[gone.length - 1].last_seq}, by ${p.key ? p.key.slice(0, 16) + "…" : "an unsigned trail"}, at ${p.time})${p.archivedTo ? `: archived to ${p.archivedTo}` : ""}; the link to it is vouched for by its signed seal`,
    });
  }
}

import type { TrailState } from "../trust/pins";
import { checkPin } from "../trust/pins";
import type { GoodCheckpoint } from "./provenanceRanges";
import { fullyVouched, provenanceRanges } from "./provenanceRanges";
import { checkpointSignatureValid } from "../trust/signing";
import { sortedCheckpoints } from "./verifyCheckpoints";
import type { Finding } from "./verifyChain";
import type { VerifyContext, VerifyReport } from "./verifyContext";
import { isVouched } from "./verifyContext";

/**
 * The trust and provenance stage (last): the user's pin of this location, checkpoints by keys
 * nobody vouches for on a trail the user knows, the anchor kept outside the trail, the unsigned
 * tail, who vouches for each range (writerProvenance.ts), and the report with its trust roots.
 */
export function trustReport(ctx: VerifyContext, good: GoodCheckpoint[]): VerifyReport {
  const { opts, add, trusted, trailId, head, findings } = ctx;
  const cps = sortedCheckpoints(ctx);
  const checkpointKeys = [...new Set(cps.map((c) => c.key_fingerprint))];
  const highestCheckpoint = cps[cps.length - 1]?.checkpoint_no ?? 0;
  const pinFindings = checkPinStage(ctx, checkpointKeys, highestCheckpoint);
  // When the trail is known to this user (a trusted key signed it, or it is pinned here), a
  // checkpoint by any other key is someone else signing their version of it. A stranger's
  // trail with keys nobody vouches for is not a finding: it is just not authenticated.
  if (ctx.vouchedBy.size || opts.pin) {
    const pinned = new Set(opts.pin?.keys ?? []);
    for (const c of cps) {
      if (!trusted.has(c.key_fingerprint) && !pinned.has(c.key_fingerprint) && ctx.keyFor(c.key_fingerprint)) {
        add({
          category: "KEY_UNKNOWN",
          severity: "error",
          checkpointNo: c.checkpoint_no,
          seq: c.seq,
          message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}) is signed by key ${c.key_fingerprint.slice(0, 16)}…, which you do not trust and which never signed this trail before: someone else signed their version of it (trust their key with "agent-audit trust add" if it is a colleague's)`,
        });
      }
    }
  }
  checkAnchor(ctx);
  if (head.seq > ctx.lastSignedSeq) {
    add({
      category: "UNSIGNED_TAIL",
      severity: "warning",
      seq: ctx.lastSignedSeq + 1,
      toSeq: head.seq,
      message: `events ${ctx.lastSignedSeq + 1}–${head.seq} are chained but not yet covered by a signed checkpoint`,
    });
  }
  const valid = !findings.some((f) => f.severity === "error");
  const before = ctx.before;
  const beforeKey = before?.key_fingerprint ?? undefined;
  const provenance = provenanceRanges({
    head: head.seq,
    lastSignedSeq: ctx.lastSignedSeq,
    checkpoints: good,
    writerStarts: ctx.writerStarts,
    trusted: new Set(trusted.keys()),
    own: opts.ownKey,
    before: before
      ? {
          to: before.last_seq,
          vouched: !!beforeKey && trusted.has(beforeKey) && ctx.goodSeals.has(before.segment_no),
          who: `vouched for by the signed seal of segment ${before.segment_no}, not re-read (--since)`,
          key: beforeKey,
        }
      : undefined,
  });
  const trustRoots: string[] = [];
  for (const fp of ctx.vouchedBy) trustRoots.push(`a key you trust (${fp.slice(0, 16)}…) signed its checkpoints`);
  if (opts.anchor && valid) trustRoots.push(`the anchor kept outside the trail (seq ${opts.anchor.checkpoint.seq})`);
  if (opts.pin?.vouched && pinFindings.length === 0) trustRoots.push(`your pin of this location (first seen ${opts.pin.first_seen.slice(0, 10)})`);
  return {
    valid,
    authenticated: valid && trustRoots.length > 0 && fullyVouched(provenance),
    trustRoots,
    trailId,
    checkpointKeys,
    events: ctx.events,
    head,
    checkpoints: highestCheckpoint,
    lastSignedSeq: ctx.lastSignedSeq,
    anchor: opts.anchor ? { seq: opts.anchor.checkpoint.seq, checkpointNo: opts.anchor.checkpoint.checkpoint_no } : undefined,
    trustedKeys: [...ctx.vouchedBy],
    findings,
    fromSeq: (ctx.before?.last_seq ?? 0) + 1,
    segments: { checked: ctx.checked, pruned: ctx.missing.length },
    provenance,
  };
}

/** The trail as verified against the user's pin of this location (pins.ts: how a pin is checked). */
function checkPinStage(ctx: VerifyContext, keys: string[], checkpoints: number): Finding[] {
  const { opts, hashAt, head } = ctx;
  const state: TrailState = {
    location: opts.location ?? "",
    trailId: ctx.trailId,
    headSeq: head.seq,
    headHash: head.hash,
    // A seq in a pruned or skipped segment is vouched for by its signed seal, not re-read.
    hashAt: (seq) => hashAt.get(seq) ?? (isVouched(ctx, seq) && opts.pin?.events === seq ? opts.pin.head_hash : undefined),
    checkpoints,
    keys,
  };
  const found = checkPin(opts.pin, state, new Set(ctx.trusted.keys())).filter((f) => f.category !== "KEY_UNKNOWN");
  for (const f of found) ctx.add(f);
  return found;
}

/** The newest checkpoint as kept outside the trail: its own signature, and the trail still holding what it signed. */
function checkAnchor(ctx: VerifyContext): void {
  const { opts, add, head, hashAt, trailId } = ctx;
  if (!opts.anchor) return;
  const a = opts.anchor.checkpoint;
  const key = opts.anchor.keys.find((k) => k.fingerprint === a.key_fingerprint)?.public_key;
  if (a.trail_id !== trailId) {
    add({ category: "TRAIL_REPLACED", severity: "error", message: `the anchor belongs to trail ${a.trail_id}, this trail is ${trailId}: it was replaced by a different file` });
  } else if (!key || !checkpointSignatureValid(a, key)) {
    add({ category: "SIGNATURE_INVALID", severity: "error", seq: a.seq, checkpointNo: a.checkpoint_no, message: "the anchor's own signature does not verify" });
  } else if (a.seq > head.seq) {
    add({ category: "TRUNCATED", severity: "error", seq: head.seq + 1, toSeq: a.seq, message: `the anchor knows ${a.seq} events; the trail ends at seq ${head.seq}: events ${head.seq + 1}–${a.seq} were removed or an older copy was restored` });
  } else if (!(isVouched(ctx, a.seq) && !hashAt.has(a.seq)) && hashAt.get(a.seq) !== a.head_hash) {
    add({ category: "ROLLBACK", severity: "error", seq: a.seq, message: `at seq ${a.seq} the trail's hash differs from the anchor's: the trail was rewritten` });
  }
}

import type { Database } from "sql.js";
import type { VerifyContext, VerifyOptions, VerifyReport } from "./verifyContext";
import { verifyContext } from "./verifyContext";
import { checkCheckpoints } from "./verifyCheckpoints";
import { checkStructure } from "./verifySchema";
import { checkPrunes, checkSeals } from "./verifySeals";
import { trustReport } from "./verifyTrust";
import { walkSegments } from "./verifyWalk";

export type { VerifyOptions, VerifyReport } from "./verifyContext";

/**
 * Checks a trail end to end and reports every problem with a category and a location:
 * recomputes each event's hash and link (never trusting stored hashes), checks every
 * checkpoint's signature and that the trail still matches what it signed, compares the trail
 * with an anchor kept outside it, and checks that the append-only triggers are intact.
 *
 * A segmented trail is walked segment by segment (each sealed file loaded, checked against
 * its signed seal, walked and released: memory holds one segment at a time), continuing the
 * chain and the Merkle tree across seals. Pruned segments are vouched for by their seals.
 */
export function verifyTrail(db: Database, opts: VerifyOptions): VerifyReport {
  const ctx = verifyContext(db, opts);
  journalFindings(ctx);
  checkStructure(db, opts.sql, "", ctx.add);
  checkSeals(ctx);
  walkSegments(ctx);
  checkPrunes(ctx);
  const good = checkCheckpoints(ctx);
  return trustReport(ctx, good);
}

/** What a read-only open found in the journal: a rollback of trail.db, or a damaged record. */
function journalFindings(ctx: VerifyContext): void {
  const { opts, add } = ctx;
  if (opts.journalRollback) {
    const { trailEndsAt, journalContinuesFrom } = opts.journalRollback;
    add({
      category: "TRUNCATED",
      severity: "error",
      seq: trailEndsAt + 1,
      toSeq: journalContinuesFrom,
      message: `trail.db ends at seq ${trailEndsAt} but its journal continues from seq ${journalContinuesFrom}: events ${trailEndsAt + 1}–${journalContinuesFrom} were removed or an older copy was restored`,
    });
  }
  if (opts.journalCorruption) {
    const { fromSeq, toSeq, offset } = opts.journalCorruption;
    add({
      category: "CORRUPT",
      severity: "error",
      seq: fromSeq,
      toSeq,
      message: `trail.journal is damaged at byte ${offset}: events from seq ${fromSeq}${toSeq > fromSeq ? ` to ${toSeq}` : ""} were written and acknowledged but fail their check; they are not counted here`,
    });
  }
}

import * as fs from "node:fs";
import type { AnchorFile } from "./anchorFile";
import { anchorPathFor, readAnchor } from "./anchorFile";
import { advancePin, canonicalLocation } from "./pins";
import { loadSqlEngine } from "./sqlEngine";
import { TrailStore } from "./trailStore";
import type { OpenReport } from "./trailStore";
import type { TrustStore } from "./trustStore";
import type { VerifyReport } from "./verifyTrail";
import { verifyTrail } from "./verifyTrail";

export interface LocatedVerification {
  report: VerifyReport;
  open: OpenReport;
  anchorFile?: string;
  /** True when this verification created or advanced the user's pin of the location. */
  pinned: boolean;
}

/**
 * Verifies the trail at `trailPath` against the user's trust store: trusted keys, the anchor
 * (looked up by the trail id the *pin* recorded, not the file's own, which a forger sets),
 * and the pin of this location. Opens read-only, even a file whose schema was edited (to
 * report it). A valid trail advances the pin (trust on first use); the same for CLI and
 * extension, so each sees what the other signed.
 */
export async function verifyAtLocation(trailPath: string, trust: TrustStore, opts: { anchorFile?: string } = {}): Promise<LocatedVerification> {
  const { store, report: open } = await TrailStore.open(trailPath, { readOnly: true, allowAlteredSchema: true });
  try {
    const location = canonicalLocation(trailPath);
    const pin = trust.pins.read(trailPath);
    const byId = anchorPathFor(trust.anchorsDir, pin?.trail_id ?? store.trailId);
    const anchorFile = opts.anchorFile ?? (fs.existsSync(byId) ? byId : undefined);
    const anchor: AnchorFile | undefined = anchorFile ? readAnchor(anchorFile) : undefined;
    const report = verifyTrail(store.database, {
      sql: await loadSqlEngine(),
      anchor,
      trustedKeys: trust.trustedKeys(),
      journalRollback: open.rollback,
      journalCorruption: open.corruption,
      pin,
      location,
    });
    let pinned = false;
    if (report.valid) {
      const state = { location, trailId: report.trailId, headSeq: report.head.seq, headHash: report.head.hash, hashAt: () => undefined, checkpoints: report.checkpoints, keys: report.checkpointKeys };
      try {
        // The pin vouches later only if something trusted vouched now (a key, the anchor).
        const vouched = report.trustRoots.some((r) => !r.startsWith("your pin"));
        trust.pins.write(advancePin(pin, state, new Date().toISOString(), vouched));
        pinned = true;
      } catch {
        /* a read-only home: the verdict stands, the pin waits */
      }
    }
    return { report, open, anchorFile, pinned };
  } finally {
    await store.close();
  }
}

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
/** What to verify beyond the defaults: an anchor file, a start (`--since`), archive folders. */
export interface VerifyAtLocationOptions {
  anchorFile?: string;
  /** Verify from the segment holding this seq on (`verify --since`); the pin is then not advanced. */
  sinceSeq?: number;
  /** Folders holding archived segments (`agent-audit archive --to DIR`), verified with the trail. */
  archiveDirs?: string[];
}

export async function verifyAtLocation(trailPath: string, trust: TrustStore, opts: VerifyAtLocationOptions = {}): Promise<LocatedVerification> {
  const { store, report: open } = await openForVerifying(trailPath);
  try {
    return await verifyOpenTrail(store, open, trust, opts);
  } finally {
    await store.close();
  }
}

/** Opens a trail the way verification needs it: read-only, even with an edited schema (to report it). */
export function openForVerifying(trailPath: string): Promise<{ store: TrailStore; report: OpenReport }> {
  return TrailStore.open(trailPath, { readOnly: true, allowAlteredSchema: true });
}

/** verifyAtLocation on a store already open (from openForVerifying), for callers that go on using it. */
export async function verifyOpenTrail(store: TrailStore, open: OpenReport, trust: TrustStore, opts: VerifyAtLocationOptions = {}): Promise<LocatedVerification> {
  const trailPath = store.path;
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
    ownKey: trust.existingSigner()?.key.fingerprint,
    segmentsDir: store.segmentsDir,
    archiveDirs: opts.archiveDirs,
    sinceSeq: opts.sinceSeq,
  });
  let pinned = false;
  // A partial verification (--since) vouches for less than the pin records: it leaves it be.
  if (report.valid && opts.sinceSeq === undefined) {
    const state = { location, trailId: report.trailId, headSeq: report.head.seq, headHash: report.head.hash, hashAt: () => undefined, checkpoints: report.checkpoints, keys: report.checkpointKeys };
    try {
      // The pin vouches later only if something trusted vouched now: a trusted key, or the anchor.
      const vouched = report.trustedKeys.length > 0 || anchor !== undefined;
      trust.pins.write(advancePin(pin, state, new Date().toISOString(), vouched));
      pinned = true;
    } catch {
      /* a read-only home: the verdict stands, the pin waits */
    }
  }
  return { report, open, anchorFile, pinned };
}

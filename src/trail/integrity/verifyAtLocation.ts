import type { AnchorFile } from "../trust/anchorFile";
import { readAnchor } from "../trust/anchorFile";
import { advancePin, canonicalLocation } from "../trust/pins";
import { loadSqlEngine } from "../store/sqlEngine";
import { TrailStore } from "../store/trailStore";
import type { OpenReport } from "../store/trailStore";
import type { TrustStore } from "../trust/trustStore";
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
  // What the user's trust store says first, then the trail: a writer appending meanwhile
  // advances the pin and anchor only after its events are on disk, so a trail read after them
  // holds at least what they name (read the other way round, a live trail reads as truncated).
  const vouching = readVouching(trailPath, trust, opts);
  const { store, report: open } = await openForVerifying(trailPath);
  try {
    return await verifyWith(store, open, trust, opts, vouching);
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
  const vouching = readVouching(store.path, trust, opts, store.trailId);
  // The store may have been opened long ago (a view's): catch up past what the pin and anchor name.
  await store.refresh();
  return verifyWith(store, open, trust, opts, vouching);
}

/** The user's pin of this location and the trail's anchor, as they are now. */
interface Vouching {
  pin: ReturnType<TrustStore["pins"]["read"]>;
  anchorFile?: string;
  anchor?: AnchorFile;
}

/**
 * The anchor is looked up by the trail id the pin recorded (a forger sets the file's own);
 * without a pin, by `trailId` when the caller knows it (else verifyWith looks it up by the
 * trail's own id once the trail is read, and catches the trail up after reading it).
 */
function readVouching(trailPath: string, trust: TrustStore, opts: VerifyAtLocationOptions, trailId?: string): Vouching {
  const pin = trust.pins.read(trailPath);
  if (opts.anchorFile) return { pin, anchorFile: opts.anchorFile, anchor: readAnchor(opts.anchorFile) };
  const id = pin?.trail_id ?? trailId;
  // Through the trust store: the id is checked before it names a file, the file's owner and mode too.
  const own = id ? trust.anchorFor(id) : undefined;
  return { pin, anchorFile: own?.file, anchor: own?.anchor };
}

async function verifyWith(store: TrailStore, open: OpenReport, trust: TrustStore, opts: VerifyAtLocationOptions, vouching: Vouching): Promise<LocatedVerification> {
  const trailPath = store.path;
  const location = canonicalLocation(trailPath);
  const { pin } = vouching;
  let { anchorFile, anchor } = vouching;
  if (!anchorFile) {
    const own = trust.anchorFor(store.trailId);
    if (own) {
      ({ file: anchorFile, anchor } = own);
      // Read after the trail: catch up past what it names.
      await store.refresh();
    }
  }
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
      // Read again: a writer may have advanced the pin past what was verified meanwhile, and a
      // pin never moves back.
      trust.pins.write(advancePin(trust.pins.read(trailPath) ?? pin, state, new Date().toISOString(), vouched));
      pinned = true;
    } catch {
      /* a read-only home: the verdict stands, the pin waits */
    }
  }
  return { report, open, anchorFile, pinned };
}

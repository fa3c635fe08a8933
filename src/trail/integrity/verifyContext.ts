import type { Database, SqlJsStatic } from "sql.js";
import type { AnchorFile } from "../trust/anchorFile";
import type { EventRecord } from "../store/eventTypes";
import { GENESIS_HASH } from "./hashChain";
import { MerkleFrontier } from "./merkle";
import type { Pin } from "../trust/pins";
import type { ProvenanceRange } from "./provenanceRanges";
import type { SealRecord } from "../store/segments";
import { readSeals } from "../store/segments";
import type { Checkpoint, PublicKeyRecord } from "../trust/signing";
import { readMeta } from "../store/trailColumns";
import type { Finding } from "./verifyChain";

export interface VerifyReport {
  valid: boolean;
  /**
   * Something outside the file vouches for it: a checkpoint signed by a key you trust, the
   * anchor, or your pin of this location. Without any, a valid trail is only *consistent*:
   * someone who rewrote it and re-hashed everything would get the same verdict.
   */
  authenticated: boolean;
  /** What vouched, in words ("a trusted key…", "the anchor…", "your pin of this location…"). */
  trustRoots: string[];
  trailId: string;
  events: number;
  head: { seq: number; hash: string };
  checkpoints: number;
  lastSignedSeq: number;
  anchor?: { seq: number; checkpointNo: number };
  /** Fingerprints of the trusted keys that signed checkpoints of this trail. */
  trustedKeys: string[];
  /** Fingerprints of every key that signed a checkpoint. */
  checkpointKeys: string[];
  findings: Finding[];
  /** Where the walk started (1, or the first seq of the segment `sinceSeq` falls in). */
  fromSeq: number;
  /** Sealed segments checked (present and walked), and those pruned. */
  segments: { checked: number; pruned: number };
  /**
   * Who vouches for each range of the trail, in seq order (writerProvenance.ts): a key vouches
   * only for what its writer appended. Any range no trusted key vouches for (the unsigned tail
   * aside) leaves the trail unauthenticated.
   */
  provenance: ProvenanceRange[];
}

export interface VerifyOptions {
  /** The trail's latest checkpoint as kept outside it. */
  anchor?: AnchorFile;
  /** Keys whose checkpoints count (the user's own key, keys from the anchor). */
  trustedKeys?: PublicKeyRecord[];
  /** To build the reference schema for the trigger check. */
  sql: SqlJsStatic;
  /** From a read-only open: the journal continues past the end of the database file. */
  journalRollback?: { trailEndsAt: number; journalContinuesFrom: number };
  /** From a read-only open: a record in the middle of the journal fails its check. */
  journalCorruption?: { fromSeq: number; toSeq: number; offset: number };
  /** Folder of the sealed segment files (segments/ beside trail.db). */
  segmentsDir?: string;
  /** More folders to look for sealed segments in (archives made with `agent-audit archive`). */
  archiveDirs?: string[];
  /** Verify only from the segment holding this seq on; the signed seal before it vouches for the rest. */
  sinceSeq?: number;
  /** The user's pin of this location (pins.ts), if any. */
  pin?: Pin;
  /** The fingerprint of the user's own key: its ranges read "yours". */
  ownKey?: string;
  /** The trail's canonical location, to advance the pin. */
  location?: string;
  maxFindings?: number;
}

/** What a `trail_pruned` event says (retention.ts writes it). */
export interface PruneRecord {
  segments: number[];
  key: string | null;
  time: string;
  archivedTo: string | null;
}

/**
 * What the stages of verifyTrail share: the options, the findings so far, the trail's
 * identity, seals and keys, and what the walk over the segments collected for the stages
 * after it (hashes and Merkle roots at signed seqs, checkpoints, tree heads, prunings,
 * missing segments, writer starts, the head it reached). Each stage reads what the stages
 * before it filled in and adds findings.
 */
export interface VerifyContext {
  readonly db: Database;
  readonly opts: VerifyOptions;
  readonly findings: Finding[];
  add(f: Finding): void;
  readonly trailId: string;
  readonly seals: SealRecord[];
  /** Keys from the user's trust store and the anchor: only these vouch. */
  readonly trusted: Map<string, string>;
  /** A key's public half: trusted first, else the trail's own keys table (the signature must verify either way). */
  keyFor(fp: string): string | undefined;
  /** Seals whose signature (or, unsigned, link) checks (seals stage). */
  goodSeals: Set<number>;
  /** Where the walk starts (--since): the index of the first segment walked, and the seal before it. */
  startIdx: number;
  before: SealRecord | undefined;
  /** Seqs whose hash (as recomputed) something signed: checkpoints, the anchor, the pin. */
  wanted: Set<number>;
  hashAt: Map<number, string>;
  /** Merkle roots at the wanted seqs, for the checkpoints' tree heads. */
  roots: Map<number, Buffer>;
  checkpoints: Map<number, Checkpoint>;
  treeHeads: Map<number, string>;
  prunes: PruneRecord[];
  missing: SealRecord[];
  /** Seqs before the walk's start or in a pruned segment: vouched for by a signed seal, not re-read. */
  vouched: { from: number; to: number }[];
  writerStarts: { seq: number; key: string }[];
  /** What the walk found: events read, segments checked, the head it reached. */
  events: number;
  checked: number;
  head: { seq: number; hash: string };
  /** Checkpoint results for the trust stage. */
  lastSignedSeq: number;
  vouchedBy: Set<string>;
}

/** The context before any stage ran. */
export function verifyContext(db: Database, opts: VerifyOptions): VerifyContext {
  const max = opts.maxFindings ?? 200;
  const findings: Finding[] = [];
  const trailId = readMeta(db).trail_id ?? "";
  const trailKeys = new Map((db.exec("SELECT fingerprint, public_key FROM keys")[0]?.values ?? []).map(([f, k]) => [String(f), String(k)]));
  const trusted = new Map((opts.trustedKeys ?? []).map((k) => [k.fingerprint, k.public_key]));
  for (const k of opts.anchor?.keys ?? []) trusted.set(k.fingerprint, k.public_key);
  return {
    db, opts, findings, trailId, trusted,
    add: (f) => {
      if (findings.length < max) findings.push(f);
    },
    seals: readSeals(db),
    keyFor: (fp) => trusted.get(fp) ?? trailKeys.get(fp),
    goodSeals: new Set(), startIdx: 0, before: undefined, wanted: new Set(), hashAt: new Map(), roots: new Map(),
    checkpoints: new Map(), treeHeads: new Map(), prunes: [], missing: [], vouched: [], writerStarts: [],
    events: 0, checked: 0, head: { seq: 0, hash: GENESIS_HASH }, lastSignedSeq: 0, vouchedBy: new Set(),
  };
}

/** A seq in a pruned or skipped segment: vouched for by its signed seal, not re-read. */
export function isVouched(ctx: VerifyContext, seq: number): boolean {
  return ctx.vouched.some((r) => seq >= r.from && seq <= r.to);
}

/** The Merkle tree's right edge a seal signed (empty when it does not parse: reported by the walk). */
export function frontierOf(seal: SealRecord): MerkleFrontier {
  try {
    return MerkleFrontier.fromJSON(seal.last_seq, JSON.parse(seal.merkle_frontier));
  } catch {
    return MerkleFrontier.empty();
  }
}

export function pruneRecordOf(e: EventRecord): PruneRecord {
  try {
    const c = JSON.parse(e.content) as { segments?: unknown; key_fingerprint?: unknown; archived_to?: unknown };
    return {
      segments: Array.isArray(c.segments) ? c.segments.map(Number) : [],
      key: typeof c.key_fingerprint === "string" ? c.key_fingerprint : null,
      time: e.timestamp,
      archivedTo: typeof c.archived_to === "string" ? c.archived_to : null,
    };
  } catch {
    return { segments: [], key: null, time: e.timestamp, archivedTo: null };
  }
}

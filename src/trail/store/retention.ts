import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDir, tempPathFor, writeFileDurably } from "./durableFile";
import { sha256Hex } from "../integrity/hashChain";
import type { SealRecord } from "./segments";
import { isStoreSegmentName, readSealedSegment, sealSignatureValid, segmentFileName } from "./segments";
import type { PublicKeyRecord } from "../trust/signing";
import { fingerprintOf } from "../trust/signing";
import { regularFileStat } from "./safeFiles";
import { TrailError } from "./trailErrors";
import type { TrailStore } from "./trailStore";

/** The session a pruning is recorded in, and its agent id (so the tree shows who did it). */
export const RETENTION_AGENT_ID = "agent-audit-retention";

export interface PruneOptions {
  /** Sealed segments whose seal is older than this (so are all their events) go. */
  before: Date;
  /** Move them here instead of deleting them (`archive`): each file and its seal as JSON. */
  archiveTo?: string;
  user?: string;
  /** Keys whose seals count (the user's trust store); default: the store's own signing key. */
  trustedKeys?: PublicKeyRecord[];
}

export interface PruneResult {
  segments: SealRecord[];
  /** Why segments sealed before the date were kept (unsigned seal, file already gone). */
  kept: string[];
  archivedTo?: string;
}

/**
 * Retention: removes (or moves) whole sealed segments sealed before `before`. Only what is
 * sealed *and* signed goes, so the link from what remains to the past is vouched for by a
 * signed seal; the active segment never goes. The pruning is itself recorded first (a
 * session with a `trail_pruned` event, then a signed checkpoint), and only then are the
 * files removed: a crash in between leaves files that verify still checks.
 */
export async function pruneSegments(store: TrailStore, opts: PruneOptions): Promise<PruneResult> {
  if (!store.signerKey) throw new TrailError("NO_SIGNING_KEY", "Pruning needs the signing key: the seals of what remains must be signed by it");
  await store.refresh();
  const cutoff = opts.before.toISOString();
  const kept: string[] = [];
  const chosen: SealRecord[] = [];
  // A seal is a row of the trail file: in a cloned repository every field is someone else's.
  // Only a file the store named, in segments/, sealed under a signature a trusted key made, goes.
  const trusted = new Map((opts.trustedKeys ?? [store.signerKey]).map((k) => [k.fingerprint, k.public_key]));
  for (const seal of store.seals) {
    // Seals are in seq order, their times too (the store never dates one before the event
    // before it). Nothing after a segment that stays goes: what remains is always a whole
    // suffix of the trail, whatever a clock or a hostile seal says.
    if (seal.sealed_at >= cutoff) break;
    const no = seal.segment_no;
    if (!isStoreSegmentName(seal)) {
      kept.push(`segment ${no}: its file name ${JSON.stringify(String(seal.file_name).slice(0, 200))} is not one the store makes (${Number.isSafeInteger(no) && no > 0 ? segmentFileName(no) : "seg-NNNNNN.db"}): the trail was edited; nothing was done with that path`);
      break;
    }
    if (!regularFileStat(path.join(store.segmentsDir, seal.file_name))) continue; // pruned before
    const key = seal.key_fingerprint ? trusted.get(seal.key_fingerprint) : undefined;
    if (!seal.signature || !seal.checkpoint_no || !seal.key_fingerprint) {
      kept.push(`segment ${no}: its seal is not signed (the trail had no signing key when it was sealed)`);
      break;
    }
    if (!key) {
      kept.push(`segment ${no}: its seal is not signed by a key you trust (signed by ${seal.key_fingerprint.slice(0, 16)}…); if it is a colleague's, trust it first with "agent-audit trust add"`);
      break;
    }
    if (fingerprintOf(key) !== seal.key_fingerprint || !sealSignatureValid(seal, key) || seal.trail_id !== store.trailId) {
      kept.push(`segment ${no}: its seal's signature does not verify (the seal was edited or forged); run "agent-audit verify"`);
      break;
    }
    const found = readSealedSegment(store.segmentsDir, seal);
    if (!found?.bytes || sha256Hex(found.bytes) !== seal.file_sha256) {
      kept.push(`segment ${no}: ${found?.file ?? seal.file_name} differs from its seal (edited?); run "agent-audit verify"`);
      break;
    }
    chosen.push(seal);
  }
  if (kept.length) kept.push("the segments after it are kept too: prune removes only the oldest segments, in order, so what remains is never missing a middle");
  if (!chosen.length) return { segments: [], kept };
  store.releaseSegments();

  let archivedTo: string | undefined;
  if (opts.archiveTo) {
    archivedTo = path.resolve(opts.archiveTo);
    fs.mkdirSync(archivedTo, { recursive: true });
    for (const seal of chosen) await archiveOne(store, seal, archivedTo);
  }

  const sessionId = `retention-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const base = { session_id: sessionId, agent_id: RETENTION_AGENT_ID, user_id: opts.user ?? "" };
  const first = chosen[0].first_seq;
  const last = chosen[chosen.length - 1].last_seq;
  const what = `${chosen.length === 1 ? "segment" : "segments"} ${chosen.map((s) => s.segment_no).join(", ")} (seq ${first}–${last})`;
  await store.append({ ...base, event_type: "session_start", content: { task: `${archivedTo ? "Archive" : "Prune"} ${what}, sealed before ${cutoff}` } });
  await store.append({
    ...base,
    event_type: "trail_pruned",
    step_number: 1,
    content: {
      segments: chosen.map((s) => s.segment_no),
      first_seq: first,
      last_seq: last,
      before: cutoff,
      archived_to: archivedTo ?? null,
      key_fingerprint: store.signerKey.fingerprint,
      files: chosen.map((s) => ({ name: s.file_name, sha256: s.file_sha256, bytes: s.bytes })),
    },
  });
  await store.append({ ...base, event_type: "session_end", step_number: 1, content: { outcome: "completed", final_text: `${archivedTo ? "Archived" : "Pruned"} ${what}` } });
  await store.checkpointNow();
  await store.flush();

  for (const seal of chosen) fs.rmSync(path.join(store.segmentsDir, seal.file_name), { force: true });
  fsyncDir(store.segmentsDir);
  return { segments: chosen, kept, archivedTo };
}

/** Copies a segment and its seal (JSON) into `dir`, durably, and checks the copy. */
async function archiveOne(store: TrailStore, seal: SealRecord, dir: string): Promise<void> {
  const target = path.join(dir, seal.file_name); // a name the store makes (checked above)
  const bytes = readSealedSegment(store.segmentsDir, seal)?.bytes;
  if (!bytes) throw new TrailError("IO", `${path.join(store.segmentsDir, seal.file_name)} changed while it was being archived; nothing was pruned`);
  if (!fs.existsSync(target) || sha256Hex(fs.readFileSync(target)) !== seal.file_sha256) {
    const tmp = tempPathFor(target);
    try {
      await writeFileDurably(tmp, bytes);
      fs.renameSync(tmp, target);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const sealFile = path.join(dir, sealFileName(seal));
  const key = store.database.exec("SELECT fingerprint, algorithm, public_key FROM keys WHERE fingerprint = ?", [seal.key_fingerprint])[0]?.values[0];
  const json = JSON.stringify({ format: "agent-audit-seal/1", seal, key: key ? { fingerprint: key[0], algorithm: key[1], public_key: key[2] } : null }, null, 2) + "\n";
  const tmp = tempPathFor(sealFile);
  try {
    await writeFileDurably(tmp, Buffer.from(json));
    fs.renameSync(tmp, sealFile);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
  if (sha256Hex(fs.readFileSync(target)) !== seal.file_sha256) {
    throw new TrailError("IO", `The archived copy ${target} differs from the segment; nothing was pruned`, target);
  }
}

/** `seg-000001.db` → `seg-000001.seal.json`: the seal kept beside an archived segment. */
export function sealFileName(seal: Pick<SealRecord, "file_name">): string {
  return seal.file_name.replace(/\.db$/, ".seal.json");
}

import * as fs from "node:fs";
import * as path from "node:path";
import { mkdirDurable, writeFileAtomic } from "../store/durableFile";
import { checkTrailId, checkTrustStorePath, readTrustStoreFile } from "../store/safeFiles";
import type { Checkpoint, PublicKeyRecord } from "./signing";

export const ANCHOR_FORMAT = "agent-audit-anchor/1";

/**
 * The latest checkpoint of a trail, kept outside the workspace (the extension's global
 * storage, the CLI's config folder, or wherever a user copies it). Truncating the trail or
 * restoring an older copy cannot change it, so verify compares the trail against it.
 * It also remembers every public key that signed one of its checkpoints (rotation).
 */
export interface AnchorFile {
  format: typeof ANCHOR_FORMAT;
  trail_id: string;
  checkpoint: Checkpoint;
  keys: PublicKeyRecord[];
  /** The checkpoint's Merkle tree head as a C2SP signed note (a standard tlog-checkpoint). */
  tree_note?: string;
}

/** anchors/<trail_id>.json; refused for an id that is not one the store makes (it comes from a trail file). */
export function anchorPathFor(dir: string, trailId: string): string {
  checkTrailId(trailId, `the anchor of trail ${JSON.stringify(String(trailId).slice(0, 200))}`);
  return path.join(dir, `${trailId}.json`);
}

/** Reads an anchor file (or its already read `text`); throws an error naming the file when it is not one. */
export function readAnchor(file: string, text?: string): AnchorFile {
  let parsed: AnchorFile;
  try {
    parsed = JSON.parse(text ?? fs.readFileSync(file, "utf8")) as AnchorFile;
  } catch (err) {
    throw new Error(`Cannot read anchor ${file}: ${(err as Error).message}`);
  }
  if (parsed?.format !== ANCHOR_FORMAT || !parsed.checkpoint || !Array.isArray(parsed.keys)) {
    throw new Error(`${file} is not an Agent Audit anchor (expected format ${ANCHOR_FORMAT})`);
  }
  return parsed;
}

/** Records `checkpoint` as the trail's latest, never moving backwards; keeps all keys seen. */
export function updateAnchor(dir: string, checkpoint: Checkpoint, key: PublicKeyRecord, treeNote?: string): void {
  const file = anchorPathFor(dir, checkpoint.trail_id);
  // A folder or file another user could write is not written to either: the error is logged.
  checkTrustStorePath(dir);
  const text = readTrustStoreFile(file)?.toString("utf8");
  let current: AnchorFile | undefined;
  try {
    current = text === undefined ? undefined : readAnchor(file, text);
  } catch {
    current = undefined; // an unreadable anchor is replaced by a good one
  }
  if (current && current.checkpoint.seq > checkpoint.seq) return;
  const keys = current?.keys ?? [];
  if (!keys.some((k) => k.fingerprint === key.fingerprint)) keys.push(key);
  const next: AnchorFile = { format: ANCHOR_FORMAT, trail_id: checkpoint.trail_id, checkpoint, keys, ...(treeNote ? { tree_note: treeNote } : {}) };
  mkdirDurable(dir, 0o700);
  writeFileAtomic(file, Buffer.from(JSON.stringify(next, null, 2) + "\n"));
}

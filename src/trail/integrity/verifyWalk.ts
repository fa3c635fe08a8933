import type { Database } from "sql.js";
import type { EventRecord } from "../store/eventTypes";
import { GENESIS_HASH, sha256Hex } from "./hashChain";
import { leafHash, MerkleFrontier } from "./merkle";
import type { SealRecord } from "../store/segments";
import { readSealedSegment, segmentBase } from "../store/segments";
import { readCheckpoints, readMeta, readTreeHeads } from "../store/trailColumns";
import { checkBlobs, walkChain } from "./verifyChain";
import type { VerifyContext } from "./verifyContext";
import { frontierOf, pruneRecordOf } from "./verifyContext";
import { checkStructure } from "./verifySchema";
import { WRITER_START, writerStartKey } from "./writerProvenance";

/**
 * The chain and Merkle tree stage: the segments walked in order (each sealed file loaded,
 * checked against its signed seal, walked and released: memory holds one at a time), then the
 * active segment, recomputing every hash and link and the Merkle tree across seals. Each loaded
 * segment also gets the schema and blobs stages. Collects what later stages compare: hashes
 * and roots at signed seqs, checkpoints, tree heads, prunings, writer starts, missing segments.
 */
export function walkSegments(ctx: VerifyContext): void {
  const { opts, seals, add, trailId } = ctx;
  if (opts.sinceSeq !== undefined) {
    ctx.startIdx = seals.findIndex((s) => s.last_seq >= opts.sinceSeq!);
    if (ctx.startIdx < 0) ctx.startIdx = seals.length;
  }
  const before = ctx.startIdx > 0 ? seals[ctx.startIdx - 1] : undefined;
  ctx.before = before;
  let from = before ? { seq: before.last_seq, hash: before.last_hash } : { seq: 0, hash: GENESIS_HASH };
  let frontier = before ? frontierOf(before) : MerkleFrontier.empty();
  const anchorSeq = opts.anchor?.checkpoint.seq;
  if (anchorSeq !== undefined) ctx.wanted.add(anchorSeq);
  if (opts.pin) ctx.wanted.add(opts.pin.events);
  if (before) ctx.vouched.push({ from: 1, to: before.last_seq });

  const onEvent = (e: EventRecord, text: string, prevHash: string) => {
    frontier.append(leafHash(text));
    if (e.event_type === WRITER_START) {
      const key = writerStartKey({ ...e, prev_hash: prevHash }, trailId, ctx.keyFor);
      if (key) ctx.writerStarts.push({ seq: e.seq, key });
    }
    if (ctx.wanted.has(e.seq)) ctx.roots.set(e.seq, frontier.root());
    if (e.event_type === "trail_pruned") ctx.prunes.push(pruneRecordOf(e));
  };
  /**
   * The walk goes on from what the seal signed: the next segment's first checkpoint (a copy of
   * this one's last) is checked against it, and one damaged segment is reported once instead
   * of breaking every later link.
   */
  const atSeal = (seal: SealRecord) => {
    frontier = frontierOf(seal);
    from = { seq: seal.last_seq, hash: seal.last_hash };
    if (!ctx.hashAt.has(seal.last_seq)) ctx.hashAt.set(seal.last_seq, seal.last_hash);
    if (!ctx.roots.has(seal.last_seq)) ctx.roots.set(seal.last_seq, frontier.root());
  };
  if (before) atSeal(before);
  for (const seal of seals.slice(ctx.startIdx)) {
    const label = `segment ${seal.segment_no}: `;
    const loaded = loadSegment(seal, [opts.segmentsDir, ...(opts.archiveDirs ?? [])]);
    if (!loaded) {
      ctx.missing.push(seal);
      ctx.vouched.push({ from: seal.first_seq, to: seal.last_seq });
      atSeal(seal);
      continue;
    }
    ctx.checked++;
    if (!loaded.bytes) {
      // Not read: a file of another size is not the one sealed (and may be any size at all).
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, toSeq: seal.last_seq, message: `${loaded.file} is ${loaded.size} bytes, its seal says ${seal.bytes}: it is not the file that was sealed (not read)` });
      atSeal(seal);
      continue;
    }
    const segDb = new opts.sql.Database(loaded.bytes);
    try {
      if (sha256Hex(loaded.bytes) !== seal.file_sha256) {
        add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, toSeq: seal.last_seq, message: `${loaded.file} is not the file that was sealed (its SHA-256 differs from the signed seal): it was edited after sealing` });
      }
      checkStructure(segDb, opts.sql, label, add);
      if (readMeta(segDb).trail_id !== trailId) add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `${label}belongs to another trail` });
      collect(ctx, segDb, label);
      const chain = walkChain(segDb, ctx.wanted, ctx.hashAt, add, onEvent, from);
      ctx.events += chain.events;
      if (chain.headSeq !== seal.last_seq || chain.headHash !== seal.last_hash) {
        add({ category: "SEGMENT_ALTERED", severity: "error", seq: Math.min(chain.headSeq + 1, seal.last_seq), toSeq: seal.last_seq, message: `${label}ends at seq ${chain.headSeq}, its seal at seq ${seal.last_seq}: events were removed or changed after sealing` });
      }
      if (JSON.stringify(frontier.toJSON()) !== seal.merkle_frontier) {
        add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, toSeq: seal.last_seq, message: `${label}its events' Merkle tree differs from the one its seal signed` });
      }
      checkBlobs(segDb, add);
    } finally {
      segDb.close();
    }
    atSeal(seal);
  }
  const db = ctx.db;
  const last = seals[seals.length - 1];
  const base = segmentBase(db);
  if (base.seq !== (last?.last_seq ?? 0) || base.hash !== (last?.last_hash ?? GENESIS_HASH)) {
    add({ category: "SEGMENT_ALTERED", severity: "error", seq: base.seq + 1, message: `trail.db starts after seq ${base.seq}, where no seal ends: segments were removed or replaced` });
  }
  collect(ctx, db, "");
  const chain = walkChain(db, ctx.wanted, ctx.hashAt, add, onEvent, from);
  ctx.events += chain.events;
  ctx.head = { seq: chain.headSeq, hash: chain.headHash };
  checkBlobs(db, add);
}

/** A segment's checkpoints and tree heads, for the checkpoints stage; a copy that differs from the segment before's is reported. */
function collect(ctx: VerifyContext, segDb: Database, label: string): void {
  for (const c of readCheckpoints(segDb)) {
    const known = ctx.checkpoints.get(c.checkpoint_no);
    if (known && JSON.stringify(known) !== JSON.stringify(c)) {
      ctx.add({ category: "SIGNATURE_INVALID", severity: "error", checkpointNo: c.checkpoint_no, seq: c.seq, message: `${label}holds a different checkpoint ${c.checkpoint_no} than the segment before it` });
    }
    ctx.checkpoints.set(c.checkpoint_no, c);
    ctx.wanted.add(c.seq);
  }
  for (const [no, note] of readTreeHeads(segDb)) ctx.treeHeads.set(no, note);
}

/** A sealed segment's file from the first folder that has it (see readSealedSegment: links, special files and other names are refused). */
function loadSegment(seal: SealRecord, dirs: (string | undefined)[]): { file: string; size: number; bytes?: Buffer } | undefined {
  for (const dir of dirs) {
    if (!dir) continue;
    const found = readSealedSegment(dir, seal);
    if (found) return found;
  }
  return undefined;
}

import type { Database, SqlJsStatic } from "sql.js";
import type { AnchorFile } from "./anchorFile";
import type { Pin, TrailState } from "./pins";
import { checkPin } from "./pins";
import { schemaDifferences } from "./schemaCheck";
import { openNote, parseCheckpoint, parseVerifierKey } from "./evidenceVerifier";
import { leafHash, MerkleFrontier } from "./merkle";
import type { SealRecord } from "./segments";
import { readSealedSegment, readSeals, sealSignatureValid, segmentBase } from "./segments";
import { GENESIS_HASH, sha256Hex } from "./hashChain";
import { noteVerifierKey, trailOrigin } from "./signedNote";
import type { Checkpoint, PublicKeyRecord } from "./signing";
import { checkpointSignatureValid, fingerprintOf } from "./signing";
import type { Finding } from "./verifyChain";
import { checkBlobs, walkChain } from "./verifyChain";
import type { EventRecord } from "./eventTypes";
import type { GoodCheckpoint, ProvenanceRange } from "./provenanceRanges";
import { fullyVouched, provenanceRanges } from "./provenanceRanges";
import { noteVouchesFrom, WRITER_START, writerStartKey } from "./writerProvenance";

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
  const max = opts.maxFindings ?? 200;
  const findings: Finding[] = [];
  const add = (f: Finding) => {
    if (findings.length < max) findings.push(f);
  };

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
  checkStructure(db, opts.sql, "", add);

  const meta = readMeta(db);
  const trailId = meta.trail_id ?? "";
  const seals = readSeals(db);

  // A key's public half comes from the user's trust store or the anchor first, else from the
  // trail's own keys table. Either way the signature must verify; but only a trusted key (or
  // one pinned for this location) vouches for the trail: a keys table is the forger's to fill.
  const trailKeys = new Map((db.exec("SELECT fingerprint, public_key FROM keys")[0]?.values ?? []).map(([f, k]) => [String(f), String(k)]));
  const trusted = new Map((opts.trustedKeys ?? []).map((k) => [k.fingerprint, k.public_key]));
  for (const k of opts.anchor?.keys ?? []) trusted.set(k.fingerprint, k.public_key);
  const keyFor = (fp: string): string | undefined => trusted.get(fp) ?? trailKeys.get(fp);

  // ---- the seals ---------------------------------------------------------------------------
  const goodSeals = new Set<number>();
  let linkFrom = { seq: 0, hash: GENESIS_HASH };
  for (const seal of seals) {
    const where = `seal of segment ${seal.segment_no} (seq ${seal.first_seq}–${seal.last_seq})`;
    const key = seal.key_fingerprint ? keyFor(seal.key_fingerprint) : undefined;
    if (seal.trail_id !== trailId) add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `the ${where} was made for another trail (${seal.trail_id})` });
    else if (seal.first_seq !== linkFrom.seq + 1 || seal.first_prev_hash !== linkFrom.hash) {
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `the ${where} does not continue the previous segment (seq ${linkFrom.seq}): segments were removed, replaced or reordered` });
    } else if (!seal.signature || !seal.key_fingerprint) {
      add({ category: "SEGMENT_ALTERED", severity: "warning", seq: seal.first_seq, message: `the ${where} is not signed (the trail had no signing key): only the hash chain links it` });
      goodSeals.add(seal.segment_no);
    } else if (!key) {
      add({ category: "KEY_UNKNOWN", severity: "error", seq: seal.first_seq, message: `the ${where} is signed by key ${seal.key_fingerprint.slice(0, 16)}…, which is neither trusted nor in the trail` });
    } else if (fingerprintOf(key) !== seal.key_fingerprint || !sealSignatureValid(seal, key)) {
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `the ${where}: the signature does not verify (the seal was edited or forged)` });
    } else {
      goodSeals.add(seal.segment_no);
    }
    linkFrom = { seq: seal.last_seq, hash: seal.last_hash };
  }

  // ---- where to start ------------------------------------------------------------------------
  let startIdx = 0;
  if (opts.sinceSeq !== undefined) {
    startIdx = seals.findIndex((s) => s.last_seq >= opts.sinceSeq!);
    if (startIdx < 0) startIdx = seals.length;
  }
  const before = startIdx > 0 ? seals[startIdx - 1] : undefined;
  let from = before ? { seq: before.last_seq, hash: before.last_hash } : { seq: 0, hash: GENESIS_HASH };
  let frontier = before ? frontierOf(before) : MerkleFrontier.empty();
  const fromSeq = from.seq + 1;

  const anchorSeq = opts.anchor?.checkpoint.seq;
  // Hashes (as recomputed) at the seqs something signed: checkpoints, the anchor, the pin.
  const wanted = new Set<number>();
  if (anchorSeq !== undefined) wanted.add(anchorSeq);
  if (opts.pin) wanted.add(opts.pin.events);
  const hashAt = new Map<number, string>();
  /** Merkle roots at the wanted seqs, for the checkpoints' tree heads. */
  const roots = new Map<number, Buffer>();
  const checkpoints = new Map<number, Checkpoint>();
  const treeHeads = new Map<number, string>();
  const prunes: PruneRecord[] = [];
  const missing: SealRecord[] = [];
  let checked = 0;
  /** Seqs before the walk's start or in a pruned segment: vouched for by a signed seal, not re-read. */
  const vouched: { from: number; to: number }[] = [];
  if (before) vouched.push({ from: 1, to: before.last_seq });

  const writerStarts: { seq: number; key: string }[] = [];
  const onEvent = (e: EventRecord, text: string, prevHash: string) => {
    frontier.append(leafHash(text));
    if (e.event_type === WRITER_START) {
      const key = writerStartKey({ ...e, prev_hash: prevHash }, trailId, keyFor);
      if (key) writerStarts.push({ seq: e.seq, key });
    }
    if (wanted.has(e.seq)) roots.set(e.seq, frontier.root());
    if (e.event_type === "trail_pruned") prunes.push(pruneRecordOf(e));
  };
  const collect = (segDb: Database, label: string) => {
    for (const c of readCheckpoints(segDb)) {
      const known = checkpoints.get(c.checkpoint_no);
      if (known && JSON.stringify(known) !== JSON.stringify(c)) {
        add({ category: "SIGNATURE_INVALID", severity: "error", checkpointNo: c.checkpoint_no, seq: c.seq, message: `${label}holds a different checkpoint ${c.checkpoint_no} than the segment before it` });
      }
      checkpoints.set(c.checkpoint_no, c);
      wanted.add(c.seq);
    }
    for (const [no, note] of readTreeHeads(segDb)) treeHeads.set(no, note);
  };

  /**
   * The walk goes on from what the seal signed: the next segment's first checkpoint (a copy of
   * this one's last) is checked against it, and one damaged segment is reported once instead
   * of breaking every later link.
   */
  const atSeal = (seal: SealRecord) => {
    frontier = frontierOf(seal);
    from = { seq: seal.last_seq, hash: seal.last_hash };
    if (!hashAt.has(seal.last_seq)) hashAt.set(seal.last_seq, seal.last_hash);
    if (!roots.has(seal.last_seq)) roots.set(seal.last_seq, frontier.root());
  };
  if (before) atSeal(before);
  let events = 0;
  for (const seal of seals.slice(startIdx)) {
    const label = `segment ${seal.segment_no}: `;
    const loaded = loadSegment(seal, [opts.segmentsDir, ...(opts.archiveDirs ?? [])]);
    if (!loaded) {
      missing.push(seal);
      vouched.push({ from: seal.first_seq, to: seal.last_seq });
      atSeal(seal);
      continue;
    }
    checked++;
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
      collect(segDb, label);
      const chain = walkChain(segDb, wanted, hashAt, add, onEvent, from);
      events += chain.events;
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
  const base = segmentBase(db);
  if (base.seq !== (seals[seals.length - 1]?.last_seq ?? 0) || base.hash !== (seals[seals.length - 1]?.last_hash ?? GENESIS_HASH)) {
    add({ category: "SEGMENT_ALTERED", severity: "error", seq: base.seq + 1, message: `trail.db starts after seq ${base.seq}, where no seal ends: segments were removed or replaced` });
  }
  collect(db, "");
  const chain = walkChain(db, wanted, hashAt, add, onEvent, from);
  events += chain.events;
  checkBlobs(db, add);
  const isVouched = (seq: number) => vouched.some((r) => seq >= r.from && seq <= r.to);

  // ---- pruned segments -----------------------------------------------------------------------
  for (const seal of missing) {
    const p = prunes.find((r) => r.segments.includes(seal.segment_no));
    if (!p) {
      add({ category: "SEGMENT_MISSING", severity: "error", seq: seal.first_seq, toSeq: seal.last_seq, message: `sealed segment ${seal.segment_no} (${seal.file_name}, seq ${seal.first_seq}–${seal.last_seq}) is missing and no recorded pruning accounts for it` });
    } else if (!goodSeals.has(seal.segment_no) || !seal.signature) {
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

  // ---- checkpoints ------------------------------------------------------------------------
  const cps = [...checkpoints.values()].sort((a, b) => a.checkpoint_no - b.checkpoint_no);
  // Checkpoints signed while a pruned or skipped segment was active are gone with it.
  const absentNos = (no: number) => {
    const prev = (s: SealRecord) => seals.find((x) => x.segment_no === s.segment_no - 1)?.checkpoint_no ?? 0;
    return [...missing, ...seals.slice(0, startIdx)].some((s) => no > prev(s) && no <= s.checkpoint_no);
  };
  let lastSignedSeq = before ? before.last_seq : 0;
  let expectedNo = 1;
  const vouchedBy = new Set<string>();
  const good: GoodCheckpoint[] = [];
  for (const c of cps) {
    const where = { checkpointNo: c.checkpoint_no, seq: c.seq };
    if (c.checkpoint_no !== expectedNo) {
      let first = expectedNo;
      while (first < c.checkpoint_no && absentNos(first)) first++;
      if (first < c.checkpoint_no) add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoints ${first}–${c.checkpoint_no - 1} are missing` });
    }
    expectedNo = c.checkpoint_no + 1;
    const key = keyFor(c.key_fingerprint);
    if (!key) {
      add({ category: "KEY_UNKNOWN", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}) is signed by key ${c.key_fingerprint.slice(0, 16)}…, which is neither trusted nor in the trail` });
      continue;
    }
    if (fingerprintOf(key) !== c.key_fingerprint || !checkpointSignatureValid(c, key)) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}): the signature does not verify` });
      continue;
    }
    if (c.trail_id !== trailId) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} was signed for another trail (${c.trail_id})` });
      continue;
    }
    const actual = hashAt.get(c.seq);
    if (actual === undefined) {
      add({ category: "TRUNCATED", severity: "error", seq: chain.headSeq + 1, toSeq: c.seq, checkpointNo: c.checkpoint_no, message: `checkpoint ${c.checkpoint_no} signed ${c.seq} events; the trail has only ${chain.headSeq}` });
      continue;
    }
    if (actual !== c.head_hash) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `the trail up to seq ${c.seq} is not what checkpoint ${c.checkpoint_no} signed: events at or before seq ${c.seq} were changed and re-hashed` });
      continue;
    }
    lastSignedSeq = Math.max(lastSignedSeq, c.seq);
    if (trusted.has(c.key_fingerprint)) vouchedBy.add(c.key_fingerprint);
    good.push({ seq: c.seq, key: c.key_fingerprint, vouchesFrom: noteVouchesFrom(treeHeads.get(c.checkpoint_no), trailOrigin(trailId), key, c.seq) });
  }
  for (const seal of seals) if (seal.key_fingerprint && trusted.has(seal.key_fingerprint) && goodSeals.has(seal.segment_no)) vouchedBy.add(seal.key_fingerprint);
  const checkpointKeys = [...new Set(cps.map((c) => c.key_fingerprint))];
  // Damage the chain walk already found makes every later tree head differ too: say it once.
  const firstDamage = Math.min(...findings.filter((f) => ["HASH_MISMATCH", "CHAIN_BREAK", "SEQ_GAP"].includes(f.category)).map((f) => f.seq ?? Infinity));
  checkTreeHeads(treeHeads, checkpoints, keyFor, trailId, (seq) => roots.get(seq), firstDamage, add);

  // ---- the pin of this location -------------------------------------------------------------
  const highestCheckpoint = cps[cps.length - 1]?.checkpoint_no ?? 0;
  const state: TrailState = {
    location: opts.location ?? "",
    trailId,
    headSeq: chain.headSeq,
    headHash: chain.headHash,
    // A seq in a pruned or skipped segment is vouched for by its signed seal, not re-read.
    hashAt: (seq) => hashAt.get(seq) ?? (isVouched(seq) && opts.pin?.events === seq ? opts.pin.head_hash : undefined),
    checkpoints: highestCheckpoint,
    keys: checkpointKeys,
  };
  const pinFindings = checkPin(opts.pin, state, new Set(trusted.keys())).filter((f) => f.category !== "KEY_UNKNOWN");
  for (const f of pinFindings) add(f);
  // When the trail is known to this user (a trusted key signed it, or it is pinned here), a
  // checkpoint by any other key is someone else signing their version of it. A stranger's
  // trail with keys nobody vouches for is not a finding: it is just not authenticated.
  if (vouchedBy.size || opts.pin) {
    const pinned = new Set(opts.pin?.keys ?? []);
    for (const c of cps) {
      if (!trusted.has(c.key_fingerprint) && !pinned.has(c.key_fingerprint) && keyFor(c.key_fingerprint)) {
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

  // ---- the anchor outside the trail --------------------------------------------------------
  if (opts.anchor) {
    const a = opts.anchor.checkpoint;
    const key = opts.anchor.keys.find((k) => k.fingerprint === a.key_fingerprint)?.public_key;
    if (a.trail_id !== trailId) {
      add({ category: "TRAIL_REPLACED", severity: "error", message: `the anchor belongs to trail ${a.trail_id}, this trail is ${trailId}: it was replaced by a different file` });
    } else if (!key || !checkpointSignatureValid(a, key)) {
      add({ category: "SIGNATURE_INVALID", severity: "error", seq: a.seq, checkpointNo: a.checkpoint_no, message: "the anchor's own signature does not verify" });
    } else if (a.seq > chain.headSeq) {
      add({ category: "TRUNCATED", severity: "error", seq: chain.headSeq + 1, toSeq: a.seq, message: `the anchor knows ${a.seq} events; the trail ends at seq ${chain.headSeq}: events ${chain.headSeq + 1}–${a.seq} were removed or an older copy was restored` });
    } else if (!(isVouched(a.seq) && !hashAt.has(a.seq)) && hashAt.get(a.seq) !== a.head_hash) {
      add({ category: "ROLLBACK", severity: "error", seq: a.seq, message: `at seq ${a.seq} the trail's hash differs from the anchor's: the trail was rewritten` });
    }
  }

  if (chain.headSeq > lastSignedSeq) {
    add({
      category: "UNSIGNED_TAIL",
      severity: "warning",
      seq: lastSignedSeq + 1,
      toSeq: chain.headSeq,
      message: `events ${lastSignedSeq + 1}–${chain.headSeq} are chained but not yet covered by a signed checkpoint`,
    });
  }
  const valid = !findings.some((f) => f.severity === "error");
  const beforeKey = before?.key_fingerprint ?? undefined;
  const provenance = provenanceRanges({
    head: chain.headSeq,
    lastSignedSeq,
    checkpoints: good,
    writerStarts,
    trusted: new Set(trusted.keys()),
    own: opts.ownKey,
    before: before
      ? {
          to: before.last_seq,
          vouched: !!beforeKey && trusted.has(beforeKey) && goodSeals.has(before.segment_no),
          who: `vouched for by the signed seal of segment ${before.segment_no}, not re-read (--since)`,
          key: beforeKey,
        }
      : undefined,
  });
  const trustRoots: string[] = [];
  for (const fp of vouchedBy) trustRoots.push(`a key you trust (${fp.slice(0, 16)}…) signed its checkpoints`);
  if (opts.anchor && valid) trustRoots.push(`the anchor kept outside the trail (seq ${opts.anchor.checkpoint.seq})`);
  if (opts.pin?.vouched && pinFindings.length === 0) trustRoots.push(`your pin of this location (first seen ${opts.pin.first_seen.slice(0, 10)})`);
  return {
    valid,
    authenticated: valid && trustRoots.length > 0 && fullyVouched(provenance),
    trustRoots,
    trailId,
    checkpointKeys,
    events,
    head: { seq: chain.headSeq, hash: chain.headHash },
    checkpoints: highestCheckpoint,
    lastSignedSeq,
    anchor: opts.anchor ? { seq: opts.anchor.checkpoint.seq, checkpointNo: opts.anchor.checkpoint.checkpoint_no } : undefined,
    trustedKeys: [...vouchedBy],
    findings,
    fromSeq,
    segments: { checked, pruned: missing.length },
    provenance,
  };
}

/** What a `trail_pruned` event says (retention.ts writes it). */
interface PruneRecord {
  segments: number[];
  key: string | null;
  time: string;
  archivedTo: string | null;
}

function pruneRecordOf(e: EventRecord): PruneRecord {
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

function frontierOf(seal: SealRecord): MerkleFrontier {
  try {
    return MerkleFrontier.fromJSON(seal.last_seq, JSON.parse(seal.merkle_frontier));
  } catch {
    return MerkleFrontier.empty();
  }
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

function readMeta(db: Database): Record<string, string> {
  return Object.fromEntries((db.exec("SELECT key, value FROM meta")[0]?.values ?? []).map(([k, v]) => [String(k), String(v)]));
}

/** The schema (triggers, views, columns) and SQLite's own structural check, for one segment. */
function checkStructure(db: Database, sql: SqlJsStatic, label: string, add: (f: Finding) => void): void {
  const schema = schemaDifferences(db, sql);
  const triggers = schema.filter((d) => d.type === "trigger");
  if (triggers.length) {
    add({ category: "TRIGGERS_MISSING", severity: "error", message: `${label}append-only triggers dropped or altered: ${triggers.map((d) => d.name).join(", ")}` });
  }
  for (const d of schema.filter((x) => x.type !== "trigger")) {
    add({ category: "SCHEMA_ALTERED", severity: "error", message: `${label}${d.type} ${d.name} is ${d.problem === "altered" ? "not as this version's schema defines it" : d.problem === "missing" ? "missing" : "not part of the schema"}: queries through it could show something other than the events` });
  }
  const quick = db.exec("PRAGMA quick_check")[0]?.values.map((r) => String(r[0])) ?? [];
  if (quick.length !== 1 || quick[0] !== "ok") {
    add({ category: "CORRUPT", severity: "error", message: `${label}SQLite reports damage: ${quick.slice(0, 3).join("; ")}` });
  }
}

function readTreeHeads(db: Database): [number, string][] {
  if (!db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tree_heads'").length) return [];
  return (db.exec("SELECT checkpoint_no, note FROM tree_heads ORDER BY checkpoint_no")[0]?.values ?? []).map(([n, t]) => [Number(n), String(t)]);
}

function readCheckpoints(db: Database): Checkpoint[] {
  if (!db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").length) return [];
  return (db.exec("SELECT checkpoint_no, trail_id, seq, head_hash, time, key_fingerprint, signature FROM checkpoints ORDER BY checkpoint_no")[0]?.values ?? []).map((r) => ({
    checkpoint_no: Number(r[0]), trail_id: String(r[1]), seq: Number(r[2]), head_hash: String(r[3]), time: String(r[4]), key_fingerprint: String(r[5]), signature: String(r[6]),
  }));
}

/**
 * Each checkpoint's tree head (a C2SP signed note, schema 3) must be signed by the checkpoint's
 * key for this trail's origin, and state the checkpoint's seq and the Merkle root of the events
 * up to it as they are now.
 */
function checkTreeHeads(notes: Map<number, string>, byNo: Map<number, Checkpoint>, keyFor: (fp: string) => string | undefined, trailId: string, rootAt: (seq: number) => Buffer | undefined, firstDamage: number, add: (f: Finding) => void): void {
  const origin = trailOrigin(trailId);
  for (const [no, note] of [...notes].sort((x, y) => x[0] - y[0])) {
    const c = byNo.get(Number(no));
    const bad = (why: string) => add({ category: "SIGNATURE_INVALID", severity: "error", checkpointNo: Number(no), seq: c?.seq, message: `the Merkle tree head of checkpoint ${no} ${why}` });
    if (!c) {
      add({ category: "CHECKPOINTS_REMOVED", severity: "error", checkpointNo: Number(no), message: `checkpoint ${no} is gone but its signed Merkle tree head is still in the trail` });
      continue;
    }
    const pem = keyFor(c.key_fingerprint);
    if (!pem || c.seq >= firstDamage) continue; // no key: reported above; damaged: reported by the chain walk
    try {
      const head = parseCheckpoint(openNote(String(note), parseVerifierKey(noteVerifierKey(origin, pem))));
      const root = rootAt(c.seq);
      if (head.origin !== origin || head.size !== c.seq) bad(`is for ${head.origin} at ${head.size} events, not this trail at seq ${c.seq}`);
      else if (!root || !head.root.equals(root)) bad(`does not match the events up to seq ${c.seq}: they were changed after it was signed`);
    } catch (err) {
      bad(`does not verify: ${(err as Error).message}`);
    }
  }
}

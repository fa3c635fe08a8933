import type { Database, SqlJsStatic } from "sql.js";
import type { AnchorFile } from "./anchorFile";
import type { Pin, TrailState } from "./pins";
import { checkPin } from "./pins";
import { schemaDifferences } from "./schemaCheck";
import { openNote, parseCheckpoint, parseVerifierKey } from "./evidenceVerifier";
import { leafHash, MerkleTree } from "./merkle";
import { noteVerifierKey, trailOrigin } from "./signedNote";
import type { Checkpoint, PublicKeyRecord } from "./signing";
import { checkpointSignatureValid, fingerprintOf } from "./signing";
import type { Finding } from "./verifyChain";
import { checkBlobs, walkChain } from "./verifyChain";

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
  /** The user's pin of this location (pins.ts), if any. */
  pin?: Pin;
  /** The trail's canonical location, to advance the pin. */
  location?: string;
  maxFindings?: number;
}

/**
 * Checks a trail end to end and reports every problem with a category and a location:
 * recomputes each event's hash and link (never trusting stored hashes), checks every
 * checkpoint's signature and that the trail still matches what it signed, compares the trail
 * with an anchor kept outside it, and checks that the append-only triggers are intact.
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
  const schema = schemaDifferences(db, opts.sql);
  const triggers = schema.filter((d) => d.type === "trigger");
  if (triggers.length) {
    add({ category: "TRIGGERS_MISSING", severity: "error", message: `append-only triggers dropped or altered: ${triggers.map((d) => d.name).join(", ")}` });
  }
  for (const d of schema.filter((x) => x.type !== "trigger")) {
    add({ category: "SCHEMA_ALTERED", severity: "error", message: `${d.type} ${d.name} is ${d.problem === "altered" ? "not as this version's schema defines it" : d.problem === "missing" ? "missing" : "not part of the schema"}: queries through it could show something other than the events` });
  }
  const quick = db.exec("PRAGMA quick_check")[0]?.values.map((r) => String(r[0])) ?? [];
  if (quick.length !== 1 || quick[0] !== "ok") {
    add({ category: "CORRUPT", severity: "error", message: `SQLite reports damage: ${quick.slice(0, 3).join("; ")}` });
  }

  const meta = Object.fromEntries((db.exec("SELECT key, value FROM meta")[0]?.values ?? []).map(([k, v]) => [String(k), String(v)]));
  const trailId = meta.trail_id ?? "";
  const checkpoints = readCheckpoints(db);
  const anchorSeq = opts.anchor?.checkpoint.seq;
  // Hashes (as recomputed) at the seqs something signed: checkpoints and the anchor.
  const wanted = new Set<number>(checkpoints.map((c) => c.seq));
  if (anchorSeq !== undefined) wanted.add(anchorSeq);
  if (opts.pin) wanted.add(opts.pin.events);
  const hashAt = new Map<number, string>();

  // The Merkle tree over the events as they are, to check each checkpoint's signed tree head.
  const tree = new MerkleTree();
  const chain = walkChain(db, wanted, hashAt, add, (_e, text) => tree.append(leafHash(text)));

  // ---- checkpoints ------------------------------------------------------------------------
  // A key's public half comes from the user's trust store or the anchor first, else from the
  // trail's own keys table. Either way the signature must verify; but only a trusted key (or
  // one pinned for this location) vouches for the trail: a keys table is the forger's to fill.
  const trailKeys = new Map((db.exec("SELECT fingerprint, public_key FROM keys")[0]?.values ?? []).map(([f, k]) => [String(f), String(k)]));
  const trusted = new Map((opts.trustedKeys ?? []).map((k) => [k.fingerprint, k.public_key]));
  for (const k of opts.anchor?.keys ?? []) trusted.set(k.fingerprint, k.public_key);
  const keyFor = (fp: string): string | undefined => trusted.get(fp) ?? trailKeys.get(fp);
  let lastSignedSeq = 0;
  let expectedNo = 1;
  const vouchedBy = new Set<string>();
  for (const c of checkpoints) {
    const where = { checkpointNo: c.checkpoint_no, seq: c.seq };
    if (c.checkpoint_no !== expectedNo) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoints ${expectedNo}–${c.checkpoint_no - 1} are missing` });
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
  }
  const checkpointKeys = [...new Set(checkpoints.map((c) => c.key_fingerprint))];
  // Damage the chain walk already found makes every later tree head differ too: say it once.
  const firstDamage = Math.min(...findings.filter((f) => ["HASH_MISMATCH", "CHAIN_BREAK", "SEQ_GAP"].includes(f.category)).map((f) => f.seq ?? Infinity));
  checkTreeHeads(db, checkpoints, keyFor, trailId, tree, firstDamage, add);

  // ---- the pin of this location -------------------------------------------------------------
  const state: TrailState = {
    location: opts.location ?? "",
    trailId,
    headSeq: chain.headSeq,
    headHash: chain.headHash,
    hashAt: (seq) => hashAt.get(seq),
    checkpoints: checkpoints.length,
    keys: checkpointKeys,
  };
  const pinFindings = checkPin(opts.pin, state, new Set(trusted.keys())).filter((f) => f.category !== "KEY_UNKNOWN");
  for (const f of pinFindings) add(f);
  // When the trail is known to this user (a trusted key signed it, or it is pinned here), a
  // checkpoint by any other key is someone else signing their version of it. A stranger's
  // trail with keys nobody vouches for is not a finding: it is just not authenticated.
  if (vouchedBy.size || opts.pin) {
    const pinned = new Set(opts.pin?.keys ?? []);
    for (const c of checkpoints) {
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
    } else if (hashAt.get(a.seq) !== a.head_hash) {
      add({ category: "ROLLBACK", severity: "error", seq: a.seq, message: `at seq ${a.seq} the trail's hash differs from the anchor's: the trail was rewritten` });
    }
  }

  checkBlobs(db, add);

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
  const trustRoots: string[] = [];
  for (const fp of vouchedBy) trustRoots.push(`a key you trust (${fp.slice(0, 16)}…) signed its checkpoints`);
  if (opts.anchor && valid) trustRoots.push(`the anchor kept outside the trail (seq ${opts.anchor.checkpoint.seq})`);
  if (opts.pin?.vouched && pinFindings.length === 0) trustRoots.push(`your pin of this location (first seen ${opts.pin.first_seen.slice(0, 10)})`);
  return {
    valid,
    authenticated: valid && trustRoots.length > 0,
    trustRoots,
    trailId,
    checkpointKeys,
    events: chain.events,
    head: { seq: chain.headSeq, hash: chain.headHash },
    checkpoints: checkpoints.length,
    lastSignedSeq,
    anchor: opts.anchor ? { seq: opts.anchor.checkpoint.seq, checkpointNo: opts.anchor.checkpoint.checkpoint_no } : undefined,
    trustedKeys: [...vouchedBy],
    findings,
  };
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
function checkTreeHeads(db: Database, checkpoints: Checkpoint[], keyFor: (fp: string) => string | undefined, trailId: string, tree: MerkleTree, firstDamage: number, add: (f: Finding) => void): void {
  if (!db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tree_heads'").length) return;
  const byNo = new Map(checkpoints.map((c) => [c.checkpoint_no, c]));
  const origin = trailOrigin(trailId);
  for (const [no, note] of db.exec("SELECT checkpoint_no, note FROM tree_heads ORDER BY checkpoint_no")[0]?.values ?? []) {
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
      if (head.origin !== origin || head.size !== c.seq) bad(`is for ${head.origin} at ${head.size} events, not this trail at seq ${c.seq}`);
      else if (c.seq > tree.size || !head.root.equals(tree.root(c.seq))) bad(`does not match the events up to seq ${c.seq}: they were changed after it was signed`);
    } catch (err) {
      bad(`does not verify: ${(err as Error).message}`);
    }
  }
}

import type { Database, SqlJsStatic } from "sql.js";
import type { AnchorFile } from "./anchorFile";
import { SCHEMA_SQL } from "./schema";
import type { Checkpoint, PublicKeyRecord } from "./signing";
import { checkpointSignatureValid, fingerprintOf } from "./signing";
import type { Finding } from "./verifyChain";
import { checkBlobs, walkChain } from "./verifyChain";

export interface VerifyReport {
  valid: boolean;
  events: number;
  head: { seq: number; hash: string };
  checkpoints: number;
  lastSignedSeq: number;
  anchor?: { seq: number; checkpointNo: number };
  /** Where the trusted keys came from; empty when only the trail's own keys were available. */
  trustedKeys: string[];
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
  const hashAt = new Map<number, string>();

  const chain = walkChain(db, wanted, hashAt, add);

  // ---- checkpoints ------------------------------------------------------------------------
  const trailKeys = new Map((db.exec("SELECT fingerprint, public_key FROM keys")[0]?.values ?? []).map(([f, k]) => [String(f), String(k)]));
  const trusted = new Map((opts.trustedKeys ?? []).map((k) => [k.fingerprint, k.public_key]));
  for (const k of opts.anchor?.keys ?? []) trusted.set(k.fingerprint, k.public_key);
  // Trusted keys decide only when they have something to do with this trail (they signed
  // some of it, or the trail lists them). A verifier whose own key never touched the trail
  // (the CLI checking a trail the extension signed) falls back to the trail's own keys, and
  // the report says so (trustedKeys empty): that proves consistency, not who signed.
  const used = new Set(checkpoints.map((c) => c.key_fingerprint));
  const strict = [...trusted.keys()].some((fp) => used.has(fp) || trailKeys.has(fp));
  if (!strict) trusted.clear();
  const keyFor = (fp: string): string | undefined => (strict ? trusted.get(fp) : trailKeys.get(fp));
  let lastSignedSeq = 0;
  let expectedNo = 1;
  for (const c of checkpoints) {
    const where = { checkpointNo: c.checkpoint_no, seq: c.seq };
    if (c.checkpoint_no !== expectedNo) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoints ${expectedNo}–${c.checkpoint_no - 1} are missing` });
    }
    expectedNo = c.checkpoint_no + 1;
    const key = keyFor(c.key_fingerprint);
    if (!key) {
      add({
        category: "KEY_UNKNOWN",
        severity: "error",
        ...where,
        message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}) is signed by key ${c.key_fingerprint.slice(0, 16)}…, which is not ${trusted.size ? "a trusted key" : "in the trail"}`,
      });
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
  }

  // ---- the anchor outside the trail --------------------------------------------------------
  if (opts.anchor) {
    const a = opts.anchor.checkpoint;
    const key = opts.anchor.keys.find((k) => k.fingerprint === a.key_fingerprint)?.public_key;
    if (a.trail_id !== trailId) {
      add({ category: "ROLLBACK", severity: "error", message: `the anchor belongs to trail ${a.trail_id}, this trail is ${trailId}: it was replaced by a different file` });
    } else if (!key || !checkpointSignatureValid(a, key)) {
      add({ category: "SIGNATURE_INVALID", severity: "error", seq: a.seq, checkpointNo: a.checkpoint_no, message: "the anchor's own signature does not verify" });
    } else if (a.seq > chain.headSeq) {
      add({ category: "TRUNCATED", severity: "error", seq: chain.headSeq + 1, toSeq: a.seq, message: `the anchor knows ${a.seq} events; the trail ends at seq ${chain.headSeq}: events ${chain.headSeq + 1}–${a.seq} were removed or an older copy was restored` });
    } else if (hashAt.get(a.seq) !== a.head_hash) {
      add({ category: "ROLLBACK", severity: "error", seq: a.seq, message: `at seq ${a.seq} the trail's hash differs from the anchor's: the trail was rewritten` });
    }
  }

  // ---- the triggers -------------------------------------------------------------------------
  const missing = missingTriggers(db, opts.sql);
  if (missing.length) {
    add({ category: "TRIGGERS_MISSING", severity: "error", message: `append-only triggers dropped or altered: ${missing.join(", ")}` });
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
  return {
    valid: !findings.some((f) => f.severity === "error"),
    events: chain.events,
    head: { seq: chain.headSeq, hash: chain.headHash },
    checkpoints: checkpoints.length,
    lastSignedSeq,
    anchor: opts.anchor ? { seq: opts.anchor.checkpoint.seq, checkpointNo: opts.anchor.checkpoint.checkpoint_no } : undefined,
    trustedKeys: [...trusted.keys()],
    findings,
  };
}

function readCheckpoints(db: Database): Checkpoint[] {
  if (!db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").length) return [];
  return (db.exec("SELECT checkpoint_no, trail_id, seq, head_hash, time, key_fingerprint, signature FROM checkpoints ORDER BY checkpoint_no")[0]?.values ?? []).map((r) => ({
    checkpoint_no: Number(r[0]), trail_id: String(r[1]), seq: Number(r[2]), head_hash: String(r[3]), time: String(r[4]), key_fingerprint: String(r[5]), signature: String(r[6]),
  }));
}

let referenceTriggers: Map<string, string> | undefined;

/** Names of our triggers that are absent from `db` or whose SQL differs from the schema's. */
function missingTriggers(db: Database, sql: SqlJsStatic): string[] {
  if (!referenceTriggers) {
    const ref = new sql.Database();
    ref.exec(SCHEMA_SQL);
    referenceTriggers = triggersOf(ref);
    ref.close();
  }
  const actual = triggersOf(db);
  return [...referenceTriggers].filter(([name, body]) => actual.get(name) !== body).map(([name]) => name);
}

function triggersOf(db: Database): Map<string, string> {
  const rows = db.exec("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")[0]?.values ?? [];
  return new Map(rows.map(([n, s]) => [String(n), String(s).replace(/\s+/g, " ").trim()]));
}

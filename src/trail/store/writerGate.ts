import * as fs from "node:fs";
import * as path from "node:path";
import { shellQuote } from "../../shared/shellQuote";
import { regularFileStat } from "./safeFiles";
import { anchorPathFor, readAnchor } from "../trust/anchorFile";
import { GENESIS_HASH } from "../integrity/hashChain";
import type { AcceptedFindings, PinFiles } from "../trust/pins";
import { sealSignatureValid } from "./segments";
import type { PublicKeyRecord } from "../trust/signing";
import { checkpointSignatureValid, fingerprintOf } from "../trust/signing";
import { TrailError } from "./trailErrors";
import type { TrailStore } from "./trailStore";
import type { Finding } from "../integrity/verifyChain";
import { walkChain } from "../integrity/verifyChain";
import { readCheckpoints } from "./trailColumns";

/** Above this, the active segment's chain is not re-walked at open (a trail from before segments). */
const MAX_WALK_BYTES = 64 * 1024 * 1024;

/**
 * What a writer checks before it appends or signs anything: the findings verify would report
 * that can be had without re-reading the trail. The active segment's chain (bounded by the seal
 * size) is recomputed and its checkpoints checked against it; every seal's signature and link;
 * each sealed file's size against its seal; the newest checkpoint and the user's anchor against
 * the trail's head (TRUNCATED, ROLLBACK). Sealed segments' contents are left to verify: their
 * signed seals vouch for them and nothing a writer does changes them.
 */
export function writerFindings(store: TrailStore, trusted: PublicKeyRecord[], anchorFile?: string): Finding[] {
  const out: Finding[] = [];
  const add = (f: Finding) => {
    if (out.length < 20) out.push(f);
  };
  const db = store.database;
  const trailKeys = new Map((db.exec("SELECT fingerprint, public_key FROM keys")[0]?.values ?? []).map(([f, k]) => [String(f), String(k)]));
  const trustedKeys = new Map(trusted.map((k) => [k.fingerprint, k.public_key]));
  const keyFor = (fp: string | null) => (fp ? (trustedKeys.get(fp) ?? trailKeys.get(fp)) : undefined);
  const head = store.head;

  // The seals: each continues the one before and its signature holds; its file, if present, has its size.
  let link = { seq: 0, hash: GENESIS_HASH };
  for (const seal of store.seals) {
    const where = `the seal of segment ${seal.segment_no} (seq ${seal.first_seq}–${seal.last_seq})`;
    const key = keyFor(seal.key_fingerprint);
    if (seal.trail_id !== store.trailId || seal.first_seq !== link.seq + 1 || seal.first_prev_hash !== link.hash) {
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `${where} does not continue the trail before it` });
    } else if (seal.signature && (!key || fingerprintOf(key) !== seal.key_fingerprint || !sealSignatureValid(seal, key))) {
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `${where}: its signature does not verify` });
    }
    // A link, FIFO or device in its place is refused as such (UnsafeTrailFileError, naming
    // what it is); absent means pruned or archived: verify checks the record of it.
    const size = regularFileStat(path.join(store.segmentsDir, path.basename(seal.file_name)))?.size;
    if (size !== undefined && size !== seal.bytes) {
      add({ category: "SEGMENT_ALTERED", severity: "error", seq: seal.first_seq, message: `${seal.file_name} is not the file that was sealed (${size} bytes, its seal says ${seal.bytes})` });
    }
    link = { seq: seal.last_seq, hash: seal.last_hash };
  }
  const base = store.activeBase;
  if (base.seq !== link.seq || base.hash !== link.hash) {
    add({ category: "SEGMENT_ALTERED", severity: "error", seq: base.seq + 1, message: `trail.db starts after seq ${base.seq}, where no seal ends` });
  }

  // The active segment: every hash and link recomputed, its checkpoints against them.
  const checkpoints = readCheckpoints(store.database);
  const hashAt = new Map<number, string>();
  if (store.activeSegmentBytes <= MAX_WALK_BYTES) {
    walkChain(db, new Set(checkpoints.map((c) => c.seq)), hashAt, add, undefined, base);
  }
  for (const c of checkpoints) {
    const where = { checkpointNo: c.checkpoint_no, seq: c.seq };
    const key = keyFor(c.key_fingerprint);
    if (c.seq > head.seq) {
      add({ category: "TRUNCATED", severity: "error", ...where, seq: head.seq + 1, toSeq: c.seq, message: `checkpoint ${c.checkpoint_no} signed ${c.seq} events; the trail has only ${head.seq}` });
    } else if (!key) {
      add({ category: "KEY_UNKNOWN", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}) is signed by key ${c.key_fingerprint.slice(0, 16)}…, which is neither trusted nor in the trail` });
    } else if (fingerprintOf(key) !== c.key_fingerprint || !checkpointSignatureValid(c, key) || c.trail_id !== store.trailId) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `checkpoint ${c.checkpoint_no} (seq ${c.seq}): the signature does not verify` });
    } else if ((hashAt.get(c.seq) ?? store.hashAtSeq(c.seq)) !== c.head_hash) {
      add({ category: "SIGNATURE_INVALID", severity: "error", ...where, message: `the trail up to seq ${c.seq} is not what checkpoint ${c.checkpoint_no} signed: events at or before it were changed` });
    }
  }

  // The user's anchor, kept outside the trail.
  if (anchorFile && fs.existsSync(anchorFile)) {
    try {
      const a = readAnchor(anchorFile).checkpoint;
      const where = { checkpointNo: a.checkpoint_no };
      if (a.seq > head.seq) add({ category: "TRUNCATED", severity: "error", ...where, seq: head.seq + 1, toSeq: a.seq, message: `your anchor knows ${a.seq} events; the trail ends at seq ${head.seq}` });
      else if (a.trail_id === store.trailId && a.seq > 0 && store.hashAtSeq(a.seq) !== a.head_hash) add({ category: "ROLLBACK", severity: "error", ...where, seq: a.seq, message: `at seq ${a.seq} the trail's hash differs from your anchor's: it was rewritten` });
    } catch {
      /* an unreadable anchor is verify's to report */
    }
  }
  return out;
}

/** The findings `accepted` does not cover (all of them when the trail moved on from what was accepted). */
export function notAccepted(findings: Finding[], accepted: AcceptedFindings | undefined, hashAt: (seq: number) => string | undefined): Finding[] {
  if (!accepted || (accepted.head_seq > 0 && hashAt(accepted.head_seq) !== accepted.head_hash)) return findings;
  return findings.filter((f) => (f.checkpointNo !== undefined ? f.checkpointNo > accepted.checkpoints : (f.seq ?? Infinity) > accepted.head_seq));
}

/** A `TrailStoreOptions.gate` that refuses a trail with findings, in one line that says how to go on. */
export function writerGate(trust: { trustedKeys(): PublicKeyRecord[]; anchorsDir: string; pins: PinFiles }): (store: TrailStore) => void {
  return (store) => {
    const pin = trust.pins.read(store.path);
    const anchor = anchorPathFor(trust.anchorsDir, pin?.trail_id ?? store.trailId);
    const findings = notAccepted(writerFindings(store, trust.trustedKeys(), anchor), pin?.trail_id === store.trailId ? pin.accepted : undefined, (seq) => store.hashAtSeq(seq));
    if (!findings.length) return;
    const f = findings[0];
    const at = f.seq !== undefined ? ` at seq ${f.seq}${f.toSeq !== undefined && f.toSeq !== f.seq ? `–${f.toSeq}` : ""}` : "";
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more)` : "";
    const workspace = path.dirname(path.dirname(store.path));
    throw new TrailError(
      "FINDINGS",
      `${store.path} has a finding: ${f.category}${at}: ${f.message}${more}. Nothing was written. ` +
        `See it with: agent-audit verify --workspace ${shellQuote(workspace)}; move ${shellQuote(path.dirname(store.path))} aside to start a new trail, ` +
        `or go on with this one with: agent-audit trust accept --workspace ${shellQuote(workspace)} (recorded and signed in the trail; verify keeps reporting it).`,
      store.path,
    );
  };
}


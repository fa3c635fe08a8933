import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { mkdirDurable, writeFileAtomic } from "../store/durableFile";
import { checkTrustStorePath, readTrustStoreFile, UnsafeTrailFileError } from "../store/safeFiles";
import type { Finding } from "../integrity/verifyChain";

export const PIN_FORMAT = "agent-audit-pin/1";

/**
 * What this user's tools last saw of the trail at one location (trust on first use, like
 * SSH's known_hosts). Kept in the user's trust store, outside every workspace. A later look at
 * the same location that finds another trail, fewer events, a different history up to the
 * pinned head, fewer checkpoints, or a checkpoint key never seen there is a finding.
 *
 * A pin proves continuity with what you saw before; it does not prove who wrote the events
 * you first saw.
 */
export interface Pin {
  format: typeof PIN_FORMAT;
  /** The trail file's canonical path (real path of its folder + file name). */
  location: string;
  trail_id: string;
  /** Events seen, and the head hash at that seq. */
  events: number;
  head_hash: string;
  checkpoints: number;
  /** Fingerprints of keys that signed checkpoints of this trail. */
  keys: string[];
  first_seen: string;
  updated: string;
  /**
   * True once something this user trusts stood behind the trail here: their own key signed a
   * checkpoint in it, or a verify found a trusted key or the anchor. Only then does the pin
   * authenticate; a pin taken of a stranger's trail only guards its continuity.
   */
  vouched?: boolean;
  /**
   * Findings this user accepted with `agent-audit trust accept` (writerGate.ts): writers go on
   * past those (at or before this head and checkpoint), never past new ones; verify still
   * reports them.
   */
  accepted?: AcceptedFindings;
}

/** What `agent-audit trust accept` recorded: the trail as it was, and what was wrong with it. */
export interface AcceptedFindings {
  head_seq: number;
  head_hash: string;
  checkpoints: number;
  at: string;
  findings: string[];
}

/** What a reader or writer observes of a trail, to compare with (and advance) a pin. */
export interface TrailState {
  location: string;
  trailId: string;
  headSeq: number;
  headHash: string;
  /** The (recomputed) hash at a seq, or undefined when the trail does not reach it. */
  hashAt(seq: number): string | undefined;
  checkpoints: number;
  keys: string[];
}

/** The canonical location of a trail file: symlinks and `..` resolved, so two spellings share a pin. */
export function canonicalLocation(trailPath: string): string {
  const dir = path.dirname(path.resolve(trailPath));
  let real = dir;
  try {
    real = fs.realpathSync.native(dir);
  } catch {
    /* not there yet: the path as given */
  }
  return path.join(real, path.basename(trailPath));
}

/** Findings from comparing a trail with its pin (none when there is no pin). */
export function checkPin(pin: Pin | undefined, s: TrailState, trusted: Set<string>): Finding[] {
  if (!pin) return [];
  const out: Finding[] = [];
  const since = `when you last saw it (${pin.updated.slice(0, 19).replace("T", " ")})`;
  if (pin.trail_id !== s.trailId) {
    out.push({ category: "TRAIL_REPLACED", severity: "error", message: `this location held trail ${pin.trail_id} ${since}; it now holds ${s.trailId || "no trail"}: the trail was replaced by another file` });
    return out;
  }
  if (s.headSeq < pin.events) {
    out.push({ category: "TRUNCATED", severity: "error", seq: s.headSeq + 1, toSeq: pin.events, message: `the trail had ${pin.events} events ${since}; it now ends at seq ${s.headSeq}: events were removed or an older copy was restored` });
  } else if (pin.events > 0 && s.hashAt(pin.events) !== pin.head_hash) {
    out.push({ category: "ROLLBACK", severity: "error", seq: pin.events, message: `at seq ${pin.events} the trail's hash is not the one you saw ${since}: history up to there was rewritten` });
  }
  if (s.checkpoints < pin.checkpoints) {
    out.push({ category: "CHECKPOINTS_REMOVED", severity: "error", message: `the trail had ${pin.checkpoints} signed checkpoints ${since}; it now has ${s.checkpoints}` });
  }
  for (const k of s.keys) {
    if (!pin.keys.includes(k) && !trusted.has(k)) {
      out.push({ category: "KEY_UNKNOWN", severity: "error", message: `a checkpoint is signed by key ${k.slice(0, 16)}…, which is neither one you trust nor one that signed this trail before: it was re-signed by someone else` });
    }
  }
  return out;
}

/** The pin after seeing `s` (never moving backwards in events or checkpoints). */
export function advancePin(pin: Pin | undefined, s: TrailState, now: string, vouched = false): Pin {
  const same = pin && pin.trail_id === s.trailId;
  return {
    format: PIN_FORMAT,
    location: s.location,
    trail_id: s.trailId,
    events: same ? Math.max(pin.events, s.headSeq) : s.headSeq,
    head_hash: same && pin.events > s.headSeq ? pin.head_hash : s.headHash,
    checkpoints: same ? Math.max(pin.checkpoints, s.checkpoints) : s.checkpoints,
    keys: [...new Set([...(same ? pin.keys : []), ...s.keys])].sort(),
    first_seen: same ? pin.first_seen : now,
    updated: now,
    vouched: (same && pin.vouched === true) || vouched,
    ...(same && pin.accepted ? { accepted: pin.accepted } : {}),
  };
}

/** Pins on disk: one JSON file per location under `dir`. */
export class PinFiles {
  /** `root`: the trust store folder the pins live in, checked (owner, mode) with them. */
  constructor(
    readonly dir: string,
    private readonly root?: string,
  ) {}

  fileFor(trailPath: string): string {
    const id = createHash("sha256").update(canonicalLocation(trailPath)).digest("hex").slice(0, 32);
    return path.join(this.dir, `${id}.json`);
  }

  read(trailPath: string): Pin | undefined {
    const file = this.fileFor(trailPath);
    let text: string | undefined;
    try {
      // A pin another user could have written (or made "vouched") is refused, never believed.
      if (this.root) checkTrustStorePath(this.root);
      if (!checkTrustStorePath(this.dir)) return undefined;
      text = readTrustStoreFile(file)?.toString("utf8");
    } catch (err) {
      if (err instanceof UnsafeTrailFileError) throw err;
      return undefined;
    }
    if (text === undefined) return undefined;
    const p = JSON.parse(text) as Pin;
    if (p.format !== PIN_FORMAT) throw new Error(`${file} is not an Agent Audit pin`);
    return p;
  }

  write(pin: Pin): void {
    mkdirDurable(this.dir, 0o700);
    checkTrustStorePath(this.dir);
    writeFileAtomic(this.fileFor(pin.location), Buffer.from(JSON.stringify(pin, null, 2) + "\n"));
  }

  forget(trailPath: string): boolean {
    const file = this.fileFor(trailPath);
    if (!fs.existsSync(file)) return false;
    fs.rmSync(file);
    return true;
  }
}

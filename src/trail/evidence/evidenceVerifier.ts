// Verifies an evidence bundle written by `agent-audit evidence`, with Node's crypto and nothing
// else: this file is also shipped, compiled, as verify-bundle.js inside every bundle, so an
// auditor can read it and run `node verify-bundle.js <bundle folder> --key VKEY` on a machine
// that has neither this project nor the trail. It imports only Node's built-in modules.
//
// What it checks:
//   1. checkpoint.txt is a C2SP signed note carrying a C2SP tlog-checkpoint, parsed as strictly
//      as Go's golang.org/x/mod/sumdb/note, signed by a key the AUDITOR gives (--key, or the
//      trust store when run as `agent-audit verify-evidence`). vkey.txt only names who claims
//      to have signed: a bundle signed by anyone else is "consistent, signer not trusted".
//   2. Each line of events.jsonl, as the bytes stored (not re-encoded), is a leaf of the RFC 9162
//      Merkle tree whose size and root the checkpoint states, with its inclusion proof.
//   3. Completeness: the checkpoint's signed `agent-audit-bundle` line states what the bundle
//      covers (a session from its first event to its end, or to the tree's end while it still
//      runs; or a range of seqs). Every seq of that span is in the bundle once: as an event
//      line, or (another session's event) as its leaf hash with a proof. Leaving an event out,
//      or passing one off as another session's, fails.
//   4. Consistency with an earlier tree head only from outside the bundle (--anchor FILE, the
//      trust store's anchor), signed by a trusted key; the verdict says which head, or that none
//      was checked.
import { createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { revealHidden } from "../../shared/hiddenText";
import type { VerifierKey } from "../integrity/c2spNote";
import { decodeHash, NoteError, noteKeyId, openSignedNote, parseCheckpoint, parseVerifierKey } from "../integrity/c2spNote";
import { leafOf, seqListDigest, verifyConsistency, verifyInclusion } from "../integrity/proofCheck";


export const COVERAGE_PREFIX = "agent-audit-bundle";
/** Event types that end a session (the same list as eventTypes.ts TERMINAL_EVENT_TYPES, kept here: this file imports nothing of ours). */
const TERMINAL = new Set(["session_end", "session_timeout", "session_cancelled", "session_error", "replay_diverged"]);

/** What a bundle covers, as its signed checkpoint states it. */
export type Coverage =
  | { kind: "session"; sessionId: string; from: number; to: number; ended: boolean; seqsDigest: string }
  | { kind: "range"; from: number; to: number };

/** The tlog-checkpoint extension line that states a bundle's coverage. */
export function coverageLine(c: Coverage): string {
  if (c.kind === "range") return `${COVERAGE_PREFIX} range ${c.from} ${c.to}`;
  return `${COVERAGE_PREFIX} session ${Buffer.from(c.sessionId, "utf8").toString("base64url")} ${c.from} ${c.to} ${c.ended ? "ended" : "running"} ${c.seqsDigest}`;
}

function parseCoverage(lines: string[]): Coverage | undefined {
  const found = lines.filter((l) => l.startsWith(`${COVERAGE_PREFIX} `));
  if (found.length !== 1) return undefined;
  const seq = "([1-9][0-9]{0,15})";
  let m = new RegExp(`^${COVERAGE_PREFIX} range ${seq} ${seq}$`).exec(found[0]);
  if (m) return { kind: "range", from: Number(m[1]), to: Number(m[2]) };
  m = new RegExp(`^${COVERAGE_PREFIX} session ([A-Za-z0-9_-]+) ${seq} ${seq} (ended|running) ([0-9a-f]{64})$`).exec(found[0]);
  if (!m) return undefined;
  return { kind: "session", sessionId: Buffer.from(m[1], "base64url").toString("utf8"), from: Number(m[2]), to: Number(m[3]), ended: m[4] === "ended", seqsDigest: m[5] };
}

interface ProofsFile {
  format: string;
  tree_size: number;
  leaves: { seq: number; index: number; inclusion: string[] }[];
  /** Events of the span the bundle does not disclose (other sessions'): their leaf hashes. */
  others?: { seq: number; leaf: string; inclusion: string[] }[];
  previous?: { tree_size: number; root: string; consistency: string[] };
}

export interface VerifyBundleOptions {
  /** Note verifier keys the auditor trusts (`--key`). */
  keys?: VerifierKey[];
  /** Raw Ed25519 public keys trusted under whatever name the bundle's origin is (the trust store's). */
  publicKeys?: Buffer[];
  /** An earlier tree head from outside the bundle: a signed tlog-checkpoint note, and where it came from. */
  anchor?: { note: string; source: string; required: boolean };
}

export interface BundleReport {
  ok: boolean;
  /** The signature verified with a key the auditor trusts. */
  trusted: boolean;
  origin?: string;
  treeSize?: number;
  /** Who signed: the trusted key, or the key vkey.txt claims. */
  signer?: string;
  coverage?: Coverage;
  events: number;
  /** The earlier head consistency was proven from, if any. */
  consistentWith?: { size: number; source: string };
  notes: string[];
  problems: string[];
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");

/** Checks a bundle folder; every problem is named (which file, which event, which proof). */
export function verifyBundle(dir: string, opts: VerifyBundleOptions = {}): BundleReport {
  const problems: string[] = [];
  const notes: string[] = [];
  const readBytes = (f: string) => fs.readFileSync(path.join(dir, f));
  const fail = (problem: string, extra: Partial<BundleReport> = {}): BundleReport => ({ ok: false, trusted: false, events: 0, notes, problems: [problem], ...extra });
  let noteBytes: Buffer;
  try {
    noteBytes = readBytes("checkpoint.txt");
  } catch (err) {
    return fail(`checkpoint.txt: ${(err as Error).message}`);
  }
  const claimedOrigin = noteBytes.toString("utf8").split("\n")[0];
  const trusted = [...(opts.keys ?? []), ...(opts.publicKeys ?? []).map((k) => ({ name: claimedOrigin, keyId: noteKeyId(claimedOrigin, k), publicKey: k }))];
  let text: string;
  let signer: string;
  let isTrusted = false;
  try {
    const opened = openSignedNote(noteBytes, trusted);
    ({ text } = opened);
    signer = `${opened.signer.name}+${hex8(opened.signer.keyId)}`;
    isTrusted = true;
  } catch (err) {
    if (!(err instanceof NoteError) || err.message.startsWith("the signature by") || err.unknownSigners.length === 0) return fail(`checkpoint.txt: ${(err as Error).message}`);
    // Signed, but by no key the auditor gave: check it with the key the bundle names, to tell
    // "consistent, signed by someone you do not trust" from "altered".
    try {
      const claimed = parseVerifierKey(readBytes("vkey.txt").toString("utf8").trim());
      text = openSignedNote(noteBytes, [claimed]).text;
      signer = `${claimed.name}+${hex8(claimed.keyId)}`;
    } catch (err2) {
      return fail(`checkpoint.txt / vkey.txt: ${(err2 as Error).message}`);
    }
  }
  let cp: ReturnType<typeof parseCheckpoint>;
  try {
    cp = parseCheckpoint(text);
  } catch (err) {
    return fail(`checkpoint.txt: ${(err as Error).message}`);
  }
  const base: Partial<BundleReport> = { origin: cp.origin, treeSize: cp.size, signer, trusted: isTrusted };
  const coverage = parseCoverage(cp.extensions);
  if (!coverage) return fail(`checkpoint.txt states no ${COVERAGE_PREFIX} line (what the bundle covers): it cannot show it is complete`, base);
  let proofs: ProofsFile;
  try {
    proofs = JSON.parse(readBytes("proofs.json").toString("utf8")) as ProofsFile;
    if (!Array.isArray(proofs.leaves)) throw new Error("no leaves");
  } catch (err) {
    return fail(`proofs.json: ${(err as Error).message}`, base);
  }
  if (proofs.tree_size !== cp.size) problems.push(`proofs.json is for a tree of ${proofs.tree_size} events, the checkpoint for ${cp.size}`);
  const lines = splitLines(readBytes("events.jsonl"), problems);
  if (lines.length !== proofs.leaves.length) problems.push(`events.jsonl has ${lines.length} events, proofs.json ${proofs.leaves.length} proofs`);
  const disclosed: number[] = [];
  // Events another agent sent (OTLP): the signer vouches for having received them, no more.
  const received = new Map<string, number>();
  const covered = new Map<number, string>();
  const cover = (seq: number, where: string) => {
    if (covered.has(seq)) problems.push(`${where}: seq ${seq} is in the bundle twice (also ${covered.get(seq)})`);
    covered.set(seq, where);
  };
  lines.forEach((line, i) => {
    const p = proofs.leaves[i];
    if (!p) return;
    const where = `event seq ${p.seq} (events.jsonl line ${i + 1})`;
    const event = parseEventLine(line);
    if (!event) return void problems.push(`events.jsonl line ${i + 1}: not one JSON event in UTF-8`);
    if (event.seq !== p.seq || p.index !== p.seq - 1) problems.push(`${where}: the line says seq ${String(event.seq)}, its proof is for leaf ${p.index}`);
    cover(p.seq, where);
    disclosed.push(p.seq);
    const from = receivedFrom(event.content);
    if (from) received.set(from, (received.get(from) ?? 0) + 1);
    if (coverage.kind === "session" && event.session_id !== coverage.sessionId) problems.push(`${where}: it belongs to another session than the one the bundle covers`);
    if (coverage.kind === "session" && coverage.ended && p.seq === coverage.to && !TERMINAL.has(String(event.event_type))) problems.push(`${where}: the bundle says the session ended here, but this is a ${String(event.event_type)} event`);
    if (coverage.kind === "session" && !coverage.ended && TERMINAL.has(String(event.event_type))) problems.push(`${where}: the bundle says the session had not ended, but this event ends it`);
    checkProof(p.index, cp.size, leafOf(line), p.inclusion, cp.root, where, problems);
  });
  for (const o of proofs.others ?? []) {
    const where = `proofs.json others, seq ${o.seq}`;
    if (coverage.kind === "range") problems.push(`${where}: a range bundle discloses every event of its range`);
    cover(o.seq, where);
    const leaf = decodeHash(o.leaf);
    if (!leaf) problems.push(`${where}: its leaf hash is not a canonical base64 SHA-256`);
    else checkProof(o.seq - 1, cp.size, leaf, o.inclusion, cp.root, where, problems);
  }
  checkCoverage(coverage, cp.size, covered, disclosed, problems);
  for (const [from, count] of received) {
    notes.push(`${count} of these events were received from ${from}, not recorded by Agent Audit's own agent: the signature vouches that they were received as they are, not that they happened so.`);
  }
  const consistentWith = checkPrevious(proofs, cp, opts, trusted, problems, notes);
  return { ok: problems.length === 0, trusted: isTrusted, origin: cp.origin, treeSize: cp.size, signer, coverage, events: lines.length, consistentWith, notes, problems };
}

/** events.jsonl as the bytes stored: one leaf per line, each ending in a newline. */
function splitLines(bytes: Buffer, problems: string[]): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(0x0a); nl >= 0; nl = bytes.indexOf(0x0a, start)) {
    out.push(bytes.subarray(start, nl));
    start = nl + 1;
  }
  if (start < bytes.length) problems.push("events.jsonl does not end with a newline: its last line may be cut");
  return out;
}

/** "otlp (copilot)" for an event whose content says it was received; undefined for our own. */
function receivedFrom(content: unknown): string | undefined {
  let c = content;
  if (typeof c === "string") {
    try {
      c = JSON.parse(c);
    } catch {
      return undefined;
    }
  }
  const r = c && typeof c === "object" ? (c as { received?: { via?: unknown; service?: unknown } }).received : undefined;
  if (!r || typeof r !== "object" || typeof r.via !== "string") return undefined;
  return `${r.via.slice(0, 20)}${typeof r.service === "string" ? ` (${r.service.slice(0, 80)})` : ""}`;
}

function parseEventLine(line: Buffer): { seq?: unknown; session_id?: unknown; event_type?: unknown; content?: unknown } | undefined {
  const text = line.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(line)) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as { seq?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

function checkProof(index: number, size: number, leaf: Buffer, hashes: unknown, root: Buffer, where: string, problems: string[]): void {
  const proof = Array.isArray(hashes) ? hashes.map(decodeHash) : [undefined];
  if (proof.some((h) => !h)) return void problems.push(`${where}: its inclusion proof holds something that is not a canonical base64 SHA-256`);
  if (!verifyInclusion(index, size, leaf, proof as Buffer[], root)) problems.push(`${where}: its inclusion proof does not lead to the checkpoint's root: the event or its proof was changed`);
}

function checkCoverage(c: Coverage, size: number, covered: Map<number, string>, disclosed: number[], problems: string[]): void {
  const span = `seq ${c.from}–${c.to}`;
  if (c.from > c.to || c.to > size) return void problems.push(`the checkpoint's coverage (${span}) is not within its tree of ${size} events`);
  if (c.kind === "session" && !c.ended && c.to !== size) problems.push(`the session is said to be still running, but the bundle covers only ${span} of a ${size}-event tree`);
  const missing: number[] = [];
  for (let s = c.from; s <= c.to && missing.length < 10; s++) if (!covered.has(s)) missing.push(s);
  if (missing.length) problems.push(`events are missing from the bundle's ${span}: seq ${missing.join(", ")}${missing.length === 10 ? ", …" : ""} (removed, or the bundle is not whole)`);
  for (const [s, where] of covered) if (s < c.from || s > c.to) problems.push(`${where}: outside the span the checkpoint states (${span})`);
  if (c.kind === "session" && seqListDigest([...disclosed].sort((a, b) => a - b)) !== c.seqsDigest) {
    problems.push("the session's events in the bundle are not the ones its checkpoint lists: an event was removed, added or passed off as another session's");
  }
}

/** Consistency with an earlier head the auditor holds; a proof from a head carried in the bundle proves nothing. */
function checkPrevious(proofs: ProofsFile, cp: ReturnType<typeof parseCheckpoint>, opts: VerifyBundleOptions, trusted: VerifierKey[], problems: string[], notes: string[]): { size: number; source: string } | undefined {
  const prev = proofs.previous;
  if (!opts.anchor) {
    notes.push("No earlier tree head of yours was given (--anchor FILE): consistency with history you saw before is not checked.");
    return undefined;
  }
  const { source, required } = opts.anchor;
  let head: ReturnType<typeof parseCheckpoint>;
  try {
    head = parseCheckpoint(openSignedNote(opts.anchor.note, trusted).text);
  } catch (err) {
    problems.push(`the earlier tree head in ${source}: ${(err as Error).message}`);
    return undefined;
  }
  const say = (text: string) => (required ? problems : notes).push(text);
  if (head.origin !== cp.origin) return void say(`the earlier tree head in ${source} is of ${head.origin}, not ${cp.origin}`);
  if (head.size > cp.size) return void say(`the earlier tree head in ${source} (${head.size} events) is past this bundle's tree (${cp.size}): consistency is not checked`);
  if (!prev || prev.tree_size !== head.size || decodeHash(prev.root)?.equals(head.root) !== true) {
    return void say(`the bundle has no consistency proof from the tree head in ${source} (${head.size} events): make it with "agent-audit evidence --anchor ${source}"`);
  }
  const proof = Array.isArray(prev.consistency) ? prev.consistency.map(decodeHash) : [undefined];
  if (proof.some((h) => !h) || !verifyConsistency(head.size, cp.size, proof as Buffer[], head.root, cp.root)) {
    problems.push(`proofs.json previous: the tree of ${cp.size} events does not extend the previous tree head (${head.size} events) in ${source}: history before it was changed, or the proof was`);
    return undefined;
  }
  return { size: head.size, source };
}

/** Reads what `--key` names: a note verifier key, or a file holding one or an Ed25519 public key (PEM). */
export function readKeyArgument(arg: string): { key?: VerifierKey; publicKey?: Buffer } {
  if (/^[^+\s]+\+[0-9a-f]{8}\+/.test(arg) && !fs.existsSync(arg)) return { key: parseVerifierKey(arg) };
  const text = fs.readFileSync(arg, "utf8").trim();
  if (text.includes("-----BEGIN")) {
    const jwk = createPublicKey(text).export({ format: "jwk" }) as { crv?: string; x?: string };
    if (jwk.crv !== "Ed25519" || !jwk.x) throw new Error(`${arg} is not an Ed25519 public key`);
    return { publicKey: Buffer.from(jwk.x, "base64url") };
  }
  return { key: parseVerifierKey(text) };
}

/** An anchor argument: an anchor file (`checkpoint --print`) or a signed tree head note. */
export function readAnchorArgument(file: string): string {
  const text = fs.readFileSync(file, "utf8");
  if (text.trimStart().startsWith("{")) {
    const note = (JSON.parse(text) as { tree_note?: unknown }).tree_note;
    if (typeof note !== "string") throw new Error(`${file} holds no tree head (tree_note); make it with "agent-audit checkpoint --print"`);
    return note;
  }
  return text;
}

/** The verdict an auditor reads; untrusted strings escaped. Exit 0 valid and trusted, 3 valid but signer not trusted, 1 invalid. */
export function printVerdict(r: BundleReport, givenKeys: number): number {
  const write = (text: string) => process.stdout.write(revealHidden(text).text);
  if (!r.ok) {
    write(`Evidence INVALID (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}):\n${r.problems.map((p) => `  ${p}`).join("\n")}\n`);
    return 1;
  }
  const c = r.coverage!;
  const what =
    c.kind === "range"
      ? `events ${c.from}–${c.to}, every one`
      : `session ${JSON.stringify(c.sessionId)}: every event from seq ${c.from} ${c.ended ? `to its end at seq ${c.to}` : `to ${c.to}; it had not ended then`}`;
  const body = `${r.events} event${r.events === 1 ? "" : "s"} (${what}) included in the ${r.treeSize}-event tree of ${r.origin}`;
  const consistency = r.consistentWith ? `Consistent with the earlier tree head of ${r.consistentWith.size} events in ${r.consistentWith.source}.\n` : "";
  const notes = r.notes.map((n) => `${n}\n`).join("");
  if (r.trusted) {
    write(`Evidence VALID: ${body}, signed by a key you trust:\n  ${r.signer}\n${consistency}${notes}`);
    return 0;
  }
  write(
    `Evidence consistent, signer not trusted: ${body}, signed by\n  ${r.signer}\n` +
      `${givenKeys ? "which is none of the keys you gave" : "No key was given to check the signer against"}: ` +
      `give the key the trail's owner published with --key (a note verifier key, or a PEM public key file).\n${consistency}${notes}`,
  );
  return 3;
}

/** `node verify-bundle.js [DIR] [--key VKEY|FILE]... [--anchor FILE]`: exit 0 valid and trusted, 3 signer not trusted, 1 invalid, 2 bad arguments. */
export function main(argv: string[]): number {
  let dir: string | undefined;
  const keys: VerifierKey[] = [];
  const publicKeys: Buffer[] = [];
  let anchor: VerifyBundleOptions["anchor"];
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === "--key" || a === "--anchor") {
        const v = argv[++i];
        if (v === undefined) throw new Error(`${a} needs a value`);
        if (a === "--anchor") anchor = { note: readAnchorArgument(v), source: v, required: true };
        else {
          const k = readKeyArgument(v);
          if (k.key) keys.push(k.key);
          if (k.publicKey) publicKeys.push(k.publicKey);
        }
      } else if (dir === undefined && !a.startsWith("--")) dir = a;
      else throw new Error(`unknown argument ${JSON.stringify(a)}`);
    }
  } catch (err) {
    process.stderr.write(revealHidden(`verify-bundle: ${(err as Error).message}\nusage: node verify-bundle.js [DIR] [--key VKEY|FILE]... [--anchor FILE]\n`).text);
    return 2;
  }
  return printVerdict(verifyBundle(dir ?? ".", { keys, publicKeys, anchor }), keys.length + publicKeys.length);
}

// Verifies an evidence bundle written by `agent-audit evidence`, with Node's crypto and nothing
// else: this file is also shipped, compiled, as verify-bundle.js inside every bundle, so an
// auditor can read it and run `node verify-bundle.js <bundle folder>` on a machine that has
// neither this project nor the trail. It imports only Node's built-in modules on purpose.
//
// What it checks:
//   1. checkpoint.txt is a C2SP signed note (https://c2sp.org/signed-note) carrying a C2SP
//      tlog-checkpoint (https://c2sp.org/tlog-checkpoint), signed by the Ed25519 key in
//      vkey.txt (a note verifier key, name+keyid+base64 key). Compare that key with the one
//      the trail's owner gave you: the bundle can only prove who signed if you know the key.
//   2. Each line of events.jsonl, as bytes, is a leaf of the RFC 9162 Merkle tree whose size and
//      root the checkpoint states: leaf = SHA-256(0x00 ‖ line), node = SHA-256(0x01 ‖ l ‖ r),
//      checked with the inclusion proof in proofs.json (RFC 9162 §2.1.3.2).
//   3. When proofs.json has a previous tree head (an earlier anchored checkpoint), the
//      consistency proof shows the checkpoint's tree extends it (RFC 9162 §2.1.4.2).
import { createHash, createPublicKey, verify as verifySignature } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { revealHidden } from "../shared/hiddenText";

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const ONE = Buffer.from([1]);

/** "Until LSB(fn) is set or fn is 0: right-shift fn and sn", a step both RFC 9162 checks take. */
function shiftWhileEven(fn: number, sn: number): [number, number] {
  while (fn % 2 === 0 && fn !== 0) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return [fn, sn];
}

/** RFC 9162 §2.1.3.2: does `proof` lead from leaf `index` (hash `leaf`) to `root` in a tree of `size`? */
export function verifyInclusion(index: number, size: number, leaf: Buffer, proof: Buffer[], root: Buffer): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(ONE, p, r);
      [fn, sn] = shiftWhileEven(fn, sn);
    } else {
      r = sha256(ONE, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: is the tree (`second`, `secondRoot`) an extension of (`first`, `firstRoot`)? */
export function verifyConsistency(first: number, second: number, proof: Buffer[], firstRoot: Buffer, secondRoot: Buffer): boolean {
  if (first < 1 || first > second) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = sha256(ONE, c, fr);
      sr = sha256(ONE, c, sr);
      [fn, sn] = shiftWhileEven(fn, sn);
    } else {
      sr = sha256(ONE, sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}

export interface VerifierKey {
  name: string;
  keyId: number;
  publicKey: Buffer;
}

/** The key ID of an Ed25519 note key: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key), big-endian. */
export function noteKeyId(name: string, publicKey: Buffer): number {
  return sha256(Buffer.from(name, "utf8"), Buffer.from([0x0a, 0x01]), publicKey).readUInt32BE(0);
}

/** Parses a verifier key `name+hex8+base64(0x01 ‖ 32-byte key)`; throws on anything else. */
export function parseVerifierKey(vkey: string): VerifierKey {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey.trim());
  if (!m) throw new Error(`not a note verifier key: ${JSON.stringify(vkey.slice(0, 80))}`);
  const raw = Buffer.from(m[3], "base64");
  if (raw.toString("base64") !== m[3]) throw new Error("the verifier key's base64 is not canonical");
  if (raw.length !== 33 || raw[0] !== 0x01) throw new Error("the verifier key is not an Ed25519 (type 0x01) key");
  const publicKey = raw.subarray(1);
  const keyId = parseInt(m[2], 16);
  if (noteKeyId(m[1], publicKey) !== keyId) throw new Error("the verifier key's ID does not match its name and key");
  return { name: m[1], keyId, publicKey };
}

/** Verifies a signed note with `key`; returns its text (signed lines, final newline included). */
export function openNote(note: string, key: VerifierKey): string {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("not a signed note (no blank line before the signatures)");
  const text = note.slice(0, split + 1);
  const pub = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: key.publicKey.toString("base64url") }, format: "jwk" });
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+=*)$/.exec(line);
    if (!m) throw new Error(`malformed signature line: ${JSON.stringify(line.slice(0, 80))}`);
    const sig = Buffer.from(m[2], "base64");
    if (m[1] !== key.name || sig.length !== 68 || sig.readUInt32BE(0) !== key.keyId) continue;
    if (verifySignature(null, Buffer.from(text, "utf8"), pub, sig.subarray(4))) return text;
    throw new Error(`the signature by ${key.name} does not verify: the note or its signature was changed`);
  }
  throw new Error(`the note carries no signature by ${key.name} (${key.keyId.toString(16).padStart(8, "0")})`);
}

/** Parses a C2SP tlog-checkpoint body: origin, tree size, root hash (extension lines ignored). */
export function parseCheckpoint(text: string): { origin: string; size: number; root: Buffer } {
  const lines = text.split("\n");
  if (lines.length < 4 || !/^\d+$/.test(lines[1]) || !/^[A-Za-z0-9+/]{43}=$/.test(lines[2])) throw new Error("not a tlog-checkpoint (origin, size, base64 root)");
  return { origin: lines[0], size: Number(lines[1]), root: Buffer.from(lines[2], "base64") };
}

interface ProofsFile {
  format: string;
  tree_size: number;
  leaves: { seq: number; index: number; inclusion: string[] }[];
  previous?: { tree_size: number; root: string; consistency: string[]; checkpoint?: string; vkey?: string };
}

export interface BundleReport {
  ok: boolean;
  origin?: string;
  treeSize?: number;
  key?: string;
  events: number;
  problems: string[];
}

/** Checks a bundle folder; every problem is named (which file, which event, which proof). */
export function verifyBundle(dir: string): BundleReport {
  const problems: string[] = [];
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
  let key: VerifierKey;
  let cp: { origin: string; size: number; root: Buffer };
  let vkey = "";
  try {
    vkey = read("vkey.txt").trim();
    key = parseVerifierKey(vkey);
    cp = parseCheckpoint(openNote(read("checkpoint.txt"), key));
  } catch (err) {
    return { ok: false, events: 0, problems: [`checkpoint.txt / vkey.txt: ${(err as Error).message}`] };
  }
  let proofs: ProofsFile;
  try {
    proofs = JSON.parse(read("proofs.json")) as ProofsFile;
  } catch (err) {
    return { ok: false, origin: cp.origin, treeSize: cp.size, key: vkey, events: 0, problems: [`proofs.json: ${(err as Error).message}`] };
  }
  if (proofs.tree_size !== cp.size) problems.push(`proofs.json is for a tree of ${proofs.tree_size} events, the checkpoint for ${cp.size}`);
  const lines = read("events.jsonl").split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length !== proofs.leaves.length) problems.push(`events.jsonl has ${lines.length} events, proofs.json ${proofs.leaves.length} proofs`);
  lines.forEach((line, i) => {
    const p = proofs.leaves[i];
    if (!p) return;
    let seq: unknown;
    try {
      seq = (JSON.parse(line) as { seq?: unknown }).seq;
    } catch {
      seq = undefined;
    }
    const where = `event seq ${p.seq} (events.jsonl line ${i + 1})`;
    if (seq !== p.seq || p.index !== p.seq - 1) problems.push(`${where}: the line says seq ${String(seq)}, its proof is for leaf ${p.index}`);
    const proof = p.inclusion.map((h) => Buffer.from(h, "base64"));
    if (!verifyInclusion(p.index, cp.size, sha256(Buffer.from([0]), Buffer.from(line, "utf8")), proof, cp.root)) {
      problems.push(`${where}: its inclusion proof does not lead to the checkpoint's root: the event or its proof was changed`);
    }
  });
  if (proofs.previous) {
    const prev = proofs.previous;
    const prevRoot = Buffer.from(prev.root, "base64");
    if (!verifyConsistency(prev.tree_size, cp.size, prev.consistency.map((h) => Buffer.from(h, "base64")), prevRoot, cp.root)) {
      problems.push(`proofs.json previous: the tree of ${cp.size} events does not extend the previous tree head (${prev.tree_size} events): history before it was changed, or the proof was`);
    }
    if (prev.checkpoint) {
      try {
        // The previous head may be signed by an earlier key of the same owner (rotation).
        const p = parseCheckpoint(openNote(prev.checkpoint, prev.vkey ? parseVerifierKey(prev.vkey) : key));
        if (p.origin !== cp.origin) problems.push(`proofs.json previous: the previous checkpoint is for ${p.origin}, not ${cp.origin}`);
        if (p.size !== prev.tree_size || !p.root.equals(prevRoot)) problems.push("proofs.json previous: the previous signed checkpoint states another size or root");
      } catch (err) {
        problems.push(`proofs.json previous checkpoint: ${(err as Error).message}`);
      }
    }
  }
  return { ok: problems.length === 0, origin: cp.origin, treeSize: cp.size, key: vkey, events: lines.length, problems };
}

/** `node verify-bundle.js [DIR]`: prints the verdict; exit 0 valid, 1 invalid. */
export function main(argv: string[]): number {
  const dir = argv[0] ?? ".";
  const r = verifyBundle(dir);
  // A bundle is someone else's file: its origin and the problems quoting it are printed with
  // control characters escaped (this script also runs on its own, outside the CLI's guard).
  const write = (text: string) => process.stdout.write(revealHidden(text).text);
  if (r.ok) {
    write(
      `Evidence VALID: ${r.events} event${r.events === 1 ? "" : "s"} included in the ${r.treeSize}-event tree of ${r.origin}, signed by\n  ${r.key}\n` +
        "Check that this key is the one the trail's owner published; the bundle cannot prove that by itself.\n",
    );
    return 0;
  }
  write(`Evidence INVALID (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}):\n${r.problems.map((p) => `  ${p}`).join("\n")}\n`);
  return 1;
}

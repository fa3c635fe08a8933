// RFC 9162 (Certificate Transparency v2) Merkle proofs, checked with Node's crypto only: this
// file is compiled into the standalone verify-bundle.js shipped in every evidence bundle.
import { createHash } from "node:crypto";

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

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ the leaf's bytes). */
export function leafOf(bytes: Uint8Array): Buffer {
  return sha256(Buffer.from([0]), bytes);
}

/** SHA-256 of the disclosed seqs ("1,2,5"), as a bundle's signed coverage line names them. */
export function seqListDigest(seqs: number[]): string {
  return sha256(Buffer.from(seqs.join(","), "utf8")).toString("hex");
}

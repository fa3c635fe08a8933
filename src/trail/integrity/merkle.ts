import * as crypto from "node:crypto";
import { createHash } from "node:crypto";

/**
 * The Merkle tree of RFC 9162 §2.1 (the Certificate Transparency tree) over a trail's
 * events: leaf = SHA-256(0x00 ‖ canonical event), node = SHA-256(0x01 ‖ left ‖ right). Its
 * root commits to every event and their order; an inclusion proof shows one event is in a
 * tree of a given root, a consistency proof that a later tree extends an earlier one.
 *
 * The tree is kept as levels in which a lone right-most node is carried up unchanged: that is
 * exactly RFC 9162's MTH (the left subtree is always the largest power of two), and it makes
 * every proof a walk up the levels instead of a recomputation.
 */

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);
// One-shot hashing (Node ≥ 20.12) is about three times cheaper than a Hash object for inputs
// this small, and a tree hashes two inputs per leaf: it is most of the cost of a root.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: "buffer") => Buffer }).hash;

export function leafHash(data: Uint8Array | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return oneShot ? oneShot("sha256", Buffer.concat([LEAF, bytes]), "buffer") : createHash("sha256").update(LEAF).update(bytes).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return oneShot ? oneShot("sha256", Buffer.concat([NODE, left, right], 65), "buffer") : createHash("sha256").update(NODE).update(left).update(right).digest();
}

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT = createHash("sha256").digest();

/** A whole tree in memory (32 bytes per node, about 2 × 32 bytes per leaf). */
export class MerkleTree {
  /** levels[0] are the leaf hashes; levels[top] has the root. */
  private readonly levels: Buffer[][] = [[]];

  get size(): number {
    return this.levels[0].length;
  }

  /** Appends a leaf (already hashed with leafHash). */
  append(leaf: Buffer): void {
    this.levels[0].push(leaf);
    let idx = this.levels[0].length - 1;
    for (let l = 0; idx % 2 === 1; l++) {
      // A completed pair: its parent is new (or replaces a carried-up lone node).
      const parent = nodeHash(this.levels[l][idx - 1], this.levels[l][idx]);
      idx = idx >> 1;
      this.levels[l + 1] ??= [];
      this.levels[l + 1][idx] = parent;
    }
  }

  /** MTH of the first `n` leaves (default: all). */
  root(n = this.size): Buffer {
    if (n < 0 || n > this.size) throw new RangeError(`tree has ${this.size} leaves, not ${n}`);
    return n === 0 ? EMPTY_ROOT : this.subtree(0, n);
  }

  /** The audit path of leaf `index` in the tree of the first `n` leaves, leaf side first (RFC 9162 §2.1.3.1). */
  inclusionProof(index: number, n = this.size): Buffer[] {
    if (index < 0 || index >= n || n > this.size) throw new RangeError(`no leaf ${index} in a tree of ${n}`);
    const out: Buffer[] = [];
    this.path(index, 0, n, out);
    return out;
  }

  /** Proof that the tree of the first `m` leaves is a prefix of the tree of the first `n` (RFC 9162 §2.1.4.1). */
  consistencyProof(m: number, n = this.size): Buffer[] {
    if (m < 0 || m > n || n > this.size) throw new RangeError(`cannot prove ${m} → ${n} in a tree of ${this.size}`);
    if (m === 0 || m === n) return [];
    const out: Buffer[] = [];
    this.subproof(m, 0, n, true, out);
    return out;
  }

  /** MTH(D[start : start + n]). Aligned power-of-two ranges come straight from the levels. */
  private subtree(start: number, n: number): Buffer {
    if (n === 1) return this.levels[0][start];
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const level = Math.log2(n);
      const node = this.levels[level]?.[start / n];
      if (node && (start + n) <= this.size) return node;
    }
    const k = largestPowerOfTwoBelow(n);
    return nodeHash(this.subtree(start, k), this.subtree(start + k, n - k));
  }

  private path(m: number, start: number, n: number, out: Buffer[]): void {
    if (n === 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      this.path(m, start, k, out);
      out.push(this.subtree(start + k, n - k));
    } else {
      this.path(m - k, start + k, n - k, out);
      out.push(this.subtree(start, k));
    }
  }

  private subproof(m: number, start: number, n: number, complete: boolean, out: Buffer[]): void {
    if (m === n) {
      if (!complete) out.push(this.subtree(start, n));
      return;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      this.subproof(m, start, k, complete, out);
      out.push(this.subtree(start + k, n - k));
    } else {
      this.subproof(m - k, start + k, n - k, false, out);
      out.push(this.subtree(start, k));
    }
  }
}

/**
 * The right edge of a tree (RFC 9162's "compact range" of [0, size)): the roots of the
 * perfect subtrees that cover the leaves, largest first, one per set bit of the size. Enough
 * to append and to compute the root of the whole tree, in O(log n) memory; a seal stores it
 * so the tree goes on without re-reading sealed segments.
 */
export class MerkleFrontier {
  private constructor(
    private count: number,
    /** Subtree roots, left to right; their sizes are the set bits of `count`, largest first. */
    private readonly nodes: Buffer[],
  ) {}

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  /** From `toJSON()` and the size it covers; throws when they do not fit together. */
  static fromJSON(size: number, hex: unknown): MerkleFrontier {
    if (!Array.isArray(hex) || hex.length !== popCount(size) || !hex.every((h) => typeof h === "string" && /^[0-9a-f]{64}$/.test(h))) {
      throw new Error(`a Merkle frontier of ${size} leaves has ${popCount(size)} hex roots`);
    }
    return new MerkleFrontier(size, hex.map((h: string) => Buffer.from(h, "hex")));
  }

  get size(): number {
    return this.count;
  }

  append(leaf: Buffer): void {
    let node = leaf;
    // Each trailing 1 bit of the old size is a subtree of the new leaf's size to merge with.
    for (let n = this.count; n & 1; n >>= 1) node = nodeHash(this.nodes.pop()!, node);
    this.nodes.push(node);
    this.count++;
  }

  /** MTH of all leaves so far: the subtrees folded right to left. */
  root(): Buffer {
    if (this.count === 0) return EMPTY_ROOT;
    let acc = this.nodes[this.nodes.length - 1];
    for (let i = this.nodes.length - 2; i >= 0; i--) acc = nodeHash(this.nodes[i], acc);
    return acc;
  }

  toJSON(): string[] {
    return this.nodes.map((n) => n.toString("hex"));
  }
}

function popCount(n: number): number {
  let c = 0;
  for (; n > 0; n = Math.floor(n / 2)) c += n % 2;
  return c;
}

/** The largest power of two strictly less than n (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

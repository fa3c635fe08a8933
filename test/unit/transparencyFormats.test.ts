// Our Merkle tree and signed notes against the vectors the standards' implementations publish:
// the RFC 6962/9162 tree vectors (Certificate Transparency's, also used by transparency-dev)
// and the C2SP signed-note example of golang.org/x/mod/sumdb/note.
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { test } from "node:test";
import { openNote, parseCheckpoint, parseVerifierKey } from "../../src/trail/integrity/c2spNote";
import { verifyConsistency, verifyInclusion } from "../../src/trail/integrity/proofCheck";
import { EMPTY_ROOT, leafHash, MerkleTree } from "../../src/trail/integrity/merkle";
import { checkpointBody, noteVerifierKey, signNote } from "../../src/trail/integrity/signedNote";
import { ed25519Signer } from "../../src/trail/trust/signing";

const h = (hex: string) => Buffer.from(hex, "hex");
const LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

function vectorTree(): MerkleTree {
  const t = new MerkleTree();
  for (const l of LEAVES) t.append(leafHash(h(l)));
  return t;
}

test("Merkle roots, inclusion and consistency proofs match the RFC 6962/9162 test vectors", () => {
  const t = vectorTree();
  assert.equal(t.root(0).toString("hex"), EMPTY_ROOT.toString("hex"));
  assert.equal(EMPTY_ROOT.toString("hex"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (let n = 1; n <= 8; n++) assert.equal(t.root(n).toString("hex"), ROOTS[n - 1], `root of ${n} leaves`);
  // Published proofs.
  assert.deepEqual(t.inclusionProof(5, 8).map((b) => b.toString("hex")), [
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ]);
  assert.deepEqual(t.inclusionProof(2, 3).map((b) => b.toString("hex")), [ROOTS[1]]);
  assert.deepEqual(t.consistencyProof(6, 8).map((b) => b.toString("hex")), [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ]);
  assert.deepEqual(t.consistencyProof(2, 5).map((b) => b.toString("hex")), [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  ]);
  // Every proof of every tree size verifies, and fails for the wrong leaf or root.
  for (let n = 1; n <= 8; n++) {
    for (let i = 0; i < n; i++) {
      const proof = t.inclusionProof(i, n);
      assert.ok(verifyInclusion(i, n, leafHash(h(LEAVES[i])), proof, t.root(n)), `inclusion ${i} in ${n}`);
      assert.equal(verifyInclusion(i, n, leafHash(Buffer.from("x")), proof, t.root(n)), false);
      if (n > 1) assert.equal(verifyInclusion((i + 1) % n, n, leafHash(h(LEAVES[i])), proof, t.root(n)), false);
    }
    for (let m = 1; m <= n; m++) {
      const proof = t.consistencyProof(m, n);
      assert.ok(verifyConsistency(m, n, proof, t.root(m), t.root(n)), `consistency ${m} → ${n}`);
      if (m < n) assert.equal(verifyConsistency(m, n, proof, t.root(m === 1 ? 2 : m - 1), t.root(n)), false);
    }
  }
  // Published proofs verify with the verifier the bundles ship.
  assert.ok(verifyInclusion(5, 8, leafHash(h(LEAVES[5])), t.inclusionProof(5, 8), h(ROOTS[7])));
  assert.equal(verifyInclusion(4, 8, leafHash(h(LEAVES[5])), t.inclusionProof(5, 8), h(ROOTS[7])), false);
  assert.ok(verifyConsistency(6, 8, t.consistencyProof(6, 8), h(ROOTS[5]), h(ROOTS[7])));
  assert.equal(verifyConsistency(6, 8, t.consistencyProof(6, 8), h(ROOTS[4]), h(ROOTS[7])), false);
});

test("larger trees: proofs from the level cache agree with a tree built from scratch", () => {
  const t = new MerkleTree();
  for (let i = 0; i < 1000; i++) t.append(leafHash(Buffer.from(`event ${i}`)));
  for (const n of [1, 2, 3, 7, 64, 65, 100, 511, 512, 513, 999, 1000]) {
    const fresh = new MerkleTree();
    for (let i = 0; i < n; i++) fresh.append(leafHash(Buffer.from(`event ${i}`)));
    assert.ok(t.root(n).equals(fresh.root()), `root of ${n}`);
    for (const i of [0, Math.floor(n / 2), n - 1]) assert.ok(verifyInclusion(i, n, leafHash(Buffer.from(`event ${i}`)), t.inclusionProof(i, n), fresh.root()));
    for (const m of [1, Math.max(1, n - 1), Math.ceil(n / 3)]) assert.ok(verifyConsistency(m, n, t.consistencyProof(m, n), t.root(m), t.root(n)), `${m} → ${n}`);
  }
});

// golang.org/x/mod/sumdb/note's example: a published key, private key and signed note.
const PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY_SEED = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // from PRIVATE+KEY+PeterNeumann+c74f20a3+…
const PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE = `${PETER_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

test("C2SP signed notes: the Go reference vector opens, and our signer reproduces it byte for byte", () => {
  const key = parseVerifierKey(PETER_VKEY);
  assert.equal(key.name, "PeterNeumann");
  assert.equal(key.keyId, 0xc74f20a3);
  assert.equal(openNote(PETER_NOTE, key), PETER_TEXT);
  assert.throws(() => openNote(PETER_NOTE.replace("cryptography", "cryptographY"), key), /does not verify/);
  for (const bad of ["PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"]) {
    assert.throws(() => parseVerifierKey(bad), bad);
  }
  // The same private key through our signer (Ed25519 is deterministic): the same note.
  const seed = Buffer.from(PETER_SKEY_SEED, "base64").subarray(1);
  const pem = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: seed.toString("base64url"), x: key.publicKey.toString("base64url") }, format: "jwk" }).export({ type: "pkcs8", format: "pem" }).toString();
  const signer = ed25519Signer(pem);
  assert.equal(noteVerifierKey("PeterNeumann", signer.key.public_key), PETER_VKEY);
  assert.equal(signNote(PETER_TEXT, "PeterNeumann", signer), PETER_NOTE);
  // And a tlog-checkpoint body round-trips.
  const body = checkpointBody("example.com/log", 8, h(ROOTS[7]));
  const cp = parseCheckpoint(openNote(signNote(body, "PeterNeumann", signer), key));
  assert.deepEqual([cp.origin, cp.size, cp.root.toString("hex")], ["example.com/log", 8, ROOTS[7]]);
});

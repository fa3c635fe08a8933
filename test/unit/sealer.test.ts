// The sealer on its own: when a seal is due, the segment file it writes once, what is carried
// into the next active segment (events and blobs committed while the worker ran), and the swap
// of trail.db that is its commit point.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { sha256Hex } from "../../src/trail/integrity/hashChain";
import { readSealedSegment, sealSignatureValid, segmentsDirFor } from "../../src/trail/store/segments";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { storeParts, toolResult } from "../helpers/storeParts";

test("a seal is due past sealBytes, and never with sealBytes 0", async (t) => {
  const p = await storeParts(t, { sealBytes: 2000 });
  assert.equal(p.sealer.due(), false);
  for (let i = 1; i <= 12; i++) await p.commit([toolResult(i)]);
  assert.equal(p.sealer.due(), true);
  const never = await storeParts(t, { sealBytes: 0 });
  for (let i = 1; i <= 12; i++) await never.commit([toolResult(i)]);
  assert.equal(never.sealer.due(), false);
});

test("what is committed while the worker runs is carried into the next segment, blobs included", async (t) => {
  const signer = ed25519Signer(generateSigningKey());
  const p = await storeParts(t, { sealBytes: 2000, signer, checkpointEvery: 1000 });
  const shared = { kind: "message" as const, body: "the same file, before and during the seal" };
  await p.commit([toolResult(1, { blobs: [shared] })]);
  for (let i = 2; i <= 12; i++) await p.commit([toolResult(i)]);
  p.checkpointer.want();
  await p.commit([]); // as the store does: a checkpoint at the segment's last event first
  const sealedHead = p.segment.head;
  p.sealer.start();
  assert.equal(p.sealer.busy, true);
  // Appends go on meanwhile; one brings a blob the sealed part already has.
  const during = await p.commit([toolResult(13, { blobs: [shared] }), toolResult(14)]);
  await p.sealer.settled;
  p.sealer.finish();
  assert.equal(p.sealer.busy, false);

  const seal = p.segment.seals[0];
  assert.equal(seal.segment_no, 1);
  assert.equal(seal.last_seq, sealedHead.seq);
  assert.equal(seal.last_hash, sealedHead.hash);
  assert.ok(sealSignatureValid(seal, signer.key.public_key));
  assert.deepEqual(p.segment.base, sealedHead, "the next segment starts after the sealed head");
  assert.deepEqual(p.segment.head, { seq: 14, hash: during[1].hash }, "the head is where the carried events end");
  const db = p.segment.database;
  assert.deepEqual(db.exec("SELECT seq FROM events ORDER BY seq")[0].values.map((r) => r[0]), [13, 14]);
  assert.equal(db.exec("SELECT count(*) FROM blobs WHERE hash = ?", [sha256Hex(shared.body)])[0].values[0][0], 1, "the next segment holds the blob its event brought");

  // The segment file is the sealed part, as its seal states; trail.db on disk is the next segment.
  const file = readSealedSegment(segmentsDirFor(p.trailPath), seal)!;
  assert.equal(sha256Hex(file.bytes!), seal.file_sha256);
  const onDisk = new p.sql.Database(fs.readFileSync(p.trailPath));
  t.after(() => onDisk.close());
  assert.equal(onDisk.exec("SELECT count(*) FROM seals")[0].values[0][0], 1);
  assert.deepEqual(onDisk.exec("SELECT max(seq) FROM events")[0].values[0][0], 14);
  // The journal restarted from the head: nothing in it yet.
  assert.equal(p.journal.recordBytes, 0);
  assert.match(fs.readFileSync(p.journal.path, "utf8"), /"base_seq":14/);
});

test("a failed commit during a seal takes back the blobs it noted", async (t) => {
  const p = await storeParts(t, { sealBytes: 2000 });
  for (let i = 1; i <= 12; i++) await p.commit([toolResult(i)]);
  p.sealer.start();
  assert.equal(p.sealer.noteBlob("h1"), true);
  assert.equal(p.sealer.noteBlob("h1"), false, "noted once");
  p.sealer.forgetBlobs(["h1"]);
  assert.equal(p.sealer.noteBlob("h1"), true, "due again after the failed commit");
  await p.sealer.abandon();
  assert.equal(p.sealer.busy, false);
  assert.equal(p.segment.seals.length, 0, "an abandoned seal changes nothing");
  assert.ok(fs.existsSync(path.join(path.dirname(p.trailPath), "segments")));
});

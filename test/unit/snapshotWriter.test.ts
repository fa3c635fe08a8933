// The snapshot writer on its own: when a rewrite is due, the background write and the swap,
// and a stale write (someone else rewrote trail.db, or the journal restarted) dropped.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { SnapshotWriter } from "../../src/trail/store/snapshotWriter";
import { tempDir } from "../helpers/tempDir";

const head = { seq: 3, hash: "h3" };

test("written in the background, swapped in on finish, with where the journal restarts", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const w = new SnapshotWriter(file, {}, () => undefined);
  w.writeNow(Buffer.from("old"));
  assert.equal(w.changedOnDisk(), false);
  w.start(Buffer.from("new bytes"), head, 7n, 120);
  assert.equal(w.writing, true);
  assert.equal(fs.readFileSync(file, "utf8"), "old", "nothing replaced before finish");
  await w.written;
  assert.equal(w.done, true);
  assert.deepEqual(w.finish(7n), { head, journalCut: 120 });
  assert.equal(fs.readFileSync(file, "utf8"), "new bytes");
  assert.equal(w.size, 9);
  assert.equal(w.changedOnDisk(), false);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["trail.db"], "no temp file left");
});

test("a write is dropped when trail.db was replaced meanwhile or the journal restarted", async (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const w = new SnapshotWriter(file, {}, () => undefined);
  w.writeNow(Buffer.from("old"));
  w.start(Buffer.from("ours"), head, 7n, 10);
  await w.written;
  assert.equal(w.finish(8n), undefined, "another journal: stale");
  assert.equal(fs.readFileSync(file, "utf8"), "old");

  w.start(Buffer.from("ours"), head, 7n, 10);
  fs.writeFileSync(file, "someone else's");
  assert.equal(w.changedOnDisk(), true);
  await w.written;
  assert.equal(w.finish(7n), undefined, "trail.db changed: stale");
  assert.equal(fs.readFileSync(file, "utf8"), "someone else's");
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["trail.db"]);
});

test("due when the journal passes both the minimum and the share of the snapshot", (t) => {
  const file = path.join(tempDir(t), "trail.db");
  const w = new SnapshotWriter(file, { minJournalBytesForSnapshot: 100, snapshotJournalRatio: 0.5 }, () => undefined);
  w.writeNow(Buffer.alloc(1000));
  assert.equal(w.journalIsLarge(99), false);
  assert.equal(w.journalIsLarge(499), false, "under half the snapshot");
  assert.equal(w.journalIsLarge(500), true);
});

test("read returns bytes unchanged while reading, accepted only when loaded", (t) => {
  const file = path.join(tempDir(t), "trail.db");
  fs.writeFileSync(file, "v1");
  const w = new SnapshotWriter(file, {}, () => undefined);
  const { bytes, identity } = w.read();
  assert.equal(bytes.toString(), "v1");
  assert.equal(w.changedOnDisk(), true, "not loaded yet");
  w.loaded(identity, bytes.length);
  assert.equal(w.changedOnDisk(), false);
});

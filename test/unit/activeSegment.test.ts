// The active segment on its own: opening trail.db's bytes (refusing what is not a trail),
// applying journal records (a valid continuation only), the head, and the running Merkle
// tree every insert extends and every rollback resets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ActiveSegment } from "../../src/trail/store/activeSegment";
import type { StoredEvent } from "../../src/trail/store/eventTypes";
import { GENESIS_HASH } from "../../src/trail/integrity/hashChain";
import { createTrailDatabase, openTrailDatabase } from "../../src/trail/store/segmentDatabase";
import { loadSqlEngine } from "../../src/trail/store/sqlEngine";
import { TrailError } from "../../src/trail/store/trailErrors";
import { buildTrailTree } from "../../src/trail/integrity/trailMerkle";
import { toolResult } from "../helpers/storeParts";

async function newSegment(t: { after(fn: () => void): void }) {
  const sql = await loadSqlEngine();
  const seg = new ActiveSegment(sql, { trail: "/x/trail.db", journal: "/x/trail.journal", segmentsDir: "/x/segments", readOnly: false }, undefined, () => undefined);
  seg.adopt(createTrailDatabase(sql, new Date().toISOString()));
  t.after(() => seg.close());
  return { sql, seg };
}

function add(seg: ActiveSegment, i: number): StoredEvent {
  const input = toolResult(i);
  const e = seg.buildEvent(input, JSON.stringify(input.content));
  seg.insert(e);
  return e;
}

test("inserts chain from the genesis and move the head; the running tree follows every insert", async (t) => {
  const { seg } = await newSegment(t);
  assert.deepEqual(seg.head, { seq: 0, hash: GENESIS_HASH });
  seg.begin();
  const a = add(seg, 1);
  const root1 = Buffer.from(seg.tree.root(1));
  const b = add(seg, 2);
  seg.release(100);
  assert.equal(a.prev_hash, GENESIS_HASH);
  assert.equal(b.prev_hash, a.hash);
  assert.deepEqual(seg.head, { seq: 2, hash: b.hash });
  assert.equal(seg.hashAtSeq(1), a.hash);
  assert.ok(seg.tree.root(2).equals(buildTrailTree(seg.database).root()));
  assert.ok(!root1.equals(seg.tree.root(2)));
  assert.equal(seg.activeBytes, 100);
});

test("a rollback puts the database, the head and the tree back", async (t) => {
  const { seg } = await newSegment(t);
  seg.begin();
  add(seg, 1);
  seg.release(10);
  const before = seg.head;
  seg.tree.root(1); // built: the rollback must not keep the failed leaf in it
  seg.begin();
  add(seg, 2);
  seg.rollback();
  assert.deepEqual(seg.head, before);
  assert.equal(seg.database.exec("SELECT count(*) FROM events")[0].values[0][0], 1);
  assert.ok(seg.tree.root(1).equals(buildTrailTree(seg.database).root()));
  seg.begin();
  assert.equal(add(seg, 2).seq, 2);
  seg.release(10);
});

test("journal records apply only as a valid continuation; one already held is checked, not added", async (t) => {
  const { sql, seg } = await newSegment(t);
  seg.begin();
  const e1 = add(seg, 1);
  const e2 = add(seg, 2);
  seg.release(0);
  // A second segment opened from the first one's bytes, one event behind it.
  const other = new ActiveSegment(sql, { trail: "/x/trail.db", journal: "/x/trail.journal", segmentsDir: "/x/segments", readOnly: false }, undefined, () => undefined);
  t.after(() => other.close());
  const bytes = seg.export();
  other.adopt(openTrailDatabase(sql, bytes, "/x/trail.db", false));
  assert.deepEqual(other.head, { seq: 2, hash: e2.hash });
  const forged = { ...e2, seq: 3, prev_hash: e2.hash, hash: "0".repeat(64) };
  const r = other.applyRecords([{ record: { e: e1 }, end: 10 }, { record: { e: forged }, end: 20 }]);
  assert.equal(r.goodEnd, 10, "stops at the record whose hash does not check");
  assert.deepEqual(r.added, []);
  assert.throws(
    () => other.applyRecords([{ record: { e: { ...e1, hash: "f".repeat(64) } }, end: 10 }]),
    (e: unknown) => e instanceof TrailError && e.code === "CORRUPT" && /disagrees/.test(e.message),
  );
});

test("bytes that are not a trail are refused with one clear line", async () => {
  const sql = await loadSqlEngine();
  assert.throws(() => openTrailDatabase(sql, Buffer.from("hello"), "/x/trail.db", false), (e: unknown) => e instanceof TrailError && e.code === "CORRUPT" && /not an SQLite database/.test(e.message));
  const empty = new sql.Database();
  const bytes = empty.export();
  empty.close();
  assert.throws(() => openTrailDatabase(sql, bytes, "/x/trail.db", false), (e: unknown) => e instanceof TrailError && e.code === "CORRUPT" && /not a readable Agent Audit trail/.test(e.message));
});

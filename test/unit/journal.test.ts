// The journal on its own: header, append + fsync, reading what was appended, and the torn-tail
// rule (an unfinished last write kept in a copy, then cut; a bad record before good ones refused).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { GENESIS_HASH } from "../../src/trail/integrity/hashChain";
import { classifyLeftover, Journal, journalPathFor } from "../../src/trail/store/journal";
import type { JournalReport } from "../../src/trail/store/journal";
import { encodeRecord } from "../../src/trail/store/journalFile";
import { TrailError } from "../../src/trail/store/trailErrors";
import { tempDir } from "../helpers/tempDir";

const TRAIL = "0f3c2a9e-5d7b-4c1e-9a2f-1b2c3d4e5f60";
const blob = (i: number) => encodeRecord({ t: { checkpoint_no: i, note: `note ${i}` } });

function fresh(t: { after(fn: () => void): void }, readOnly = false) {
  const dir = tempDir(t);
  const trailPath = path.join(dir, "trail.db");
  const logs: string[] = [];
  const journal = new Journal(journalPathFor(trailPath), trailPath, readOnly, (m) => logs.push(m));
  t.after(() => journal.close());
  return { dir, trailPath, journal, logs };
}

test("a started journal takes appends, and another handle reads exactly them", (t) => {
  const { trailPath, journal } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 0, base_hash: GENESIS_HASH });
  assert.equal(journal.recordBytes, 0);
  journal.append(Buffer.from(blob(1) + blob(2)));
  assert.equal(journal.recordBytes, Buffer.byteLength(blob(1) + blob(2)));

  const reader = new Journal(journal.path, trailPath, true, () => undefined);
  t.after(() => reader.close());
  assert.equal(reader.look(), "replaced");
  reader.open(TRAIL, 0);
  const tail = reader.readTail()!;
  assert.deepEqual(tail.records.map((r) => r.record), [{ t: { checkpoint_no: 1, note: "note 1" } }, { t: { checkpoint_no: 2, note: "note 2" } }]);
  reader.accept(tail, tail.goodEnd, 1, false);
  assert.equal(reader.readTail(), undefined, "nothing new after accepting all");
  assert.equal(reader.look(), "same");
});

test("a journal of another trail, or one that continues past the database, is refused to a writer", (t) => {
  const { journal } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 7, base_hash: "h7" });
  assert.throws(() => journal.open("another-trail", 10), (e: unknown) => e instanceof TrailError && e.code === "CORRUPT");
  assert.throws(() => journal.open(TRAIL, 3), (e: unknown) => e instanceof TrailError && e.code === "ROLLED_BACK");
});

test("a reader notes a journal that continues past the database instead of refusing it", (t) => {
  const { trailPath, journal } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 7, base_hash: "h7" });
  journal.append(Buffer.from(blob(1)));
  const reader = new Journal(journal.path, trailPath, true, () => undefined);
  t.after(() => reader.close());
  reader.open(TRAIL, 3);
  assert.deepEqual(reader.rollback, { trailEndsAt: 3, journalContinuesFrom: 7 });
  assert.equal(reader.readTail(), undefined, "nothing is applied over the gap");
});

test("a torn last write is kept in a durable copy, then cut off, under repair", (t) => {
  const { dir, journal, logs } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 0, base_hash: GENESIS_HASH });
  journal.append(Buffer.from(blob(1)));
  const torn = '{"e":{"seq":2,"event_id":"x"'; // no newline: a write cut short
  fs.appendFileSync(journal.path, torn);
  const sizeBefore = fs.statSync(journal.path).size;

  const writer = new Journal(journal.path, path.join(dir, "trail.db"), false, (m) => logs.push(m));
  t.after(() => writer.close());
  writer.open(TRAIL, 0);
  const tail = writer.readTail()!;
  assert.equal(tail.records.length, 1);
  const report: JournalReport = { discardedBytes: 0 };
  writer.accept(tail, tail.goodEnd, 2, true, report);
  assert.equal(report.discardedBytes, torn.length);
  assert.ok(report.discardedCopy && fs.readFileSync(report.discardedCopy, "utf8") === torn, "the copy holds exactly the torn bytes");
  assert.equal(fs.statSync(journal.path).size, sizeBefore - torn.length, "cut off after the last good record");
  assert.equal(writer.end, sizeBefore - torn.length);
  assert.ok(logs.some((l) => /discarded \d+ bytes of an unfinished write/.test(l)));
});

test("without repair (a reader) a torn tail is counted but nothing is cut or copied", (t) => {
  const { dir, journal } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 0, base_hash: GENESIS_HASH });
  fs.appendFileSync(journal.path, '{"e":{"seq":1');
  const size = fs.statSync(journal.path).size;
  const reader = new Journal(journal.path, path.join(dir, "trail.db"), true, () => undefined);
  t.after(() => reader.close());
  reader.open(TRAIL, 0);
  const tail = reader.readTail()!;
  const report: JournalReport = { discardedBytes: 0 };
  reader.accept(tail, tail.goodEnd, 1, false, report);
  assert.equal(report.discardedBytes, 13);
  assert.equal(report.discardedCopy, undefined);
  assert.equal(fs.statSync(journal.path).size, size);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("discarded")), []);
});

test("a bad record with complete lines after it is corruption: a writer refuses, a reader reports and reads no further", (t) => {
  const { dir, journal } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 0, base_hash: GENESIS_HASH });
  fs.appendFileSync(journal.path, 'garbage\n{"e":{"seq":5}}\n');
  const bytes = fs.readFileSync(journal.path);

  const writer = new Journal(journal.path, path.join(dir, "trail.db"), false, () => undefined);
  t.after(() => writer.close());
  writer.open(TRAIL, 0);
  const tail = writer.readTail()!;
  assert.throws(() => writer.accept(tail, tail.goodEnd, 1, true), (e: unknown) => e instanceof TrailError && e.code === "CORRUPT" && /seq 1–5/.test(e.message));
  assert.deepEqual(fs.readFileSync(journal.path), bytes, "not a byte changed");

  const reader = new Journal(journal.path, path.join(dir, "trail.db"), true, () => undefined);
  t.after(() => reader.close());
  reader.open(TRAIL, 0);
  const rtail = reader.readTail()!;
  const report: JournalReport = { discardedBytes: 0 };
  reader.accept(rtail, rtail.goodEnd, 1, false, report);
  assert.deepEqual(report.corruption, { fromSeq: 1, toSeq: 5, offset: rtail.at });
  fs.appendFileSync(journal.path, blob(9));
  assert.equal(reader.readTail(), undefined, "past a damaged record nothing is read");
});

test("classifyLeftover: only a last line without its newline is torn", () => {
  assert.deepEqual(classifyLeftover(Buffer.from('{"e":{"seq":3'), 3), { kind: "torn" });
  assert.deepEqual(classifyLeftover(Buffer.from('{"e":{"seq":3,"x":1}}junk\n'), 3), { kind: "corrupt", fromSeq: 3, toSeq: 3 });
});

test("a failed append leaves no half-written batch behind", (t) => {
  const { journal } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 0, base_hash: GENESIS_HASH });
  journal.append(Buffer.from(blob(1)));
  const end = journal.end;
  journal.close(); // the next write fails: its descriptor is gone
  assert.throws(() => journal.append(Buffer.from(blob(2))));
  assert.equal(journal.end, end);
  assert.equal(fs.statSync(journal.path).size, end);
});

test("a restarted journal holds the carried tail after the new header; a shrunk file is noticed", (t) => {
  const { journal } = fresh(t);
  journal.start({ trail_id: TRAIL, base_seq: 0, base_hash: GENESIS_HASH });
  journal.append(Buffer.from(blob(1) + blob(2)));
  const cut = journal.end - Buffer.byteLength(blob(2));
  const carried = journal.readFrom(cut);
  assert.equal(carried.toString(), blob(2));
  journal.start({ trail_id: TRAIL, base_seq: 1, base_hash: "h1" }, carried);
  assert.equal(journal.recordBytes, carried.length);
  assert.match(fs.readFileSync(journal.path, "utf8"), /^agent-audit-journal v1 \{"trail_id":"[^"]+","base_seq":1,"base_hash":"h1"\}\n\{"t"/);
  fs.truncateSync(journal.path, 10);
  assert.equal(journal.look(), "shrunk");
});

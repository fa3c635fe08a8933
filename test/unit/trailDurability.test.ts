import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { TrailError } from "../../src/trail/store/trailErrors";
import { getEventBySeq } from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import { ProcessLock } from "../../src/trail/store/processLock";
import { sqlite3 } from "../helpers/sqliteCli";
import { verifyChain } from "../../src/trail/integrity/verifyChain";
import type { Ack } from "../helpers/childAppender";
import { startAppender } from "../helpers/childAppender";
import { tempDir } from "../helpers/tempDir";

async function assertHasEvery(trailPath: string, acks: Ack[]): Promise<number> {
  const { store } = await TrailStore.open(trailPath);
  try {
    const report = verifyChain(store.database);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    const stmt = store.database.prepare("SELECT hash, event_id FROM events WHERE seq = ?");
    for (const a of acks) {
      stmt.bind([a.seq]);
      assert.ok(stmt.step(), `acknowledged seq ${a.seq} is missing`);
      const [hash, eventId] = stmt.get();
      stmt.reset();
      assert.equal(hash, a.hash, `seq ${a.seq} differs from what was acknowledged`);
      assert.equal(eventId, a.eventId);
    }
    stmt.free();
    return store.head.seq;
  } finally {
    await store.close();
  }
}

/**
 * Flips one byte inside an event record of the journal that has acknowledged records after it
 * and is not yet in trail.db; checks that a writer refuses with the seq range and changes
 * neither file, and that a reader shows every acknowledged event before it. Restores the byte.
 * Returns false when the journal holds no such record this round.
 */
async function flipMidJournal(trailPath: string, acks: Ack[]): Promise<boolean> {
  const journal = trailPath.replace(/\.db$/, ".journal");
  if (!fs.existsSync(journal)) return false;
  const bytes = fs.readFileSync(journal);
  const snapshotHead = Number(sqlite3(trailPath, "SELECT coalesce(max(seq), 0) FROM events;").stdout.trim());
  const lines: { start: number; end: number; seq: number }[] = [];
  let pos = bytes.indexOf(0x0a) + 1; // past the header
  while (pos < bytes.length) {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) break;
    const m = /^\{"e":\{.*?"seq":(\d+)/.exec(bytes.subarray(pos, Math.min(nl, pos + 4000)).toString("utf8"));
    if (m) lines.push({ start: pos, end: nl, seq: Number(m[1]) });
    pos = nl + 1;
  }
  const candidates = lines.filter((l, i) => l.seq > snapshotHead && i < lines.length - 1);
  if (!candidates.length) return false;
  const target = candidates[Math.floor(candidates.length / 2)];
  const at = target.start + Math.floor((target.end - target.start) / 2);
  const original = bytes[at];
  const flipped = original ^ 0x04;
  if (flipped === 0x0a) return false;
  bytes[at] = flipped;
  fs.writeFileSync(journal, bytes);
  const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  const before = [sha(trailPath), sha(journal)];
  await assert.rejects(TrailStore.open(trailPath), (err: unknown) => {
    assert.ok(err instanceof TrailError && err.code === "CORRUPT", String(err));
    assert.match((err as Error).message, new RegExp(`\\(seq ${target.seq}(–\\d+)?\\)`));
    return true;
  });
  assert.deepEqual([sha(trailPath), sha(journal)], before, "a refused open changed the files");
  const { store, report } = await TrailStore.open(trailPath, { readOnly: true });
  assert.equal(report.corruption?.fromSeq, target.seq);
  assert.equal(store.head.seq, target.seq - 1, "the reader shows every event before the damage");
  for (const a of acks.filter((x) => x.seq < target.seq).slice(-50)) assert.ok(getEventBySeq(store.database, a.seq), `seq ${a.seq} is shown`);
  await store.close();
  bytes[at] = original;
  fs.writeFileSync(journal, bytes);
  return true;
}

test("kill -9 at random moments while appending loses no acknowledged event (40 rounds)", { timeout: 180_000 }, async (t) => {
  const trailPath = path.join(tempDir(t), ".agent-audit", "trail.db");
  const allAcks: Ack[] = [];
  let killedMidway = 0;
  let flips = 0;
  for (let round = 0; round < 40; round++) {
    const mode = round % 2 ? "burst" : "serial";
    // Every other pair of rounds rewrites the snapshot every ~50 events, so kills also hit
    // background snapshot writes and journal restarts.
    const app = startAppender(trailPath, 1000, `r${round}`, mode, round % 4 >= 2 ? 50_000 : 0);
    await app.firstAck;
    // Anywhere from right after the first acknowledgement to about the end of the run.
    await new Promise((r) => setTimeout(r, Math.random() * (mode === "serial" ? 300 : 60)));
    app.child.kill("SIGKILL");
    const { signal, code, stderr } = await app.exited;
    assert.ok(signal === "SIGKILL" || code === 0, `child failed: ${stderr}`);
    if (signal === "SIGKILL" && app.acks.length < 1000) killedMidway++;
    allAcks.push(...app.acks);
    // Every fourth round, one flipped byte in an acknowledged record in the middle of the
    // journal: opening must refuse and change nothing; reading shows everything before it.
    if (round % 4 === 3 && (await flipMidJournal(trailPath, allAcks))) flips++;
    const head = await assertHasEvery(trailPath, allAcks);
    assert.ok(head >= allAcks.length);
  }
  assert.ok(killedMidway >= 25, `only ${killedMidway} rounds were killed mid-run`);
  assert.ok(flips >= 5, `only ${flips} rounds flipped a byte mid-journal`);
});

for (const [mode, snapshotEvery] of [["serial", 0], ["burst", 0], ["burst", 50_000]] as const) {
  const label = `${mode}${snapshotEvery ? ", snapshots every ~50 events" : ""}`;
  test(`two processes appending 1,000 events each at once (${label}) lose nothing`, { timeout: 120_000 }, async (t) => {
    const trailPath = path.join(tempDir(t), "trail.db");
    // Create the trail first so both children race on appends, not on creation.
    (await TrailStore.open(trailPath)).store.close();
    const a = startAppender(trailPath, 1000, "a", mode, snapshotEvery);
    const b = startAppender(trailPath, 1000, "b", mode, snapshotEvery);
    const [ra, rb] = await Promise.all([a.exited, b.exited]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(a.acks.length, 1000);
    assert.equal(b.acks.length, 1000);
    const seqs = new Set([...a.acks, ...b.acks].map((x) => x.seq));
    assert.equal(seqs.size, 2000, "two events were acknowledged with the same seq");
    const head = await assertHasEvery(trailPath, [...a.acks, ...b.acks]);
    assert.equal(head, 2000);
  });
}

test("two processes creating the same new trail at once agree on one trail", { timeout: 60_000 }, async (t) => {
  const trailPath = path.join(tempDir(t), "new", "trail.db");
  const a = startAppender(trailPath, 50, "a", "serial");
  const b = startAppender(trailPath, 50, "b", "serial");
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal(await assertHasEvery(trailPath, [...a.acks, ...b.acks]), 100);
});

test("two processes reaching one trail by different paths (a symlinked folder) share its lock and stay gapless", { timeout: 120_000, skip: process.platform === "win32" && "symlinks need privileges on Windows" }, async (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, "real"));
  fs.symlinkSync(path.join(dir, "real"), path.join(dir, "alias"));
  const viaReal = path.join(dir, "real", "trail.db");
  const viaAlias = path.join(dir, "alias", ".", "trail.db");
  (await TrailStore.open(viaReal)).store.close();
  const a = startAppender(viaReal, 1000, "a", "burst");
  const b = startAppender(viaAlias, 1000, "b", "burst");
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  const seqs = new Set([...a.acks, ...b.acks].map((x) => x.seq));
  assert.equal(seqs.size, 2000, "two events were acknowledged with the same seq: the paths had different locks");
  assert.equal(await assertHasEvery(viaReal, [...a.acks, ...b.acks]), 2000);
});

test("the lock-directory fallback never takes over a lock that is being created (no pid, or an empty one), only a dead holder's", async (t) => {
  const dir = fs.realpathSync(tempDir(t));
  const file = path.join(dir, "trail.db");
  const lockDir = `${file}.lock`;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (const partial of [undefined, ""]) {
    // A holder between mkdir and writing its pid (older versions wrote it in place: empty for a moment).
    fs.mkdirSync(lockDir);
    if (partial !== undefined) fs.writeFileSync(path.join(lockDir, "pid"), partial);
    const waiter = new ProcessLock(file, "directory");
    let got = false;
    const acquired = waiter.acquire().then(() => (got = true));
    await sleep(400);
    assert.equal(got, false, `took over a lock being created (pid file ${partial === undefined ? "absent" : "empty"})`);
    fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid)); // the holder (alive) finishes
    await sleep(200);
    assert.equal(got, false, "took over a live holder's lock");
    fs.writeFileSync(path.join(lockDir, "pid"), "999999999"); // the holder is gone
    await acquired;
    assert.equal(fs.readFileSync(path.join(lockDir, "pid"), "utf8"), String(process.pid), "the waiter holds it now");
    waiter.release();
    assert.equal(fs.existsSync(lockDir), false);
  }
});

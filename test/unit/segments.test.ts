import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { ed25519Signer, generateSigningKey } from "../../src/trail/signing";
import { TrailReader } from "../../src/trail/trailReader";
import { sessionEvents as eventsOfSession } from "../../src/trail/trailQueries";
import { TrailStore } from "../../src/trail/trailStore";
import type { TrailStoreOptions } from "../../src/trail/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";

const SMALL: TrailStoreOptions = { sealBytes: 40_000, checkpointEvery: 20 };

/** A trail with several sealed segments: sessions of `steps` steps, one of them spanning seals. */
export async function sealedTrail(dir: string, opts: TrailStoreOptions = {}) {
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const signer = ed25519Signer(generateSigningKey());
  const { store } = await TrailStore.open(trailPath, { ...SMALL, signer, ...opts });
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const events = sessionEvents({ task: `task ${i}`, steps: i === 3 ? 30 : 6, failures: 2, outputBytes: 800 });
    ids.push(events[0].session_id);
    // A few events per commit, as a running agent writes them: seals fall inside sessions.
    for (let k = 0; k < events.length; k += 8) await appendLinked(store, events.slice(k, k + 8));
  }
  await store.flush();
  return { trailPath, store, ids, signer };
}

test("the active segment is sealed past sealBytes: segment files any sqlite3 reads, a continuous chain, a signed seal", async (t) => {
  const dir = tempDir(t);
  const { trailPath, store, ids } = await sealedTrail(dir);
  const seals = store.seals;
  assert.ok(seals.length >= 3, `several seals, got ${seals.length}`);
  let prev = "0".repeat(64);
  let next = 1;
  for (const s of seals) {
    assert.equal(s.first_seq, next, "segments are contiguous");
    assert.equal(s.first_prev_hash, prev, "each segment links to the previous one's last hash");
    assert.ok(s.signature, "seals are signed");
    const file = path.join(dir, ".agent-audit", "segments", s.file_name);
    const r = sqlite3(file, "SELECT min(seq), max(seq), (SELECT prev_hash FROM events ORDER BY seq LIMIT 1), (SELECT hash FROM events ORDER BY seq DESC LIMIT 1) FROM events;");
    assert.equal(r.stdout.trim(), `${s.first_seq}|${s.last_seq}|${s.first_prev_hash}|${s.last_hash}`, "sqlite3 reads the sealed segment");
    prev = s.last_hash;
    next = s.last_seq + 1;
  }
  assert.equal(store.activeBase.seq, next - 1);
  // The active trail.db holds only the events after the last seal.
  const active = sqlite3(trailPath, "SELECT coalesce(min(seq), 0) FROM events; SELECT count(*) FROM seals;").stdout.trim().split("\n");
  assert.ok(Number(active[0]) === 0 || Number(active[0]) === next, `active starts after the last seal: ${active[0]}`);
  assert.equal(Number(active[1]), seals.length);

  // Every session reads as one, with all its events, from the reader.
  const reader = new TrailReader(store);
  const list = reader.listSessions();
  assert.deepEqual(new Set(list.map((s) => s.session_id)), new Set(ids));
  for (const id of ids) {
    const summary = reader.getSession(id)!;
    const events = eventsOfSession(reader.sessionDatabase(id), id);
    assert.equal(events.length, summary.events, `session ${id.slice(0, 8)}: all events`);
    assert.equal(summary.status, "completed");
    assert.equal(summary.failed_tool_calls, 2);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].seq > events[i - 1].seq);
  }
  const spanning = reader.getSession(ids[3])!;
  const sealOf = (seq: number) => seals.find((s) => s.first_seq <= seq && seq <= s.last_seq)?.segment_no ?? "active";
  assert.notEqual(sealOf(spanning.first_seq), sealOf(spanning.last_seq), "the long session spans a seal");
  assert.equal(reader.resolveSessionId(ids[0].slice(0, 8)), ids[0]);
  reader.release();

  // Appends go on after reopening, chained to the last sealed event.
  await store.close();
  const { store: again } = await TrailStore.open(trailPath, SMALL);
  const head = again.head;
  const e = await again.append({ session_id: "after", event_type: "session_start", content: { task: "after" } });
  assert.equal(e.seq, head.seq + 1);
  assert.equal(e.prev_hash, head.hash);
  await again.close();
});

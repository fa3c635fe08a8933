// The clock steps back 400 days in the middle of a run (a VM restored from a snapshot, a bad
// NTP answer): time in the trail must not go backwards with it, or `prune --before "100 days
// ago"` removes segments whose events were acknowledged a minute ago.
import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { pruneSegments } from "../../src/trail/store/retention";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { TrailStore } from "../../src/trail/store/trailStore";
import { tempDir } from "../helpers/tempDir";

const DAY = 86_400_000;

test("a clock stepped back 400 days during a run: timestamps, checkpoints and seals never go backwards, and prune keeps what was just written", async (t) => {
  const trailPath = path.join(tempDir(t), ".agent-audit", "trail.db");
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  const signer = ed25519Signer(generateSigningKey());
  const opened = await TrailStore.open(trailPath, { signer, sealBytes: 20_000, checkpointEvery: 10, clock, log: () => undefined });
  const store = opened.store;
  const event = (i: number) => ({ session_id: "s", event_type: "tool_result", step_number: i, content: { output: "x".repeat(600), i } });
  const times: string[] = [];
  for (let i = 0; i < 40; i++) times.push((await store.append(event(i))).timestamp);
  const before = times[times.length - 1];
  offset = -400 * DAY; // the clock jumps back
  for (let i = 40; i < 120; i++) times.push((await store.append(event(i))).timestamp);
  await store.flush();
  for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1], `event ${i} is older than event ${i - 1}: ${times[i]} < ${times[i - 1]}`);
  assert.ok(times[times.length - 1] >= before);
  assert.ok(store.seals.length >= 2, `sealed ${store.seals.length}`);
  for (const s of store.seals) assert.ok(s.sealed_at >= times[0], `seal ${s.segment_no} is dated ${s.sealed_at}`);
  // "Older than 100 days" by the stepped-back clock: nothing written in the last minute goes.
  const r = await pruneSegments(store, { before: new Date(Date.now() - 100 * DAY), user: "test" });
  assert.deepEqual(r.segments, [], "segments written a minute ago were pruned");
  await store.close();
});

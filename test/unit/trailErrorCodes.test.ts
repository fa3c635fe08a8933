// Callers tell failures apart by code: an append to a read-only store and a checkpoint asked of
// a store without a key are not "invalid events".
import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { TrailError } from "../../src/trail/store/trailErrors";
import { TrailStore } from "../../src/trail/store/trailStore";
import { tempDir } from "../helpers/tempDir";

const event = { session_id: "s1", event_type: "tool_result", content: { outcome: "success" } };

test("an append to a read-only store fails with READ_ONLY", async (t) => {
  const file = path.join(tempDir(t), ".agent-audit", "trail.db");
  const { store } = await TrailStore.open(file);
  await store.append(event);
  await store.close();
  const ro = await TrailStore.open(file, { readOnly: true });
  t.after(() => ro.store.close());
  await assert.rejects(ro.store.append(event), (e: unknown) => e instanceof TrailError && e.code === "READ_ONLY" && /read-only/.test(e.message));
});

test("a checkpoint asked of a store without a signing key fails with NO_SIGNING_KEY", async (t) => {
  const file = path.join(tempDir(t), ".agent-audit", "trail.db");
  const { store } = await TrailStore.open(file);
  t.after(() => store.close());
  await assert.rejects(store.checkpointNow(), (e: unknown) => e instanceof TrailError && e.code === "NO_SIGNING_KEY");
});

test("an event that cannot be stored is still INVALID_EVENT", async (t) => {
  const file = path.join(tempDir(t), ".agent-audit", "trail.db");
  const { store } = await TrailStore.open(file);
  t.after(() => store.close());
  await assert.rejects(store.append({ ...event, session_id: "" }), (e: unknown) => e instanceof TrailError && e.code === "INVALID_EVENT");
});

test("an event whose id is already in the trail is refused with DUPLICATE_EVENT, and the rest of its batch is written", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), ".agent-audit", "trail.db"));
  const e = { session_id: "s", event_type: "session_start", content: { task: "x" }, event_id: "fixed-id-1" };
  await store.append(e);
  const [again, other] = await Promise.allSettled([store.append(e), store.append({ session_id: "s", event_type: "tool_call", content: { tool_name: "t" } })]);
  assert.equal(again.status, "rejected");
  assert.equal(((again as PromiseRejectedResult).reason as TrailError).code, "DUPLICATE_EVENT");
  assert.equal(other.status, "fulfilled");
  assert.equal(store.head.seq, 2);
  await store.close();
});

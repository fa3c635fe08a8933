import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { dayGroupOf, describeFilter, parseFilter } from "../../src/extension/sessionFilter";
import { SessionsTreeModel } from "../../src/extension/sessionsTreeModel";
import { StoreTrailSource } from "../../src/extension/trailSource";
import { TrailStore } from "../../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { tempDir } from "../helpers/tempDir";

test("the filter line: words for the index, key:value terms for fields, the rest named back", () => {
  const f = parseFilter("  npm  ERR status:failed agent:ours model:sonnet has:failures after:2026-10-01 before:2026-11-30 status:bogus url:x ")!;
  assert.equal(f.text, "npm ERR url:x", "an unknown key is searched as a word");
  assert.deepEqual([f.status, f.agent, f.model, f.hasFailures, f.after, f.before], ["error", "ours", "sonnet", true, "2026-10-01", "2026-11-30"]);
  assert.deepEqual(f.unknown, ["status:bogus"]);
  assert.equal(describeFilter(f), '"npm ERR url:x", status failed, agent ours, model sonnet, with failed tool calls, from 2026-10-01, to 2026-11-30, (not understood: status:bogus)');
  assert.equal(parseFilter("   "), undefined);
  assert.equal(parseFilter("status:cancelled")!.status, "cancelled");
});

test("day groups: Today, Yesterday, Earlier this week, then months, in local time", () => {
  const now = new Date(2026, 10, 28, 15, 0).getTime(); // 28 November 2026, 15:00 local
  const at = (d: number, h = 12) => new Date(2026, 10, d, h).toISOString();
  assert.equal(dayGroupOf(at(28, 0), now).label, "Today");
  assert.equal(dayGroupOf(at(27, 23), now).label, "Yesterday");
  assert.equal(dayGroupOf(at(22), now).label, "Earlier this week");
  assert.equal(dayGroupOf(at(21), now).label, "November 2026");
  assert.equal(dayGroupOf(new Date(2026, 9, 5).toISOString(), now).label, "October 2026");
});

test("the Sessions view groups by day and filters: a word from one tool output finds its session alone; status, failures, dates", async (t) => {
  const now = Date.now();
  const day = 86_400_000;
  let clockAt = now - 40 * day;
  const { store } = await TrailStore.open(path.join(tempDir(t), "trail.db"), { clock: () => new Date(clockAt) });
  t.after(() => store.close());
  await appendLinked(store, sessionEvents({ sessionId: "old", task: "Last month's work", steps: 2 }));
  clockAt = now - 60_000;
  for (let i = 0; i < 30; i++) await appendLinked(store, sessionEvents({ sessionId: `s${i}`, task: `Task ${i}`, steps: 2, failures: i === 7 ? 1 : 0 }));
  const needle = sessionEvents({ sessionId: "needle", task: "Find the bug", steps: 2 });
  for (const e of needle) if (e.event_type === "tool_result") (e.content as Record<string, unknown>).output = "the build log mentions quixotic-frobnicator at line 3";
  await appendLinked(store, needle.slice(0, -1)); // still running: no session_end
  const source = new StoreTrailSource("k", "ws", () => store);
  const model = new SessionsTreeModel(() => [source], () => now);
  const groups = model.roots();
  assert.deepEqual(groups.map((g) => model.view(g).label), ["Today", new Date(now - 40 * day).toLocaleString("en-US", { month: "long", year: "numeric" })]);
  assert.equal(model.view(groups[0]).collapsible, "expanded");
  assert.equal(model.view(groups[1]).collapsible, "collapsed", "older groups are read when opened");
  assert.equal(model.children(groups[0]).length, 31);

  const ids = () => model.roots().flatMap((g) => model.children(g)).map((n) => (n.kind === "session" ? n.sessionId : ""));
  model.filter = parseFilter("quixotic-frobnicator");
  assert.deepEqual(ids(), ["needle"]);
  model.filter = parseFilter("status:running");
  assert.deepEqual(ids(), ["needle"]);
  model.filter = parseFilter("has:failures");
  assert.deepEqual(ids(), ["s7"]);
  model.filter = parseFilter(`before:${new Date(now - 20 * day).toISOString().slice(0, 10)}`);
  assert.deepEqual(ids(), ["old"]);
  model.filter = parseFilter("status:completed");
  assert.equal(ids().length, 31);
  model.filter = parseFilter("month's status:completed");
  assert.deepEqual(ids(), ["old"]);
  assert.equal(model.view(model.roots()[0]).collapsible, "expanded", "a filter opens the groups it shows");
  model.filter = parseFilter("nothing-like-this-anywhere");
  assert.deepEqual(model.roots(), []);
});

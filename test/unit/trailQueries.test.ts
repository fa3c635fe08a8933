import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { canonicalJson } from "../../src/trail/integrity/canonicalJson";
import {
  failedToolCalls,
  failureCounts,
  getEventWithLinks,
  getSession,
  listSessions,
  resolveSessionId,
  searchEvents,
  sessionEvents,
} from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import { sqlite3 } from "../helpers/sqliteCli";
import { tempDir } from "../helpers/tempDir";

async function sampleTrail(t: { after(fn: () => void): void }) {
  const file = path.join(tempDir(t), "trail.db");
  const { store } = await TrailStore.open(file);
  const base = { agent_id: "agent-1", user_id: "ada", model_id: "claude-test" };
  for (const [sid, fail] of [["sess-aaa", false], ["sess-bbb", true]] as const) {
    await store.append({ ...base, session_id: sid, event_type: "session_start", content: { task: `task of ${sid}\nsecond line` } });
    const llm = await store.append({
      ...base, session_id: sid, event_type: "llm_call", step_number: 1,
      content: { usage: { input_tokens: 100, output_tokens: 20 }, latency_ms: 300 },
    });
    const call = await store.append({
      ...base, session_id: sid, event_type: "tool_call", step_number: 1, parent_event_id: llm.event_id,
      content: { tool_name: "run_command", input: { command: "npm test" }, requires_approval: true },
    });
    await store.append({
      ...base, session_id: sid, event_type: "tool_result", step_number: 1, parent_event_id: call.event_id,
      content: fail
        ? { tool_name: "run_command", outcome: "error", error: { type: "command_failed", message: "exit 1", detail: { exit_code: 1, stderr: "zebra failure" } } }
        : { tool_name: "run_command", outcome: "success", output: "all good" },
    });
    await store.append({ ...base, session_id: sid, event_type: "session_end", step_number: 1, content: { final_text: "done" } });
  }
  return { store, file };
}

test("sessions view summarises status, steps, tokens and failures, newest first", async (t) => {
  const { store, file } = await sampleTrail(t);
  const sessions = listSessions(store.database);
  assert.deepEqual(sessions.map((s) => s.session_id), ["sess-bbb", "sess-aaa"]);
  const b = sessions[0];
  assert.equal(b.status, "completed");
  assert.equal(b.task, "task of sess-bbb\nsecond line");
  assert.equal(b.steps, 1);
  assert.equal(b.input_tokens, 100);
  assert.equal(b.output_tokens, 20);
  assert.equal(b.failed_tool_calls, 1);
  assert.equal(sessions[1].failed_tool_calls, 0);
  assert.equal(getSession(store.database, "sess-aaa")?.events, 5);
  await store.close();
  // The same view answers in the sqlite3 CLI, without our code.
  const cli = sqlite3(file, "SELECT session_id, status, failed_tool_calls FROM sessions ORDER BY first_seq;");
  assert.equal(cli.stdout.trim(), "sess-aaa|completed|0\nsess-bbb|completed|1");
  const extract = sqlite3(file, "SELECT json_extract(content, '$.error.detail.stderr') FROM events WHERE error_type = 'command_failed';");
  assert.equal(extract.stdout.trim(), "zebra failure");
});

test("events of a session come in seq order, pageable, and linked both ways", async (t) => {
  const { store } = await sampleTrail(t);
  const events = sessionEvents(store.database, "sess-aaa");
  assert.deepEqual(events.map((e) => e.event_type), ["session_start", "llm_call", "tool_call", "tool_result", "session_end"]);
  const page = sessionEvents(store.database, "sess-aaa", { afterSeq: events[1].seq, limit: 2 });
  assert.deepEqual(page.map((e) => e.seq), [events[2].seq, events[3].seq]);
  const linked = getEventWithLinks(store.database, events[2].event_id)!;
  assert.equal(linked.parent?.event_type, "llm_call");
  assert.deepEqual(linked.children.map((c) => c.event_type), ["tool_result"]);
  assert.equal(linked.event.requires_approval, 1);
  await store.close();
});

test("failed tool calls across sessions come with their call and group by tool and error type", async (t) => {
  const { store } = await sampleTrail(t);
  const failed = failedToolCalls(store.database);
  assert.equal(failed.length, 1);
  assert.equal(failed[0].result.session_id, "sess-bbb");
  assert.equal(failed[0].result.error_type, "command_failed");
  assert.deepEqual(JSON.parse(failed[0].call!.content).input, { command: "npm test" });
  assert.deepEqual(failureCounts(store.database).map((c) => [c.tool_name, c.error_type, c.count]), [["run_command", "command_failed", 1]]);
  assert.equal(failedToolCalls(store.database, { errorType: "timeout" }).length, 0);
  await store.close();
});

test("text search finds events by words in their content and keeps up with new events", async (t) => {
  const { store } = await sampleTrail(t);
  assert.deepEqual(searchEvents(store.database, "zebra").map((e) => e.session_id), ["sess-bbb"]);
  assert.equal(searchEvents(store.database, "giraffe").length, 0);
  await store.append({ session_id: "sess-ccc", event_type: "tool_result", content: { output: "a giraffe appeared" } });
  assert.deepEqual(searchEvents(store.database, "giraffe").map((e) => e.session_id), ["sess-ccc"]);
  assert.equal(searchEvents(store.database, 'a" OR "b').length, 0, "user input is not query syntax");
  await store.close();
});

test("session references resolve: latest, full id, unique prefix", async (t) => {
  const { store } = await sampleTrail(t);
  assert.equal(resolveSessionId(store.database, "latest"), "sess-bbb");
  assert.equal(resolveSessionId(store.database, "sess-aaa"), "sess-aaa");
  assert.equal(resolveSessionId(store.database, "sess-b"), "sess-bbb");
  assert.throws(() => resolveSessionId(store.database, "sess-"), /more than one session/);
  assert.equal(resolveSessionId(store.database, "nope"), undefined);
  await store.close();
});

test("canonical JSON sorts keys at every depth and drops only undefined", () => {
  assert.equal(canonicalJson({ b: { z: 1, a: [2, { y: null, x: "é\n" }] }, a: undefined, c: true }), '{"b":{"a":[2,{"x":"é\\n","y":null}],"z":1},"c":true}');
  assert.throws(() => canonicalJson({ n: Infinity }), /\$\.n is not a finite number/);
});

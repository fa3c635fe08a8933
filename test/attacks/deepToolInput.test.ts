// A model (or whoever steers it) sends a tool input nested 1,100 or 100,000 levels deep. On
// the old code `run` ended with exit 2 and left the session "running" with only its
// session_start: SQLite's JSON checks refuse more than 1000 levels, and the redactor's walk
// overflowed the stack. What the model sent must be recorded (as much as fits, with what was
// cut) and the session must get its end event.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { test } from "node:test";
import { agentConfig } from "../../src/agent/agentDefaults";
import { runAgent } from "../../src/agent/agentRunner";
import { AnthropicModelClient } from "../../src/agent/anthropicModelClient";
import { SecretRedactor } from "../../src/agent/secretRedactor";
import { workspaceTools } from "../../src/agent/tools/toolSet";
import { sessionEvents as storedEvents } from "../../src/trail/reading/trailQueries";
import { TrailStore } from "../../src/trail/store/trailStore";
import { cli, fakeApi, sessionEvents, userAndWorkspace } from "./modelRun";

const deep = (levels: number) => `{"path":${"[".repeat(levels)}${"]".repeat(levels)}}`;

for (const levels of [1_100, 100_000]) {
  test(`a tool input nested ${levels.toLocaleString("en-US")} levels deep is recorded, refused, and the session ends`, async (t) => {
    const { env, ws } = userAndWorkspace(t);
    const raw = deep(levels);
    const api = await fakeApi(t, {
      turns: [
        { content: [{ type: "tool_use", name: "read_file", raw_input: raw }], chunk_size: 50_000 },
        { content: [{ type: "text", text: "I could not read it." }] },
      ],
    });
    const run = await cli(["run", "Read the file", "--workspace", ws, "--approve", "all"], { ...env, ...api.env });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);

    const sessions = JSON.parse((await cli(["sessions", "--workspace", ws, "--json"], env)).stdout);
    assert.equal(sessions[0].status, "completed");
    const events = await sessionEvents(ws, env);
    assert.deepEqual(events.map((e) => e.event_type), ["session_start", "llm_call", "tool_call", "tool_result", "llm_call", "session_end"]);
    const call = events[2].content;
    assert.equal(call.input, null);
    assert.match(events[1].content.response.content[0].input_error, /nested more than \d+ levels/);
    // As much as fits, and what was cut: the start of the text, the whole text's size and SHA-256.
    if (Buffer.byteLength(raw) > 64 * 1024) {
      assert.ok(raw.startsWith(call.raw_input.split("\n[raw input cut")[0]));
      assert.equal(call.raw_input_bytes, Buffer.byteLength(raw));
      assert.equal(call.raw_input_sha256, createHash("sha256").update(raw).digest("hex"));
    } else assert.equal(call.raw_input, raw);
    assert.equal(events[3].content.outcome, "error");
    assert.equal(events[3].content.error.type, "invalid_input");
    // The model was told, and the trail still verifies.
    const told = api.server.received[1].body.messages as { content: unknown }[];
    assert.match(JSON.stringify(told[told.length - 1].content), /nested more than/);
    const verify = await cli(["verify", "--workspace", ws], env);
    assert.ok(verify.code === 0 || verify.code === 3, verify.stdout + verify.stderr);
  });
}

test("an event the trail refuses still leaves the session with its end, saying why", async (t) => {
  const { ws } = userAndWorkspace(t);
  const api = await fakeApi(t, { turns: [{ content: [{ type: "tool_use", name: "list_directory", input: { path: "." } }] }] });
  const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"));
  t.after(() => store.close().catch(() => undefined));
  const outcome = await runAgent({
    task: "List the files",
    workspaceRoot: ws,
    model: new AnthropicModelClient({ apiKey: "test-key", baseURL: api.env.ANTHROPIC_BASE_URL }),
    tools: workspaceTools(),
    approve: async () => ({ decision: "approved", approver_id: "test" }),
    // As the trail's own checks refuse content they cannot take (JSON past SQLite's depth limit).
    trail: { append: (e) => (e.event_type === "tool_call" ? Promise.reject(new Error("Invalid trail event: malformed JSON")) : store.append(e)) },
    signal: new AbortController().signal,
    config: agentConfig({ userId: "tester" }),
    redactor: new SecretRedactor(),
  });
  assert.equal(outcome.status, "error");
  const events = storedEvents(store.database, outcome.session_id);
  const end = events[events.length - 1];
  assert.equal(end.event_type, "session_error");
  assert.match(JSON.parse(end.content).error.message, /tool_call event could not be recorded \(Invalid trail event: malformed JSON\)/);
});

test("the trail refuses content nested past its limit with the reason, for every writer, and stays writable", async (t) => {
  const { ws } = userAndWorkspace(t);
  const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"));
  t.after(() => store.close().catch(() => undefined));
  let deepValue: unknown = "bottom";
  for (let i = 0; i < 100_000; i++) deepValue = [deepValue];
  const base = { session_id: "s-deep", agent_id: "a", user_id: "u", agent_version: "1", model_id: null, system_prompt_hash: null, step_number: 0, parent_event_id: null };
  await assert.rejects(store.append({ ...base, event_type: "otel_span", content: { attributes: deepValue } }), /content is nested more than \d+ levels deep/);
  const ok = await store.append({ ...base, event_type: "session_start", content: { task: "after the refusal" } });
  assert.equal(ok.seq, 1);
});

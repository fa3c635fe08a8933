import assert from "node:assert/strict";
import { test } from "node:test";
import { checkHookPayload } from "../../src/capture/claudeCode/hookRecord";
import type { HookedRecord } from "../../src/capture/claudeCode/sessionEvents";
import { mapSession } from "../../src/capture/claudeCode/sessionEvents";
import { parseTranscript } from "../../src/capture/claudeCode/transcript";
import { bashFailure } from "../../src/capture/claudeCode/toolOutput";

const SID = "0b5e4c1e-aaaa-4bbb-8ccc-123456789abc";
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

/** A transcript as Claude Code 2.1.328 writes it: one content block a line, usage repeated. */
function transcript(): string {
  const base = { sessionId: SID, version: "2.1.328", cwd: "/w", isSidechain: false };
  const msg = (id: string, content: unknown[], stop: string) => ({ id, model: "claude-opus-5-5", role: "assistant", stop_reason: stop, usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 3, cache_creation_input_tokens: 4 }, content });
  const at = (s: number) => new Date(T0 + s * 1000).toISOString();
  return [
    { ...base, type: "user", promptId: "p1", message: { role: "user", content: "Run the tests" }, timestamp: at(0) },
    { ...base, type: "assistant", message: msg("msg_1", [{ type: "thinking", thinking: "tests first" }], "tool_use"), timestamp: at(1) },
    { ...base, type: "assistant", message: msg("msg_1", [{ type: "tool_use", id: "toolu_a", name: "Bash", input: { command: "npm test" } }], "tool_use"), timestamp: at(1) },
    { ...base, type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_a", content: "Exit code 1\nFAIL", is_error: true }] }, toolUseResult: "Error: Exit code 1\nFAIL", timestamp: at(2) },
    { ...base, type: "assistant", message: msg("msg_2", [{ type: "tool_use", id: "toolu_b", name: "Read", input: { file_path: "/w/a" } }], "tool_use"), timestamp: at(3) },
    { ...base, type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_b", content: "1\thello" }] }, toolUseResult: { type: "text", file: { content: "hello" } }, timestamp: at(4) },
    { ...base, type: "assistant", isSidechain: true, message: msg("msg_sub", [{ type: "text", text: "a subagent" }], "end_turn"), timestamp: at(5) },
    { ...base, type: "assistant", message: msg("msg_3", [{ type: "text", text: "Tests fail." }], "end_turn"), timestamp: at(6) },
  ].map((l) => JSON.stringify(l)).join("\n") + "\n" + '{"type":"assistant","message":{"id":"msg_torn"'; // a line still being written
}

const rec = (payload: Record<string, unknown>, s: number): HookedRecord => {
  const c = checkHookPayload(JSON.stringify({ session_id: SID, cwd: "/w", ...payload }));
  assert.ok(c.ok, JSON.stringify(c));
  return { payload: c.payload, at: T0 + s * 1000 };
};

test("a hooked session maps to one event per fact, in order, with the hook's view of each tool call and a gap where a hook did not record", () => {
  const t = parseTranscript(`/h/${SID}.jsonl`, Buffer.from(transcript()));
  assert.equal(t.items.filter((i) => i.kind === "model_call").length, 3, "the subagent's line and the torn last line are not calls");
  const records = [
    rec({ hook_event_name: "UserPromptSubmit", prompt: "Run the tests", prompt_id: "p1" }, 0),
    rec({ hook_event_name: "PreToolUse", tool_name: "Bash", tool_use_id: "toolu_a", tool_input: { command: "npm test" } }, 1.2),
    rec({ hook_event_name: "PostToolUseFailure", tool_name: "Bash", tool_use_id: "toolu_a", tool_input: { command: "npm test" }, error: "Exit code 1\nFAIL", is_interrupt: false, duration_ms: 700 }, 1.9),
    // The Read's PreToolUse hook could not write (a marker says so, by time); its PostToolUse did.
    rec({ hook_event_name: "PostToolUse", tool_name: "Read", tool_use_id: "toolu_b", tool_input: { file_path: "/w/a" }, tool_response: { type: "text", file: { content: "hello" } }, duration_ms: 5 }, 3.9),
    rec({ hook_event_name: "Stop", last_assistant_message: "Tests fail." }, 6.5),
    rec({ hook_event_name: "SessionEnd", reason: "other" }, 7),
  ];
  const gaps = [{ event: "PreToolUse", at: T0 + 3_000, reason: "the hook could not write its record" }];
  const m = mapSession({ sessionId: SID, records, transcript: t, gaps, ended: true });
  assert.equal(m.trailSessionId, `claude-code-${SID}`);
  assert.deepEqual(m.events.map((e) => e.event_type), ["session_start", "llm_call", "tool_call", "tool_result", "llm_call", "tool_call", "tool_result", "llm_call", "session_end"]);
  assert.equal(new Set(m.events.map((e) => e.event_id)).size, m.events.length);
  assert.equal(m.events[0].content.task, "Run the tests");
  assert.deepEqual(m.events.map((e) => e.step_number), [0, 1, 1, 1, 2, 2, 2, 3, 3]);
  const [, , , failed, , readCall, readResult] = m.events;
  assert.deepEqual(failed.content.error, { type: "command_failed", message: "Bash: the command exited with code 1", detail: { exit_code: 1, stderr: "FAIL", streams: "stdout and stderr interleaved, as Claude Code reports a failed command" } });
  assert.equal(failed.parent_event_id, m.events[2].event_id);
  assert.equal(readCall.parent_event_id, m.events[4].event_id);
  assert.equal((readCall.content.capture_gap as { reason: string }).reason, "the PreToolUse hook ran but could not record: the hook could not write its record");
  assert.equal((readCall.content.received as { via: string }).via, "claude-code-hook", "its input is the PostToolUse hook's");
  assert.equal(readResult.content.capture_gap, undefined);
  assert.equal(readResult.content.output, "hello");
  assert.equal(m.gaps, 1);
  const end = m.events.at(-1)!.content as { final_text: string; totals: { input_tokens: number; tool_calls: number; failed_tool_calls: number } };
  assert.equal(end.final_text, "Tests fail.");
  assert.deepEqual([end.totals.input_tokens, end.totals.tool_calls, end.totals.failed_tool_calls], [300, 2, 1]);
  // The same facts again (a later import) give the same ids; not ended yet, no end.
  const again = mapSession({ sessionId: SID, records: records.slice(0, 5), transcript: t, gaps, ended: false });
  assert.deepEqual(again.events.map((e) => e.event_id), m.events.slice(0, -1).map((e) => e.event_id));
});

test("without hooks, a transcript's tool calls are imported, not gaps; without a transcript, the hooks' tool calls still make the session", () => {
  const t = parseTranscript(`/h/${SID}.jsonl`, Buffer.from(transcript()));
  const imported = mapSession({ sessionId: SID, records: [], transcript: t, gaps: [], ended: true });
  assert.equal(imported.gaps, 0);
  assert.ok(imported.events.every((e) => (e.content.received as { via: string }).via === "claude-code-transcript" && !e.content.capture_gap));
  assert.equal(imported.events.find((e) => e.event_type === "tool_result")!.content.outcome, "error");

  const hookedOnly = mapSession({
    sessionId: SID,
    records: [rec({ hook_event_name: "UserPromptSubmit", prompt: "hi", prompt_id: "p" }, 0), rec({ hook_event_name: "PreToolUse", tool_name: "Bash", tool_use_id: "toolu_x", tool_input: { command: "ls" } }, 1), rec({ hook_event_name: "PostToolUse", tool_name: "Bash", tool_use_id: "toolu_x", tool_response: { stdout: "a", stderr: "warn" } }, 2)],
    transcriptProblem: "the transcript could not be read",
    gaps: [],
    ended: false,
  });
  assert.deepEqual(hookedOnly.events.map((e) => e.event_type), ["session_start", "tool_call", "tool_result"]);
  assert.equal(hookedOnly.events[0].content.transcript_problem, "the transcript could not be read");
  assert.equal(hookedOnly.events[2].content.output, "a\nwarn");
});

test("a failure that is not a command's exit keeps its message; an interrupted call is cancelled", () => {
  assert.deepEqual(bashFailure("Read", "File does not exist.", false), { type: "tool_error", message: "File does not exist.", detail: {} });
  assert.equal(bashFailure("Bash", "", true).type, "cancelled");
  assert.equal(bashFailure("Bash", "Error: Exit code 127\nsh: nope: not found", false).detail.exit_code, 127);
});

test("a prompt sent as blocks (pasted text, an image) is still the session's task", () => {
  const line = { sessionId: SID, type: "user", promptId: "p9", message: { role: "user", content: [{ type: "text", text: "Explain this" }, { type: "image", source: {} }] }, timestamp: new Date(T0).toISOString() };
  const t = parseTranscript(`/h/${SID}.jsonl`, Buffer.from(JSON.stringify(line) + "\n"));
  const m = mapSession({ sessionId: SID, records: [], transcript: t, gaps: [], ended: false });
  assert.equal(m.events[0].content.task, "Explain this\n[image]");
});

test("a call the permission check refused is an approval rejected, not a capture gap; an allowed one says which rule allowed it", () => {
  const base = { sessionId: SID, version: "2.1.328", isSidechain: false };
  const at = (n: number) => new Date(T0 + n * 1000).toISOString();
  const lines = [
    { ...base, type: "user", promptId: "p1", message: { role: "user", content: "Delete the build folder" }, timestamp: at(0) },
    { ...base, type: "api-request", id: "req-1", timestamp: at(0.5) },
    { ...base, type: "assistant", requestRef: "req-1", message: { id: "msg_1", model: "m", content: [{ type: "tool_use", id: "toolu_rm", name: "Bash", input: { command: "rm -rf build" } }], usage: {} }, timestamp: at(2) },
    { ...base, type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_rm", content: "The user doesn't want to proceed with this tool use.", is_error: true }] }, permissionDecision: { decision: "reject", source: "user" }, timestamp: at(3) },
  ];
  const t = parseTranscript(`/h/${SID}.jsonl`, Buffer.from(lines.map((l) => JSON.stringify(l)).join("\n") + "\n"));
  const records = [rec({ hook_event_name: "UserPromptSubmit", prompt: "Delete the build folder", prompt_id: "p1" }, 0), rec({ hook_event_name: "PreToolUse", tool_name: "Bash", tool_use_id: "toolu_rm", tool_input: { command: "rm -rf build" } }, 2.1)];
  const m = mapSession({ sessionId: SID, records, transcript: t, gaps: [], ended: false });
  assert.deepEqual(m.events.map((e) => e.event_type), ["session_start", "llm_call", "tool_call", "approval", "tool_result"]);
  assert.equal(m.events[1].content.latency_ms, 1500);
  assert.deepEqual([m.events[3].content.decision, m.events[3].content.approver_id], ["rejected", "user"]);
  assert.equal(m.events[4].content.capture_gap, undefined, "no PostToolUse was due for a call that never ran");
  assert.equal(m.gaps, 0);
});

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import type { Block } from "../helpers/claudeCodeHarness";
import { claudeAvailable, claudeEnv, ClaudeCodeApi, runClaude } from "../helpers/claudeCodeHarness";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

const AWS_KEY = "AKIAQ3EGRT5YBVWJ4X2N";
const skip = claudeAvailable() ? false : "the real Claude Code is not provisioned (npm test's pretest runs test/capture/provisionClaudeCode.sh)";

/** The scripted session: thinking and text, then Bash, a Bash that fails, Read of a secret, Write, Edit, and an answer. */
function script(ws: string): Block[][] {
  return [
    [{ type: "thinking", thinking: "I should look at the files first." }, { type: "text", text: "Let me look around." }, { type: "tool_use", name: "Bash", input: { command: "ls", description: "List files" } }],
    [{ type: "tool_use", name: "Bash", input: { command: "echo building; echo 'config missing' >&2; exit 3", description: "Build" } }],
    [{ type: "tool_use", name: "Read", input: { file_path: path.join(ws, "secrets.env") } }],
    [{ type: "tool_use", name: "Write", input: { file_path: path.join(ws, "notes.txt"), content: "hello\n" } }],
    [{ type: "tool_use", name: "Edit", input: { file_path: path.join(ws, "notes.txt"), old_string: "hello", new_string: "goodbye" } }],
    [{ type: "text", text: "Done: the build fails because the config is missing." }],
  ];
}

interface Setup {
  ws: string;
  home: string;
  config: string;
  env: Record<string, string>;
  api: ClaudeCodeApi;
}

async function setup(t: { after(fn: () => void | Promise<void>): void }, beforeTurn?: (n: number, s: { config: string }) => void): Promise<Setup> {
  const root = tempDir(t, "aat-cc-");
  const ws = path.join(root, "ws");
  const home = path.join(root, "home");
  const config = path.join(root, "config");
  for (const d of [ws, home]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(ws, "secrets.env"), `AWS_ACCESS_KEY_ID=${AWS_KEY}\n`);
  const api = new ClaudeCodeApi(script(ws), beforeTurn && ((n) => beforeTurn(n, { config })));
  const url = await api.start();
  t.after(() => api.stop());
  return { ws, home, config, api, env: claudeEnv(home, config, url) };
}

const cli = (s: Setup, args: string[]) => runCli(args, s.config, { HOME: s.home });

/** Waits until the import the hooks started at SessionEnd has written the session's end (it runs detached). */
async function sessionsWhenEnded(s: Setup): Promise<{ session_id: string; status: string; task: string; agent_id: string; steps: number; input_tokens: number; failed_tool_calls: number }[]> {
  const until = Date.now() + 90_000;
  for (;;) {
    const r = await cli(s, ["sessions", "--workspace", s.ws, "--json"]);
    if (r.code === 0) {
      const list = JSON.parse(r.out.slice(r.out.indexOf("[")));
      if (list.length && list.every((x: { status: string }) => x.status !== "running")) return list;
    }
    if (Date.now() > until) throw new Error(`the session was not written with its end: ${r.out}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

async function show(s: Setup, id: string): Promise<{ event_type: string; event_id: string; step_number: number; model_id: string | null; agent_id: string; agent_version: string | null; content: Record<string, any> }[]> {
  const r = await cli(s, ["show", id, "--workspace", s.ws, "--json"]);
  assert.equal(r.code, 0, r.out);
  return JSON.parse(r.out.slice(r.out.indexOf("[")));
}

test("a real Claude Code run after connect is one complete, redacted, verified session in the trail", { skip }, async (t) => {
  const s = await setup(t);
  const connect = await cli(s, ["connect", "claude-code", "--workspace", s.ws]);
  assert.equal(connect.code, 0, connect.out);
  const run = await runClaude(s.ws, "Find out why the build fails", s.env);
  assert.equal(run.code, 0, run.err + run.out);
  assert.equal(JSON.parse(run.out).result, "Done: the build fails because the config is missing.");

  const sessions = await sessionsWhenEnded(s);
  assert.equal(sessions.length, 1, JSON.stringify(sessions));
  const [session] = sessions;
  assert.equal(session.task, "Find out why the build fails");
  assert.equal(session.status, "completed");
  assert.equal(session.agent_id, "claude-code");
  assert.match(session.session_id, /^claude-code-[0-9a-f-]{36}$/);
  assert.equal(session.steps, 6);
  assert.equal(session.failed_tool_calls, 1);

  const events = await show(s, session.session_id);
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length, "no fact twice");
  assert.equal(events[0].event_type, "session_start");
  assert.equal(events.at(-1)!.event_type, "session_end");
  assert.equal(events.at(-1)!.content.final_text, "Done: the build fails because the config is missing.");
  assert.ok(events.every((e) => e.agent_version === "2.1.328"), "agent version from Claude Code");

  const calls = events.filter((e) => e.event_type === "tool_call");
  const results = events.filter((e) => e.event_type === "tool_result");
  assert.deepEqual(calls.map((e) => e.content.tool_name), ["Bash", "Bash", "Read", "Write", "Edit"]);
  assert.equal(results.length, 5);
  for (const e of [...calls, ...results]) {
    assert.equal(e.content.received.via, "claude-code-hook", `${e.event_type} ${e.content.tool_name} observed live`);
    assert.equal(e.content.capture_gap, undefined);
  }
  assert.deepEqual(calls[1].content.input, { command: "echo building; echo 'config missing' >&2; exit 3", description: "Build" });
  assert.deepEqual(calls[4].content.input, { file_path: path.join(s.ws, "notes.txt"), old_string: "hello", new_string: "goodbye", replace_all: false });
  assert.equal(results[0].content.output, "secrets.env");
  const failed = results[1].content;
  assert.equal(failed.outcome, "error");
  assert.equal(failed.error.type, "command_failed");
  assert.equal(failed.error.detail.exit_code, 3);
  assert.match(failed.error.detail.stderr, /config missing/);
  // The planted secret the agent read is not in the trail, anywhere.
  assert.match(results[2].content.output, /AWS_ACCESS_KEY_ID=\[REDACTED:[a-z0-9-]+\]/);
  assert.ok(!JSON.stringify(events).includes(AWS_KEY), "the AWS key is redacted in every event");
  assert.equal(results[3].content.tool_response.type, "create");
  assert.deepEqual(results[4].content.tool_response.structuredPatch[0].lines, ["-hello", "+goodbye"]);
  assert.equal(fs.readFileSync(path.join(s.ws, "notes.txt"), "utf8"), "goodbye\n");
  // Each tool result belongs to its call, each call to the model call that asked for it.
  for (const [i, r] of results.entries()) assert.equal((r as { parent_event_id?: string }).parent_event_id ?? calls[i].event_id, calls[i].event_id);

  // Who let each call run: here the --allowedTools rule given on the command line.
  const approvals = events.filter((e) => e.event_type === "approval");
  assert.equal(approvals.length, 5);
  for (const a of approvals) assert.deepEqual([a.content.decision, a.content.approver_id, a.content.rule_source], ["approved", "claude-code config", "cliArg"]);

  const llm = events.filter((e) => e.event_type === "llm_call");
  assert.equal(llm.length, 6);
  assert.ok(llm.every((e) => typeof e.content.latency_ms === "number" && e.content.latency_ms >= 0), "latency from the request Claude Code logged");
  assert.deepEqual(llm[0].content.response.content.map((b: { type: string }) => b.type), ["thinking", "text", "tool_use"]);
  assert.equal(llm[0].content.response.content[0].thinking, "I should look at the files first.");
  assert.equal(llm[0].content.output_text, "Let me look around.");
  for (const e of llm) {
    assert.ok(e.model_id, "model id per call");
    assert.ok(e.content.usage.input_tokens > 1000 && e.content.usage.output_tokens === 40, JSON.stringify(e.content.usage));
    assert.equal(e.content.usage.cache_read_input_tokens, 200);
  }
  const imports = events.filter((e) => e.event_type === "transcript_import");
  assert.ok(imports.length >= 1);
  assert.match(imports.at(-1)!.content.transcript.sha256, /^[0-9a-f]{64}$/);

  const text = await cli(s, ["show", session.session_id, "--workspace", s.ws]);
  assert.match(text.out, /thinking: I should look at the files first[\s\S]*→ Bash[\s\S]*exit code 3[\s\S]*stderr: config missing/);
  const failures = JSON.parse((await cli(s, ["failures", "--workspace", s.ws, "--json"])).out);
  assert.equal(failures.length, 1);
  assert.equal(failures[0].error.detail.exit_code, 3);
  const verify = await cli(s, ["verify", "--workspace", s.ws]);
  assert.equal(verify.code, 0, verify.out);

  // Importing the transcript again adds nothing.
  const before = events.length;
  const again = await cli(s, ["import", "claude-code", "--all", "--workspace", s.ws]);
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /already in the trail/);
  assert.equal((await show(s, session.session_id)).length, before);
});

test("a tool call whose hooks could not record is filled in from the transcript and marked as a capture gap", { skip }, async (t) => {
  // While Claude Code runs the Read (turn 2), the spool folder is a file: its two hooks cannot write.
  let spool = "";
  const s = await setup(t, (n, { config }) => {
    if (!spool) spool = fs.readdirSync(path.join(config, "claude-code-spool")).map((d) => path.join(config, "claude-code-spool", d))[0];
    if (n === 2) {
      fs.renameSync(spool, `${spool}.away`);
      fs.writeFileSync(spool, "not a folder");
    } else if (n === 3) {
      fs.rmSync(spool);
      fs.renameSync(`${spool}.away`, spool);
    }
  });
  assert.equal((await cli(s, ["connect", "claude-code", "--workspace", s.ws])).code, 0);
  const run = await runClaude(s.ws, "Find out why the build fails", s.env);
  assert.equal(run.code, 0, run.err + run.out);
  const [session] = await sessionsWhenEnded(s);
  assert.equal(session.status, "completed");
  const events = await show(s, session.session_id);
  const read = events.filter((e) => e.content.tool_name === "Read" && e.event_type !== "approval");
  assert.deepEqual(read.map((e) => e.event_type), ["tool_call", "tool_result"]);
  for (const e of read) {
    assert.equal(e.content.received.via, "claude-code-transcript", "not passed off as observed live");
    assert.match(e.content.capture_gap.reason, /no (PreToolUse|PostToolUse) hook record/);
  }
  assert.deepEqual(read[0].content.input, { file_path: path.join(s.ws, "secrets.env") });
  assert.match(read[1].content.output, /\[REDACTED:/);
  assert.ok(!JSON.stringify(events).includes(AWS_KEY));
  // Everything else was seen by the hooks, and nothing is there twice.
  const others = events.filter((e) => (e.event_type === "tool_call" || e.event_type === "tool_result") && e.content.tool_name !== "Read");
  assert.equal(others.length, 8);
  assert.ok(others.every((e) => e.content.received.via === "claude-code-hook" && !e.content.capture_gap));
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
  assert.equal(events.filter((e) => e.event_type === "transcript_import").reduce((n, e) => n + e.content.capture_gaps, 0), 2);
  assert.equal((await cli(s, ["verify", "--workspace", s.ws])).code, 0);
  // An import of the transcript later changes nothing: the gap stays a gap.
  await cli(s, ["import", "claude-code", "--all", "--workspace", s.ws]);
  assert.equal((await show(s, session.session_id)).length, events.length);
});

test("import claude-code --all brings a session recorded without hooks into the trail, once, and says when its transcript was edited since", { skip }, async (t) => {
  const s = await setup(t);
  const run = await runClaude(s.ws, "Find out why the build fails", s.env);
  assert.equal(run.code, 0, run.err + run.out);
  const first = await cli(s, ["import", "claude-code", "--all", "--workspace", s.ws]);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /claude-code-[0-9a-f-]{36}: \d+ events written\n/);
  const [session] = await sessionsWhenEnded(s);
  assert.equal(session.task, "Find out why the build fails");
  assert.equal(session.status, "completed");
  const events = await show(s, session.session_id);
  const tools = events.filter((e) => e.event_type === "tool_call" || e.event_type === "tool_result");
  assert.equal(tools.length, 10);
  // An imported session is marked as such; with no hooks there is nothing it could have missed.
  assert.ok(tools.every((e) => e.content.received.via === "claude-code-transcript" && !e.content.capture_gap));
  assert.equal(tools.find((e) => e.event_type === "tool_result" && e.content.outcome === "error")!.content.error.detail.exit_code, 3);
  assert.ok(!JSON.stringify(events).includes(AWS_KEY));
  assert.match((await cli(s, ["import", "claude-code", "--all", "--workspace", s.ws])).out, /already in the trail/);

  // Someone edits what the model said; a later import records the new hash and that the start changed.
  const dir = path.join(s.home, ".claude", "projects", s.ws.replace(/[^A-Za-z0-9]/g, "-"));
  const file = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith(".jsonl"))!);
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("Let me look around.", "Let me look at nothing."));
  assert.equal((await cli(s, ["import", "claude-code", file, "--workspace", s.ws])).code, 0);
  const after = await show(s, session.session_id);
  const imports = after.filter((e) => e.event_type === "transcript_import");
  assert.equal(imports.length, 2);
  assert.match(imports[1].content.warning, /was edited after that import/);
  assert.equal(after.filter((e) => e.event_type === "llm_call").length, 6, "the edited call is not written a second time");
  assert.equal((await cli(s, ["verify", "--workspace", s.ws])).code, 0);
});

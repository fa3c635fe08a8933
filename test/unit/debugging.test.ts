import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { agentConfig } from "../../src/agent/agentDefaults";
import type { ApprovalHandler } from "../../src/agent/agentTypes";
import { replaySession } from "../../src/agent/replaySession";
import { retryToolCall } from "../../src/agent/retryToolCall";
import { workspaceTools } from "../../src/agent/tools/toolSet";
import { diffSessions } from "../../src/trail/reading/sessionDiff";
import { failedToolCalls, failureCounts, getSession, sessionEventHeads, sessionEvents } from "../../src/trail/reading/trailQueries";
import { parseSession } from "../../src/extension/sessionModel";
import { renderSession } from "../../src/cli/sessionText";
import type { TrailStore } from "../../src/trail/store/trailStore";
import { verifyChain } from "../../src/trail/integrity/verifyChain";
import type { Turn } from "../fakeAnthropic/scenario";
import { c, ofType, runScenario, sampleWorkspace } from "../helpers/agentHarness";
import { tempDir } from "../helpers/tempDir";

const approveAll: ApprovalHandler = async () => ({ decision: "approved", approver_id: "test" });
const done: Turn = { content: [{ type: "text", text: "done" }] };

function retry(store: TrailStore, root: string, eventId: string, opts: { input?: Record<string, unknown>; approve?: ApprovalHandler; policy?: Record<string, "auto" | "ask" | "deny"> } = {}) {
  const cfg = agentConfig({ userId: "tester" });
  return retryToolCall({
    db: store.database,
    eventId,
    input: opts.input,
    workspaceRoot: root,
    tools: workspaceTools(),
    policy: opts.policy ?? { run_command: "auto" },
    approve: opts.approve ?? approveAll,
    trail: store,
    signal: new AbortController().signal,
    maxOutputBytes: cfg.maxOutputBytes,
    identity: { agentId: cfg.agentId, agentVersion: cfg.agentVersion, userId: cfg.userId },
  });
}

const snapshotRows = (store: TrailStore) => JSON.stringify(store.database.exec("SELECT seq, hash, content FROM events ORDER BY seq"));

test("failures across sessions group by tool and error type, newest first", async (t) => {
  const root = sampleWorkspace(t);
  const turn: Turn = {
    content: [
      { type: "tool_use", name: "run_command", input: { command: "exit 2" } },
      { type: "tool_use", name: "read_file", input: { path: "missing.txt" } },
      { type: "tool_use", name: "read_file", input: { path: "../outside" } },
    ],
  };
  await runScenario(t, { turns: [turn, done] }, { root, config: { policy: { run_command: "auto" } } });
  const second = await runScenario(t, { turns: [turn, done] }, { root, config: { policy: { run_command: "auto" } } });
  const counts = failureCounts(second.store.database).map((x) => `${x.tool_name}/${x.error_type}×${x.count}`);
  assert.deepEqual(counts.sort(), ["read_file/not_found×2", "read_file/permission×2", "run_command/command_failed×2"]);
  const failures = failedToolCalls(second.store.database);
  assert.equal(failures.length, 6);
  assert.equal(failures[0].result.session_id, second.outcome.session_id, "newest first");
  assert.equal(failedToolCalls(second.store.database, { toolName: "read_file", errorType: "not_found" }).length, 2);
});

test("retry: succeeds once the cause is fixed, still fails when not, runs an edited input, obeys a rejection; the original stays untouched", async (t) => {
  const root = sampleWorkspace(t);
  const r = await runScenario(t, { turns: [{ content: [{ type: "tool_use", name: "run_command", input: { command: "test -f fixed.txt && echo fixed" } }] }, done] }, { root, config: { policy: { run_command: "auto" } } });
  const call = ofType(r.events, "tool_call")[0];
  const result = ofType(r.events, "tool_result")[0];
  assert.equal(result.error_type, "command_failed");
  const before = snapshotRows(r.store);

  const still = await retry(r.store, root, result.event_id);
  assert.equal(still.execution.result.outcome, "error");
  assert.equal(JSON.parse(still.event.content).error.type, "command_failed");

  fs.writeFileSync(path.join(root, "fixed.txt"), "");
  const fixed = await retry(r.store, root, call.event_id);
  assert.equal(fixed.event.event_type, "tool_retry");
  assert.equal(fixed.event.parent_event_id, call.event_id);
  assert.equal(JSON.parse(fixed.event.content).outcome, "success");
  const fc = JSON.parse(fixed.event.content);
  assert.match(fc.output, /fixed/);
  assert.equal(fc.original_outcome, "error");
  assert.equal(fc.original_error_type, "command_failed");
  assert.equal(fc.input_edited, false);

  const edited = await retry(r.store, root, call.event_id, { input: { command: "echo edited" } });
  assert.equal(JSON.parse(edited.event.content).outcome, "success");
  assert.deepEqual(JSON.parse(edited.event.content).input, { command: "echo edited" });
  assert.equal(JSON.parse(edited.event.content).input_edited, true);

  const rejected = await retry(r.store, root, call.event_id, {
    policy: { run_command: "ask" },
    approve: async () => ({ decision: "rejected", approver_id: "alice", reason: "not now" }),
  });
  assert.equal(JSON.parse(rejected.event.content).error.type, "approval_rejected");
  const stored = sessionEvents(r.store.database, r.outcome.session_id).find((e) => e.event_id === rejected.event.event_id)!;
  assert.equal(stored.approver_id, "alice", "filterable like any approval");
  assert.equal(stored.error_type, "approval_rejected");

  // The original events are exactly as they were; the retries were appended after them.
  const now = JSON.parse(snapshotRows(r.store));
  assert.deepEqual(now[0].values.slice(0, JSON.parse(before)[0].values.length), JSON.parse(before)[0].values);
  assert.equal(verifyChain(r.store.database).ok, true);
  assert.equal(ofType(sessionEvents(r.store.database, r.outcome.session_id), "tool_retry").length, 4);
  await assert.rejects(retry(r.store, root, "no-such-event"), /No event no-such-event/);
});

const recordedTurns: Turn[] = [
  { content: [{ type: "text", text: "Reading." }, { type: "tool_use", name: "read_file", input: { path: "src/greet.js" } }] },
  { content: [{ type: "tool_use", name: "run_command", input: { command: "node -e \"require('./src/greet.js')\"" } }] },
  { content: [{ type: "tool_use", name: "list_directory", input: { path: "." } }] },
  done,
];

async function replay(store: TrailStore, root: string, sessionId: string) {
  const cfg = agentConfig({ userId: "tester" });
  return replaySession({
    db: store.database,
    sessionId,
    workspaceRoot: root,
    tools: workspaceTools(),
    approve: approveAll,
    trail: store,
    signal: new AbortController().signal,
    config: { agentId: cfg.agentId, agentVersion: cfg.agentVersion, userId: cfg.userId, policy: { run_command: "auto" }, maxOutputBytes: cfg.maxOutputBytes },
  });
}

test("replay in an unchanged workspace reproduces the same outcomes, without the API", async (t) => {
  const root = sampleWorkspace(t);
  const r = await runScenario(t, { turns: recordedTurns }, { root, config: { policy: { run_command: "auto" } } });
  assert.equal(r.outcome.status, "completed");
  const apiCalls = r.server.received.length;
  const o = await replay(r.store, root, r.outcome.session_id);
  assert.equal(r.server.received.length, apiCalls, "no request reached the API");
  assert.equal(o.status, "completed");
  assert.deepEqual(o.divergedSteps, []);
  const events = sessionEvents(r.store.database, o.session_id);
  assert.equal(c(ofType(events, "session_start")[0]).replay_of, r.outcome.session_id);
  assert.deepEqual(ofType(events, "tool_result").map((e) => [e.tool_name, e.outcome, c(e).replay.diverged]), [
    ["read_file", "success", false],
    ["run_command", "success", false],
    ["list_directory", "success", false],
  ]);
  const d = diffSessions(r.store.database, r.outcome.session_id, o.session_id);
  assert.equal(d.firstDivergence, undefined);
  assert.ok(d.rows.every((row) => row.same));
});

test("replay diverges exactly where a file was changed, and the diff aligns sessions of different lengths", async (t) => {
  const root = sampleWorkspace(t);
  const r = await runScenario(t, { turns: recordedTurns }, { root, config: { policy: { run_command: "auto" } } });
  // Break the code the second step runs: it failed never, now it will.
  fs.writeFileSync(path.join(root, "src", "greet.js"), "throw new Error('broken on purpose');\n");
  const o = await replay(r.store, root, r.outcome.session_id);
  assert.equal(o.status, "diverged");
  assert.match(o.error!.message, /in step 2, run_command succeeded in the recording but fails now/);
  const events = sessionEvents(r.store.database, o.session_id);
  const end = ofType(events, "replay_diverged")[0];
  assert.equal(c(end).diverged_at_step, 2);
  assert.deepEqual(o.divergedSteps, [1, 2], "step 1 read different content; step 2 flipped");
  assert.equal(c(ofType(events, "tool_result")[1]).replay.recorded_outcome, "success");
  assert.equal(ofType(events, "llm_call").length, 2, "no recorded answer was used after the flip");
  // The stop is not a step: it is recorded under the last step that ran, everywhere.
  assert.equal(end.step_number, 2);
  assert.equal(o.totals.steps, 2);
  assert.equal(getSession(r.store.database, o.session_id)!.steps, 2);
  assert.deepEqual(parseSession(getSession(r.store.database, o.session_id)!, sessionEventHeads(r.store.database, o.session_id)).steps.map((st) => st.step), [1, 2]);
  assert.doesNotMatch(renderSession(getSession(r.store.database, o.session_id)!, events), /Step 3/);

  const d = diffSessions(r.store.database, r.outcome.session_id, o.session_id);
  assert.equal(d.rows.length, 4);
  assert.equal(d.firstDivergence, 2);
  assert.deepEqual(d.rows[1].differences, ["run_command: success vs command_failed"]);
  assert.deepEqual(d.rows[3].differences, ["only in the first session"]);
  assert.equal(d.rows[2].b, undefined, "B gave no answer in step 3");
  assert.equal(d.rows[0].same, true, "step 1 made the same call with the same outcome");
});

test("the CLI retries, replays and diffs", async (t) => {
  const root = sampleWorkspace(t);
  const r = await runScenario(t, { turns: [{ content: [{ type: "tool_use", name: "run_command", input: { command: "test -f ok.txt" } }] }, done] }, { root, config: { policy: { run_command: "auto" } } });
  const failed = ofType(r.events, "tool_result")[0];
  await r.store.close();
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [path.resolve(__dirname, "..", "..", "..", "dist", "cli.js"), ...args, "--workspace", root], {
        env: { ...process.env, AGENT_AUDIT_CONFIG_DIR: tempDir(t, "aat-cfg-") },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.stderr.on("data", (d: Buffer) => (out += d));
      child.on("close", (code) => resolve({ code, out }));
    });
  const still = await cli(["retry", failed.event_id, "--approve", "all"]);
  assert.equal(still.code, 1, still.out);
  assert.match(still.out, /now: {6}✖ command_failed/);
  fs.writeFileSync(path.join(root, "ok.txt"), "");
  const ok = await cli(["retry", failed.event_id, "--approve", "all"]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /original: ✖ command_failed[\s\S]*now: {6}✔ ok/);
  const rep = await cli(["replay", r.outcome.session_id, "--approve", "all"]);
  assert.equal(rep.code, 1, rep.out);
  assert.match(rep.out, /: diverged; differs from the recording in step 1/);
  const replayId = /Replay ([0-9a-f-]{36})/.exec(rep.out)![1];
  const diff = await cli(["diff", r.outcome.session_id, replayId]);
  assert.equal(diff.code, 0, diff.out);
  assert.match(diff.out, /▶\s+1\s+run_command \$ test -f ok\.txt ✖ command_failed\s+run_command \$ test -f ok\.txt ✔/);
  assert.match(diff.out, /First divergence: step 1: run_command: command_failed vs success/);
  assert.equal((await cli(["retry"])).code, 2);
  assert.equal((await cli(["diff", "only-one"])).code, 2);
});

test("retry and replay never run a [REDACTED:…] placeholder as if it were the secret", async (t) => {
  const root = sampleWorkspace(t);
  const secret = `sk-ant-api03-${"Zq7".repeat(31)}AA`;
  const command = `touch ran-with-key.txt; echo ${secret} > /dev/null`;
  const r = await runScenario(t, { turns: [{ content: [{ type: "tool_use", name: "run_command", input: { command } }] }, done] }, { root, config: { policy: { run_command: "auto" } } });
  const call = ofType(r.events, "tool_call")[0];
  assert.match(c(call).input.command, /\[REDACTED:anthropic-api-key\]/, "the trail holds the placeholder");
  fs.rmSync(path.join(root, "ran-with-key.txt"));

  const retried = await retry(r.store, root, call.event_id);
  const rc = JSON.parse(retried.event.content);
  assert.equal(rc.outcome, "error");
  assert.equal(rc.error.type, "invalid_input");
  assert.match(rc.error.message, /contains \[REDACTED:anthropic-api-key\].*not run/);
  assert.equal(fs.existsSync(path.join(root, "ran-with-key.txt")), false, "the command ran with the placeholder");

  const o = await replay(r.store, root, r.outcome.session_id);
  const replayed = ofType(sessionEvents(r.store.database, o.session_id), "tool_result")[0];
  assert.equal(c(replayed).error?.type, "invalid_input");
  assert.equal(fs.existsSync(path.join(root, "ran-with-key.txt")), false, "the replay ran the placeholder");

  // The approver is asked (even for a tool the policy runs without asking) and supplies the
  // value with Edit…: then it runs.
  let prompt = "";
  const asked = await retry(r.store, root, call.event_id, {
    approve: async (req) => {
      prompt = req.summary;
      return { decision: "edited", approver_id: "test", input: { command } };
    },
  });
  assert.match(prompt, /holds \[REDACTED:anthropic-api-key\].*Edit… and put the real value/);
  assert.equal(JSON.parse(asked.event.content).outcome, "success");
  assert.equal(fs.existsSync(path.join(root, "ran-with-key.txt")), true);
  fs.rmSync(path.join(root, "ran-with-key.txt"));
  // Or the value comes with the retry (the CLI's --input): it runs as given.
  const supplied = await retry(r.store, root, call.event_id, { input: { command } });
  assert.equal(JSON.parse(supplied.event.content).outcome, "success");
  assert.equal(fs.existsSync(path.join(root, "ran-with-key.txt")), true);
});

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { canonicalJson } from "../../src/trail/integrity/canonicalJson";
import { sha256Hex } from "../../src/trail/integrity/hashChain";
import { requestMessages } from "../../src/trail/reading/conversation";
import { getBlob } from "../../src/trail/reading/trailQueries";
import { verifyChain } from "../../src/trail/integrity/verifyChain";
import { c, ofType, runScenario, sampleWorkspace } from "../helpers/agentHarness";
import { tempDir } from "../helpers/tempDir";

const fixTypo = [
  {
    content: [
      { type: "thinking" as const, thinking: "The greeting is misspelled. I should read the file first, then fix it." },
      { type: "text" as const, text: "Let me look at the code." },
      { type: "tool_use" as const, name: "read_file", input: { path: "src/greet.js" } },
    ],
    usage: { input_tokens: 120, output_tokens: 40, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 },
    chunk_size: 5,
  },
  {
    content: [
      { type: "text" as const, text: "Fixing it." },
      { type: "tool_use" as const, name: "edit_file", input: { path: "src/greet.js", old_text: '"Helo, "', new_text: '"Hello, "' } },
    ],
  },
  { content: [{ type: "text" as const, text: "Fixed the typo in src/greet.js." }] },
];

test("a multi-step session records every event with its fields, linked, and the requests can be rebuilt exactly", async (t) => {
  const r = await runScenario(t, { turns: fixTypo }, { config: { thinkingBudget: 2048, maxTokens: 8192 } });
  assert.equal(r.outcome.status, "completed");
  assert.equal(r.outcome.final_text, "Fixed the typo in src/greet.js.");
  assert.match(fs.readFileSync(path.join(r.trailPath, "..", "..", "src", "greet.js"), "utf8"), /"Hello, "/);
  assert.deepEqual(r.events.map((e) => e.event_type), [
    "session_start", "llm_call", "tool_call", "tool_result", "llm_call", "tool_call", "approval", "tool_result", "llm_call", "session_end",
  ]);
  const [start, llm1, call1, result1, llm2, call2, approval, result2, llm3, end] = r.events;
  for (const e of r.events) {
    assert.equal(e.session_id, r.outcome.session_id);
    assert.equal(e.agent_id, "agent-audit-trail");
    assert.equal(e.user_id, "tester");
    assert.match(e.agent_version ?? "", /^\d+\.\d+\.\d+/);
    assert.equal(e.model_id, "claude-sonnet-5");
    assert.equal(e.system_prompt_hash, start.system_prompt_hash);
  }
  // session_start: task, tools with schemas, limits; the system prompt is stored once by hash.
  const s = c(start);
  assert.equal(s.task, "Fix the greeting typo");
  assert.deepEqual(s.tools.map((x: { name: string }) => x.name), ["read_file", "list_directory", "find_files", "search_text", "write_file", "edit_file", "run_command"]);
  assert.deepEqual(s.tools.find((x: { name: string }) => x.name === "edit_file").input_schema.required, ["path", "old_text", "new_text"]);
  assert.equal(s.max_iterations, 10);
  assert.equal(s.approval_policy.edit_file, "ask");
  assert.equal(s.approval_policy.read_file, "auto");
  assert.match(getBlob(r.store.database, start.system_prompt_hash!)!, /careful software agent/);

  // llm_call: blocks in order with the streamed thinking, usage, timing, request id.
  const l1 = c(llm1);
  assert.deepEqual(l1.response.content.map((b: { type: string }) => b.type), ["thinking", "text", "tool_use"]);
  assert.equal(l1.response.content[0].thinking, fixTypo[0].content[0].type === "thinking" ? (fixTypo[0].content[0] as { thinking: string }).thinking : "");
  assert.equal(l1.response.content[0].signature, "sig-fake");
  assert.deepEqual(l1.response.content[2].input, { path: "src/greet.js" });
  assert.equal(l1.response.stop_reason, "tool_use");
  assert.deepEqual(l1.usage, { input_tokens: 120, output_tokens: 40, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 });
  assert.equal(llm1.input_tokens, 120);
  assert.ok(typeof l1.latency_ms === "number" && l1.time_to_first_token_ms <= l1.latency_ms);
  assert.match(l1.request_id, /^req_fake_/);
  assert.equal(l1.retries, 0);
  assert.equal(l1.request.thinking_budget, 2048);

  // Each request is rebuilt exactly from the stored messages, and each message is stored once.
  for (const [i, llm] of [llm1, llm2, llm3].entries()) {
    const sent = r.server.received[i].body as { messages: unknown[]; system: string; thinking?: unknown };
    const rebuilt = requestMessages(r.store.database, c(llm).request).map((m) => m.message);
    assert.equal(c(llm).request.message_count, sent.messages.length);
    assert.equal(c(llm).request.message_hashes, undefined, "the record names the conversation by one hash");
    assert.equal(canonicalJson(rebuilt), canonicalJson(sent.messages), `request ${i + 1} differs`);
    assert.equal(sha256Hex(sent.system), c(llm).request.system_prompt_hash);
    assert.deepEqual(sent.thinking, { type: "enabled", budget_tokens: 2048 });
  }
  const messageBlobs = Number(r.store.database.exec("SELECT count(*) FROM blobs WHERE kind = 'message'")[0].values[0][0]);
  assert.equal(messageBlobs, 5, "task + 2 × (assistant, tool results), each once");

  // tool_call before the tool runs, linked to its llm_call; tool_result linked to the call.
  assert.equal(call1.parent_event_id, llm1.event_id);
  assert.equal(c(call1).requires_approval, false);
  assert.deepEqual(c(call1).input, { path: "src/greet.js" });
  assert.equal(result1.parent_event_id, call1.event_id);
  assert.equal(result1.outcome, "success");
  assert.match(c(result1).output, /Helo/);
  assert.ok(result1.execution_time_ms! >= 0);
  assert.equal(llm2.parent_event_id, llm1.event_id);
  assert.equal(call2.requires_approval, 1);
  assert.equal(approval.parent_event_id, call2.event_id);
  assert.equal(approval.approval_status, "approved");
  assert.equal(approval.approver_id, "test:approver");
  assert.ok(c(approval).asked_at <= c(approval).answered_at);
  assert.equal(result2.approval_status, "approved");
  assert.deepEqual(r.events.map((e) => e.step_number), [0, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
  assert.equal(c(llm3).output_text, "Fixed the typo in src/greet.js.");
  assert.equal(c(end).final_text, "Fixed the typo in src/greet.js.");
  assert.equal(c(end).totals.steps, 3);
  assert.equal(c(end).totals.tool_calls, 2);
  assert.equal(end.parent_event_id, llm3.event_id);
  assert.equal(verifyChain(r.store.database).ok, true);
});

test("malformed tool JSON, an unknown tool and escaping paths fail with their error types and the loop goes on", async (t) => {
  const root = sampleWorkspace(t);
  const outside = tempDir(t, "aat-outside-");
  fs.writeFileSync(path.join(outside, "secret.txt"), "outside");
  fs.symlinkSync(outside, path.join(root, "link-out"));
  const r = await runScenario(t, {
    turns: [
      {
        content: [
          { type: "tool_use", name: "read_file", raw_input: '{"path": "src/greet.js", ' },
          { type: "tool_use", name: "delete_everything", input: {} },
          { type: "tool_use", name: "read_file", input: { path: "../../etc/passwd" } },
          { type: "tool_use", name: "read_file", input: { path: path.join(outside, "secret.txt") } },
          { type: "tool_use", name: "read_file", input: { path: "link-out/secret.txt" } },
          { type: "tool_use", name: "write_file", input: { path: "link-out/new.txt", content: "x" } },
          { type: "tool_use", name: "read_file", input: { path: "src/greet.js", start_line: "one" } },
          { type: "tool_use", name: "read_file", input: { path: "nope.txt" } },
          { type: "tool_use", name: "write_file", input: { path: ".agent-audit/trail.db", content: "gone" } },
        ],
        chunk_size: 4,
      },
      { content: [{ type: "text", text: "Done." }] },
    ],
  }, { root });
  assert.equal(r.outcome.status, "completed");
  const results = ofType(r.events, "tool_result");
  assert.deepEqual(results.map((e) => e.error_type), [
    "invalid_input", "unknown_tool", "permission", "permission", "permission", "permission", "invalid_input", "not_found", "permission",
  ]);
  assert.match(c(results[8]).error.message, /audit trail folder/);
  assert.match(c(results[0]).error.message, /malformed JSON/);
  assert.equal(c(ofType(r.events, "tool_call")[0]).raw_input, '{"path": "src/greet.js", ');
  assert.match(c(results[4]).error.message, /symbolic link/);
  assert.equal(fs.existsSync(path.join(outside, "new.txt")), false);
  // The model was told about every failure as an is_error tool result.
  const sent = r.server.received[1].body as { messages: { role: string; content: { is_error?: boolean }[] }[] };
  const toolResults = sent.messages[2].content;
  assert.equal(toolResults.length, 9);
  assert.ok(toolResults.every((x) => x.is_error === true));
  assert.equal(r.outcome.totals.failed_tool_calls, 9);
});

test("a failing command keeps exit code, stdout and stderr; a slow one times out; large output is truncated with size and hash", async (t) => {
  const r = await runScenario(t, {
    turns: [
      {
        content: [
          { type: "tool_use", name: "run_command", input: { command: "echo partial; echo broken >&2; exit 3" } },
          { type: "tool_use", name: "run_command", input: { command: "sleep 5", timeout_seconds: 0.3 } },
          { type: "tool_use", name: "run_command", input: { command: "head -c 200000 /dev/zero | tr '\\0' 'a'" } },
          { type: "tool_use", name: "read_file", input: { path: "big.txt" } },
        ],
      },
      { content: [{ type: "text", text: "ok" }] },
    ],
  }, {
    root: (() => {
      const root = sampleWorkspace(t);
      fs.writeFileSync(path.join(root, "big.txt"), "b".repeat(100_000));
      return root;
    })(),
  });
  const [failed, timedOut, bigCmd, bigFile] = ofType(r.events, "tool_result");
  assert.equal(failed.error_type, "command_failed");
  assert.deepEqual(
    (({ exit_code, stdout, stderr }) => ({ exit_code, stdout, stderr }))(c(failed).error.detail),
    { exit_code: 3, stdout: "partial\n", stderr: "broken\n" },
  );
  assert.equal(timedOut.error_type, "timeout");
  assert.ok(timedOut.execution_time_ms! < 3000, "the command was stopped, not waited for");
  assert.equal(bigCmd.outcome, "success");
  assert.equal(c(bigCmd).output_truncated, true);
  assert.equal(c(bigCmd).output_bytes, 200_000);
  assert.equal(c(bigFile).output_truncated, true);
  assert.equal(c(bigFile).output_bytes, 100_000);
  // The digest is of what the trail keeps, after redaction (a digest of unredacted text gives a short secret away).
  assert.equal(c(bigFile).output_sha256, sha256Hex(c(bigFile).output));
  assert.ok(Buffer.byteLength(c(bigFile).output) < 64 * 1024 + 100);
  const told = (r.server.received[1].body as { messages: { content: { content: string }[] }[] }).messages[2].content;
  assert.match(told[0].content, /exit code: 3[\s\S]*broken/);
});

test("approvals: a rejection leaves the file unchanged; an edit runs the edited input and records it", async (t) => {
  const editTurn = (newText: string) => ({
    content: [{ type: "tool_use" as const, name: "edit_file", input: { path: "src/greet.js", old_text: '"Helo, "', new_text: newText } }],
  });
  const root = sampleWorkspace(t);
  const before = fs.readFileSync(path.join(root, "src", "greet.js"), "utf8");
  const rejected = await runScenario(t, { turns: [editTurn('"Hello, "'), { content: [{ type: "text", text: "ok" }] }] }, {
    root,
    approve: async () => ({ decision: "rejected", approver_id: "alice", reason: "not now" }),
  });
  assert.equal(fs.readFileSync(path.join(root, "src", "greet.js"), "utf8"), before);
  const rr = ofType(rejected.events, "tool_result")[0];
  assert.equal(rr.error_type, "approval_rejected");
  assert.equal(ofType(rejected.events, "approval")[0].approval_status, "rejected");
  assert.equal(c(ofType(rejected.events, "approval")[0]).reason, "not now");

  const edited = await runScenario(t, { turns: [editTurn('"Hi, "'), { content: [{ type: "text", text: "ok" }] }] }, {
    root,
    approve: async (req) => ({ decision: "edited", approver_id: "bob", input: { ...req.input, new_text: '"Hello there, "' } }),
  });
  assert.match(fs.readFileSync(path.join(root, "src", "greet.js"), "utf8"), /"Hello there, "/);
  const approval = ofType(edited.events, "approval")[0];
  assert.equal(approval.approval_status, "edited");
  assert.equal(c(approval).edited_input.new_text, '"Hello there, "');
  const result = ofType(edited.events, "tool_result")[0];
  assert.equal(result.outcome, "success");
  assert.equal(c(result).input.new_text, '"Hello there, "');
});

test("429 then success: the SDK's retries are recorded; 401 ends the session with a clear error", async (t) => {
  const r = await runScenario(t, {
    turns: [
      { error: { status: 429, type: "rate_limit_error", message: "slow down", retry_after_seconds: 0 } },
      { error: { status: 529, type: "overloaded_error", message: "busy", retry_after_seconds: 0 } },
      { content: [{ type: "text", text: "hi" }] },
    ],
  });
  assert.equal(r.outcome.status, "completed");
  assert.equal(c(ofType(r.events, "llm_call")[0]).retries, 2);

  const bad = await runScenario(t, { turns: [{ error: { status: 401, type: "authentication_error", message: "invalid x-api-key" } }] });
  assert.equal(bad.outcome.status, "error");
  const err = ofType(bad.events, "session_error")[0];
  assert.equal(c(err).error.type, "authentication");
  assert.match(c(err).error.message, /rejected the API key \(401: invalid x-api-key\)/);
  assert.doesNotMatch(c(err).error.message, /at .*\.js:\d+/, "no stack trace");
});

test("cancelling during a model stream or a running command records what was interrupted", async (t) => {
  const ac1 = new AbortController();
  const slowStream = await runScenario(t, {
    turns: [{ content: [{ type: "text", text: "a long answer ".repeat(200) }], delay_ms: 20, chunk_size: 5 }],
  }, {
    signal: ac1.signal,
    onProgress: (p) => {
      if (p.kind === "model_call") setTimeout(() => ac1.abort(), 200);
    },
  });
  assert.equal(slowStream.outcome.status, "cancelled");
  const cancelled = c(ofType(slowStream.events, "session_cancelled")[0]);
  assert.equal(cancelled.interrupted.kind, "model_call");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(slowStream.server.openStreams, 0, "the HTTP stream was closed");

  const ac2 = new AbortController();
  const t0 = Date.now();
  const slowCmd = await runScenario(t, {
    turns: [{ content: [{ type: "tool_use", name: "run_command", input: { command: "sleep 20" } }] }],
  }, {
    signal: ac2.signal,
    onProgress: (p) => {
      if (p.kind === "tool_start") setTimeout(() => ac2.abort(), 200);
    },
  });
  assert.ok(Date.now() - t0 < 5000, "the command was killed");
  assert.equal(slowCmd.outcome.status, "cancelled");
  const result = ofType(slowCmd.events, "tool_result")[0];
  assert.equal(result.error_type, "cancelled");
  const info = c(ofType(slowCmd.events, "session_cancelled")[0]);
  assert.equal(info.interrupted.kind, "tool_call");
  assert.equal(info.interrupted.tool_name, "run_command");
  assert.equal(info.interrupted.tool_call_event_id, ofType(slowCmd.events, "tool_call")[0].event_id);
});

test("max iterations ends the session with session_timeout", async (t) => {
  const loop = { content: [{ type: "tool_use" as const, name: "list_directory", input: { path: "." } }] };
  const r = await runScenario(t, { turns: [loop, loop, loop] }, { config: { maxIterations: 3 } });
  assert.equal(r.outcome.status, "timeout");
  assert.equal(ofType(r.events, "llm_call").length, 3);
  const timeout = c(ofType(r.events, "session_timeout")[0]);
  assert.equal(timeout.reason, "max_iterations");
  assert.equal(timeout.max_iterations, 3);
  assert.equal(ofType(r.events, "session_end").length, 0);
});

test("secrets in input, output and messages are redacted: their bytes appear nowhere in trail.db or its journal", async (t) => {
  const secrets = {
    anthropic: `sk-ant-api03-${"Zq7".repeat(31)}AA`,
    openai: `sk-proj-${"Ab1_".repeat(18)}xy` + "T3BlbkFJ" + `${"Cd2-".repeat(18)}zw`,
    aws: "AKIAZ3X7Q2LMN4PQRSTU",
    awsSecret: "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",
    github: `ghp_${"k9Lm".repeat(9)}`,
    slack: `xoxb-1234567890123-1234567890123-${"aZ".repeat(12)}`,
    pgPassword: "Sup3rS3cretPassw0rd",
  };
  // A real key, freshly made: the test uses real formats throughout.
  const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString().trim();
  const pemBody = pem.split("\n")[5];
  const root = sampleWorkspace(t);
  fs.writeFileSync(path.join(root, ".env"), `GITHUB_TOKEN=${secrets.github}\nSLACK=${secrets.slack}\nAWS_ACCESS_KEY_ID=${secrets.aws}\nAWS_SECRET_ACCESS_KEY=${secrets.awsSecret}\n${pem}\n`);
  const r = await runScenario(t, {
    turns: [
      {
        content: [
          { type: "text", text: `I will use the key ${secrets.openai}` },
          { type: "tool_use", name: "read_file", input: { path: ".env" } },
          { type: "tool_use", name: "run_command", input: { command: `echo postgres://admin:${secrets.pgPassword}@db.example.com:5432/prod` } },
        ],
      },
      { content: [{ type: "text", text: "done" }] },
    ],
  }, { root, task: `Deploy with ANTHROPIC key ${secrets.anthropic}` });
  assert.equal(r.outcome.status, "completed");
  // The model and the tools saw the real values; the trail did not.
  assert.match(JSON.stringify(r.server.received[1].body), new RegExp(secrets.github));
  const journalBeforeSnapshot = fs.readFileSync(r.store.journalPath);
  await r.store.flush();
  const start = c(ofType(r.events, "session_start")[0]);
  assert.match(start.task, /\[REDACTED:anthropic-api-key\]/);
  const files = [r.trailPath, r.store.journalPath];
  const all = Buffer.concat([journalBeforeSnapshot, ...files.map((f) => fs.readFileSync(f))]);
  for (const [name, value] of [...Object.entries(secrets), ["pem", pemBody]]) {
    assert.equal(all.includes(Buffer.from(value)), false, `${name} secret found in the trail files`);
  }
  const dump = r.events.map((e) => e.content).join("\n") + r.store.database.exec("SELECT group_concat(body) FROM blobs")[0].values[0][0];
  for (const marker of ["anthropic-api-key", "openai", "github-token", "slack-token", "aws", "privatekey"]) {
    assert.match(dump, new RegExp(`\\[REDACTED:[^\\]]*${marker}`, "i"), `no ${marker} marker`);
  }
  assert.match(dump, /postgres:\/\/[^\s"]*\[REDACTED|\[REDACTED:[^\]]*(postgres|connection)/i);
  assert.equal(verifyChain(r.store.database).ok, true);
});

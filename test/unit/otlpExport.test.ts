import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { GENAI_SEMCONV_VERSION, spanIdFor, traceIdFor } from "../../src/otel/genaiMapping";
import { LiveDelivery, LiveExportSchedule } from "../../src/otel/liveExport";
import { deliverSessions } from "../../src/otel/otlpDelivery";
import { OtlpExportError } from "../../src/otel/otlpExport";
import type { OtlpProtocol } from "../../src/otel/otlpExport";
import { TrailStore } from "../../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { c, ofType, runScenario, sampleWorkspace } from "../helpers/agentHarness";
import { runCli } from "../helpers/cliRunner";
import { OtlpCollector } from "../helpers/otlpCollector";
import { tempDir } from "../helpers/tempDir";

/** Every attribute name the pinned GenAI conventions define (from the package of that exact version). */
// The package's exports map names this entry point; TypeScript's "node" resolution does not read exports maps.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pinned = require("semconv-genai-pinned/incubating") as Record<string, unknown>;
const GENAI_NAMES = new Set<string>(Object.values(pinned).filter((v): v is string => typeof v === "string" && v.startsWith("gen_ai.")));

const session = [
  {
    content: [
      { type: "text" as const, text: "Let me look at the code." },
      { type: "tool_use" as const, name: "read_file", input: { path: "src/greet.js" } },
      { type: "tool_use" as const, name: "read_file", input: { path: "missing.txt" } },
    ],
    usage: { input_tokens: 120, output_tokens: 40, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 },
  },
  {
    content: [
      { type: "text" as const, text: "Fixing it." },
      { type: "tool_use" as const, name: "edit_file", input: { path: "src/greet.js", old_text: '"Helo, "', new_text: '"Hello, "' } },
      { type: "tool_use" as const, name: "run_command", input: { command: "exit 3" } },
    ],
  },
  { content: [{ type: "text" as const, text: "Fixed the typo." }] },
];

async function deliver(store: TrailStore, endpoint: string, cursorDir: string, protocol: OtlpProtocol = "http/protobuf", content = false) {
  return deliverSessions({ store, target: { endpoint, protocol }, select: { all: true }, content, cursorDir, service: { name: "agent-audit-trail", version: "test" } });
}

for (const protocol of ["http/protobuf", "http/json"] as const) {
  test(`export (${protocol}): a runner session as GenAI spans — names, kinds, parents, attributes of the pinned conventions, failures, approvals, provenance`, async (t) => {
    const r = await runScenario(t, { turns: session }, { config: { maxTokens: 8192 } });
    const collector = new OtlpCollector();
    const url = await collector.start();
    t.after(() => collector.stop());
    const result = await deliver(r.store, url, tempDir(t), protocol);
    assert.deepEqual([result.sessions, result.spans], [1, 1 + 3 + 4]);
    assert.ok(collector.requests.every((q) => q.contentType === (protocol === "http/protobuf" ? "application/x-protobuf" : "application/json")));
    const spans = collector.spans;
    const root = spans.find((s) => s.name.startsWith("invoke_agent "))!;
    assert.equal(root.name, `invoke_agent ${ofType(r.events, "session_start")[0].agent_id}`);
    assert.equal(spans.filter((s) => s.name.startsWith("invoke_agent ")).length, 1);
    const trailId = r.store.trailId;
    const start = ofType(r.events, "session_start")[0];

    // The root: INTERNAL, no parent, deterministic ids from the trail's.
    assert.equal(root.kind, 1);
    assert.equal(root.parentSpanId, "");
    assert.equal(root.traceId, traceIdFor(trailId, start.session_id));
    assert.equal(root.spanId, spanIdFor(trailId, start.event_id));
    assert.equal(root.attributes["gen_ai.operation.name"], "invoke_agent");
    assert.equal(root.attributes["gen_ai.conversation.id"], start.session_id);
    assert.equal(root.status.code, 1, "completed: OK");
    assert.equal(root.resource["service.name"], "agent-audit-trail");
    assert.equal(root.scope.schemaUrl, `https://opentelemetry.io/schemas/${GENAI_SEMCONV_VERSION}`);

    // Model calls: CLIENT spans "chat {model}", children of the root, usage and finish reasons.
    const chats = spans.filter((s) => s.name.startsWith("chat "));
    assert.equal(chats.length, 3);
    const llms = ofType(r.events, "llm_call");
    for (const [i, chat] of chats.entries()) {
      assert.equal(chat.kind, 3);
      assert.equal(chat.parentSpanId, root.spanId);
      assert.equal(chat.traceId, root.traceId);
      assert.equal(chat.name, `chat ${c(llms[i]).request.model}`);
      assert.equal(chat.attributes["gen_ai.request.max_tokens"], 8192);
      assert.deepEqual(chat.attributes["gen_ai.response.finish_reasons"], [c(llms[i]).response.stop_reason]);
      assert.equal(chat.attributes["agent_audit.seq"], llms[i].seq);
      assert.equal(chat.attributes["agent_audit.event_hash"], llms[i].hash);
      assert.ok(chat.endTimeUnixNano >= chat.startTimeUnixNano);
    }
    assert.equal(chats[0].attributes["gen_ai.usage.input_tokens"], 120);
    assert.equal(chats[0].attributes["gen_ai.usage.output_tokens"], 40);
    assert.equal(chats[0].attributes["gen_ai.usage.cache_read.input_tokens"], 7);
    assert.equal(chats[0].attributes["gen_ai.usage.cache_creation.input_tokens"], 3);

    // Tool calls: INTERNAL "execute_tool {name}", children of the root; each failure type an error.
    const tools = spans.filter((s) => s.name.startsWith("execute_tool "));
    assert.deepEqual(tools.map((s) => s.name), ["execute_tool read_file", "execute_tool read_file", "execute_tool edit_file", "execute_tool run_command"]);
    for (const s of tools) {
      assert.equal(s.kind, 1);
      assert.equal(s.parentSpanId, root.spanId);
      assert.match(String(s.attributes["gen_ai.tool.call.id"]), /^toolu_/);
    }
    const [ok, notFound, edit, failedCommand] = tools;
    assert.equal(ok.status.code, 0);
    assert.equal(ok.attributes["error.type"], undefined);
    assert.equal(notFound.status.code, 2);
    assert.equal(notFound.attributes["error.type"], c(ofType(r.events, "tool_result")[1]).error.type);
    assert.equal(failedCommand.status.code, 2);
    assert.equal(failedCommand.attributes["error.type"], "command_failed");
    // The approval of the edit, as a span event of its tool call.
    const approval = edit.events.find((e) => e.name === "agent_audit.approval")!;
    assert.equal(approval.attributes["agent_audit.approval.decision"], "approved");
    assert.equal(approval.attributes["agent_audit.approval.approver_id"], "test:approver");

    // No content without opting in; every gen_ai.* name is one the pinned conventions define.
    for (const s of spans) {
      for (const k of ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "agent_audit.task"]) assert.equal(s.attributes[k], undefined, `${k} on ${s.name}`);
      for (const k of Object.keys(s.attributes)) {
        assert.ok(k.startsWith("agent_audit.") || k === "error.type" || GENAI_NAMES.has(k), `${k} is not in the GenAI conventions ${GENAI_SEMCONV_VERSION}`);
      }
      assert.equal(s.attributes["agent_audit.trail_id"], trailId);
    }
  });
}

test("export with --content: messages, tool arguments and results in the conventions' format, after redaction", async (t) => {
  const secret = "sk-ant-api03-" + "A".repeat(93) + "AA";
  const turns = [
    { content: [{ type: "text" as const, text: `The key is ${secret}` }, { type: "tool_use" as const, name: "read_file", input: { path: "src/greet.js" } }] },
    { content: [{ type: "text" as const, text: "Done." }] },
  ];
  const r = await runScenario(t, { turns }, { redact: true, task: `use key ${secret}` });
  const collector = new OtlpCollector();
  const url = await collector.start();
  t.after(() => collector.stop());
  await deliver(r.store, url, tempDir(t), "http/protobuf", true);
  const [chat1] = collector.spans.filter((s) => s.name.startsWith("chat "));
  const input = JSON.parse(String(chat1.attributes["gen_ai.input.messages"]));
  assert.equal(input[0].role, "user");
  assert.equal(input[0].parts[0].type, "text");
  const output = JSON.parse(String(chat1.attributes["gen_ai.output.messages"]));
  assert.deepEqual(output[0].parts.map((p: { type: string }) => p.type), ["text", "tool_call"]);
  assert.equal(output[0].parts[1].name, "read_file");
  const tool = collector.spans.find((s) => s.name === "execute_tool read_file")!;
  assert.match(String(tool.attributes["gen_ai.tool.call.result"]), /Helo/);
  const all = JSON.stringify(collector.spans.map((s) => s.attributes));
  assert.ok(!all.includes(secret), "the secret never leaves: the trail holds it redacted");
  assert.match(String(collector.spans[0].attributes["agent_audit.task"]), /use key/);
});

test("a 401 and a dead endpoint lose nothing: after recovery every session arrives exactly once; a second export sends nothing", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), ".agent-audit", "trail.db"));
  t.after(() => store.close());
  for (const task of ["one", "two"]) await appendLinked(store, sessionEvents({ task, steps: 3, failures: 1 }));
  const a = { store };
  const cursors = tempDir(t);
  const collector = new OtlpCollector();
  const url = await collector.start();
  t.after(() => collector.stop());

  collector.respondWith = 401;
  await assert.rejects(deliver(a.store, url, cursors), (err: unknown) => err instanceof OtlpExportError && !err.retryable && /401/.test(err.message) && /Authorization/.test(err.message));
  assert.equal(collector.spans.length, 0);

  const port = collector.port;
  await collector.stop();
  await assert.rejects(deliver(a.store, url, cursors), (err: unknown) => err instanceof OtlpExportError && err.retryable && /nothing is lost/.test(err.message));

  collector.respondWith = undefined;
  await collector.start(port);
  const r = await deliver(a.store, url, cursors);
  assert.equal(r.sessions, 2);
  const ids = collector.spans.map((s) => s.spanId);
  assert.equal(new Set(ids).size, ids.length, "no span twice");
  assert.equal(collector.spans.filter((s) => s.name.startsWith("invoke_agent")).length, 2);
  const again = await deliver(a.store, url, cursors);
  assert.deepEqual([again.sessions, again.alreadyDelivered], [0, 2]);
  assert.equal(collector.spans.length, ids.length, "the second export sent nothing");
  // Another cursor (another machine): the same spans, the same ids.
  await deliver(a.store, url, tempDir(t));
  assert.deepEqual(collector.spans.slice(ids.length).map((s) => s.spanId).sort(), [...ids].sort());
});

test("agent-audit export --format otlp: the CLI sends to the endpoint with headers; a wrong endpoint is a clear error", async (t) => {
  const r = await runScenario(t, { turns: session });
  await r.store.close();
  const ws = path.dirname(path.dirname(r.trailPath));
  const config = tempDir(t);
  const collector = new OtlpCollector();
  const url = await collector.start();
  t.after(() => collector.stop());
  const ok = await runCli(["export", "--all", "--format", "otlp", "--endpoint", url, "--header", "Authorization=Bearer t0k", "--workspace", ws], config);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /Exported 1 session \(8 spans\)/);
  assert.equal(collector.requests[0].authorization, "Bearer t0k");
  const again = await runCli(["export", "--all", "--format", "otlp", "--endpoint", url, "--workspace", ws], config);
  assert.match(again.out, /Exported 0 sessions.*1 session already there/);
  const bad = await runCli(["export", "--all", "--format", "otlp", "--endpoint", "not a url", "--workspace", ws], config);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /is not a URL/);
  assert.ok(fs.existsSync(path.join(config, "otlp-cursors")));
});

test("export: each way a session ends maps to the root span's status and error.type", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), ".agent-audit", "trail.db"));
  t.after(() => store.close());
  const ends = { session_end: undefined, session_timeout: "timeout", session_cancelled: "cancelled", session_error: "error", replay_diverged: "replay_diverged" } as const;
  for (const type of Object.keys(ends)) {
    const events = sessionEvents({ task: `ends with ${type}`, steps: 1, end: false });
    events.push({ ...events[0], event_type: type, step_number: 1, content: type === "session_end" ? { final_text: "ok" } : { error: { type: "x", message: `stopped: ${type}` } } });
    await appendLinked(store, events);
  }
  const collector = new OtlpCollector();
  const url = await collector.start();
  t.after(() => collector.stop());
  await deliver(store, url, tempDir(t));
  const roots = collector.spans.filter((s) => s.name.startsWith("invoke_agent "));
  assert.equal(roots.length, 5);
  for (const [type, errorType] of Object.entries(ends)) {
    const root = roots.find((s) => s.attributes["agent_audit.session.end"] === type)!;
    assert.ok(root, type);
    assert.equal(root.attributes["error.type"], errorType, type);
    assert.equal(root.status.code, errorType ? 2 : 1, type);
    if (errorType) assert.equal(root.status.message, `stopped: ${type}`);
  }
});

test("live export: while a session runs its completed spans go, each once; the session's own span when it ends; the same spans as one export after the run", async (t) => {
  const root = sampleWorkspace(t);
  const trailPath = path.join(root, ".agent-audit", "trail.db");
  const collector = new OtlpCollector();
  const url = await collector.start();
  t.after(() => collector.stop());
  const cursors = tempDir(t);
  // What the extension does: a read-only view of the trail the run writes, exported from.
  let view: TrailStore | undefined;
  t.after(() => view?.close());
  // After its first look, a live delivery reads only the sessions changed since the last one.
  const delivery = new LiveDelivery();
  const live = async () => {
    view ??= (await TrailStore.open(trailPath, { readOnly: true })).store;
    await view.refresh();
    return delivery.deliver({ store: view, target: { endpoint: url }, cursorDir: cursors, service: { name: "agent-audit-trail", version: "test" } });
  };
  const during: string[][] = [];
  const r = await runScenario(t, { turns: session }, {
    root,
    // Each approval is asked mid-run: export what is complete at that moment.
    approve: async () => {
      const before = collector.spans.length;
      const result = await live();
      assert.equal(result.running, 1);
      during.push(collector.spans.slice(before).map((s) => s.name));
      return { decision: "approved", approver_id: "test:approver" };
    },
  });
  assert.equal(r.outcome.status, "completed");
  // At the edit's approval: both model calls so far and the two reads (each with its result);
  // not the edit (no result yet) and not the session's span (not ended).
  const chat = `chat ${ofType(r.events, "llm_call")[0].model_id}`;
  assert.deepEqual(during[0].sort(), [chat, chat, "execute_tool read_file", "execute_tool read_file"]);
  // At the command's approval: the edit, now that it has its result.
  assert.deepEqual(during[1], ["execute_tool edit_file"]);
  const after = await live();
  assert.equal(after.running, 0);
  const names = collector.spans.map((s) => s.name);
  assert.equal(names.length, 8, `every span once: ${names}`);
  assert.equal(new Set(collector.spans.map((s) => s.spanId)).size, 8);
  assert.equal(names.filter((n) => n.startsWith("invoke_agent")).length, 1);
  // Every child names the session's span as its parent, sent before or after it.
  const rootSpan = collector.spans.find((s) => s.name.startsWith("invoke_agent"))!;
  assert.ok(collector.spans.filter((s) => s !== rootSpan).every((s) => s.parentSpanId === rootSpan.spanId && s.traceId === rootSpan.traceId));
  // Nothing more to send; and one export after the run (another cursor) gives the same spans.
  assert.equal((await live()).spans, 0);
  const liveSpans = collector.spans.map((s) => JSON.stringify({ ...s, startTimeUnixNano: String(s.startTimeUnixNano), endTimeUnixNano: String(s.endTimeUnixNano) })).sort();
  const count = collector.spans.length;
  await deliver(view!, url, tempDir(t));
  const once = collector.spans.slice(count).map((s) => JSON.stringify({ ...s, startTimeUnixNano: String(s.startTimeUnixNano), endTimeUnixNano: String(s.endTimeUnixNano) })).sort();
  assert.deepEqual(once, liveSpans);
});

test("live export schedule: changes within the interval make one export; a change during an export makes one more; a failure is reported and the next export goes", async () => {
  let exports = 0;
  let fail = false;
  const waiting: (() => void)[] = [];
  const errors: unknown[] = [];
  const schedule = new LiveExportSchedule(async () => {
    exports++;
    if (fail) throw new Error("endpoint down");
    await new Promise<void>((r) => waiting.push(r));
  }, (err) => errors.push(err), 20);
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(what());
  };
  schedule.changed();
  schedule.changed();
  schedule.changed();
  assert.equal(exports, 0, "appending only sets a timer");
  await until(() => exports === 1);
  // Asked again during the export (a run ended): one more export right after it, not two at once.
  const now = schedule.exportNow();
  schedule.exportNow();
  assert.equal(exports, 1);
  waiting.shift()!();
  await now;
  await until(() => exports === 2);
  waiting.shift()!();
  await until(() => waiting.length === 0);
  fail = true;
  await schedule.exportNow();
  assert.equal(errors.length, 1, "a failure is reported, not thrown");
  fail = false;
  const next = schedule.exportNow();
  await until(() => waiting.length === 1);
  waiting.shift()!();
  await next;
  assert.equal(exports, 4);
  await schedule.dispose();
  schedule.changed();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(exports, 4, "nothing after dispose");
});

test("live delivery: after its first look it reads only changed sessions, and a failed delivery leaves nothing behind", async (t) => {
  const { store } = await TrailStore.open(path.join(tempDir(t), ".agent-audit", "trail.db"));
  t.after(() => store.close());
  const collector = new OtlpCollector();
  const url = await collector.start();
  t.after(() => collector.stop());
  const cursors = tempDir(t);
  const delivery = new LiveDelivery();
  const deliverLive = () => delivery.deliver({ store, target: { endpoint: url }, cursorDir: cursors, service: { name: "agent-audit-trail", version: "test" } });
  await appendLinked(store, sessionEvents({ task: "before the outage", steps: 2, failures: 0 }));
  const port = collector.port;
  await collector.stop();
  await assert.rejects(deliverLive(), (err: unknown) => err instanceof OtlpExportError && err.retryable);
  await appendLinked(store, sessionEvents({ task: "during the outage", steps: 2, failures: 0 }));
  await collector.start(port);
  const back = await deliverLive();
  assert.equal(back.sessions, 2, "the session from before the failed delivery goes too");
  await appendLinked(store, sessionEvents({ task: "after", steps: 2, failures: 1 }));
  const next = await deliverLive();
  assert.deepEqual([next.sessions, next.alreadyDelivered], [1, 0], "only the changed session is looked at");
  const ids = collector.spans.map((s) => s.spanId);
  assert.equal(new Set(ids).size, ids.length, "no span twice");
  assert.equal(collector.spans.filter((s) => s.name.startsWith("invoke_agent")).length, 3);
});

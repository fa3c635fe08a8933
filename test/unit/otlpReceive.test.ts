import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import * as zlib from "node:zlib";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { deliverSessions } from "../../src/otel/otlpDelivery";
import { OtlpIngest } from "../../src/otel/otlpIngest";
import { stagingFor } from "../../src/otel/otlpStaging";
import { OtlpReceiver } from "../../src/otel/otlpReceiver";
import { SecretRedactor } from "../../src/agent/secretRedactor";
import type { SessionSummary } from "../../src/trail/reading/trailQueries";
import { sessionEvents } from "../../src/trail/reading/trailQueries";
import { TrailReader } from "../../src/trail/reading/trailReader";
import { TrailStore } from "../../src/trail/store/trailStore";
import { runScenario } from "../helpers/agentHarness";
import { tempDir } from "../helpers/tempDir";

type T = Parameters<typeof tempDir>[0];

async function receiverInto(t: T, opts: { token?: string; maxBytes?: number } = {}) {
  const dir = tempDir(t);
  const { store } = await TrailStore.open(path.join(dir, ".agent-audit", "trail.db"));
  const staging = stagingFor(path.join(dir, ".agent-audit", "trail.db"), path.join(dir, "config"));
  const ingest = new OtlpIngest({ store, staging, quietMs: 200 });
  ingest.start();
  const receiver = new OtlpReceiver({ ingest, port: 0, ...opts });
  const url = await receiver.start();
  t.after(async () => {
    await receiver.stop();
    await ingest.stop();
    await store.close();
  });
  return { dir, store, ingest, receiver, url, staging };
}

function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers }, (res) => {
      let b = "";
      res.on("data", (c) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const strip = (s: SessionSummary) => ({ steps: s.steps, status: s.status, events: s.events, tool_calls: s.tool_calls, failed: s.failed_tool_calls, input: s.input_tokens, output: s.output_tokens, task: s.task });

test("round trip: a runner session exported as OTLP and received into an empty trail is the same session — steps, tool calls, failures, tokens, timings", async (t) => {
  const turns = [
    { content: [{ type: "text" as const, text: "Reading." }, { type: "tool_use" as const, name: "read_file", input: { path: "src/greet.js" } }, { type: "tool_use" as const, name: "read_file", input: { path: "nope.txt" } }], usage: { input_tokens: 120, output_tokens: 40, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 } },
    { content: [{ type: "tool_use" as const, name: "edit_file", input: { path: "src/greet.js", old_text: '"Helo, "', new_text: '"Hello, "' } }] },
    { content: [{ type: "text" as const, text: "Done." }] },
  ];
  const ours = await runScenario(t, { turns });
  const rx = await receiverInto(t);
  const sent = await deliverSessions({ store: ours.store, target: { endpoint: rx.url }, select: { all: true }, content: true, cursorDir: tempDir(t), service: { name: "agent-audit", version: "t" } });
  assert.equal(sent.sessions, 1);
  await rx.ingest.flush();
  const a = new TrailReader(ours.store).listSessions()[0];
  const received = new TrailReader(rx.store).listSessions();
  assert.equal(received.length, 1);
  const b = received[0];
  assert.deepEqual(strip(b), { ...strip(a), events: strip(b).events });
  assert.equal(b.agent_id, `${a.agent_id} (received)`, "the agent as the spans name it, never passing for our own");
  assert.equal(b.started_at, a.started_at);
  assert.equal(b.ended_at, a.ended_at);
  // Field by field: each model call's usage, each tool call's outcome, error type and duration.
  const evA = sessionEvents(ours.store.database, a.session_id);
  const evB = sessionEvents(rx.store.database, b.session_id);
  const pick = (evs: typeof evA, type: string) => evs.filter((e) => e.event_type === type);
  const usage = (e: (typeof evA)[0]) => JSON.parse(e.content).usage;
  assert.deepEqual(pick(evB, "llm_call").map(usage), pick(evA, "llm_call").map(usage));
  assert.deepEqual(pick(evB, "llm_call").map((e) => e.step_number), pick(evA, "llm_call").map((e) => e.step_number));
  const tool = (e: (typeof evA)[0]) => [e.step_number, e.tool_name, e.outcome, e.error_type];
  assert.deepEqual(pick(evB, "tool_result").map(tool), pick(evA, "tool_result").map(tool));
  assert.deepEqual(pick(evB, "tool_call").map((e) => e.timestamp), pick(evA, "tool_call").map((e) => e.timestamp), "tool calls start when they started");
  assert.deepEqual(pick(evB, "tool_result").map((e) => e.timestamp), pick(evA, "tool_result").map((e) => e.timestamp));
  assert.deepEqual(pick(evB, "approval").map((e) => e.approval_status), pick(evA, "approval").map((e) => e.approval_status));
  // Each received event keeps the record it came from.
  for (const e of evB) {
    const ref = JSON.parse(e.content).received.record;
    assert.equal(Number(rx.store.database.exec("SELECT count(*) FROM blobs WHERE hash = ? AND kind = 'otlp'", [ref])[0].values[0][0]), 1);
  }
});

test("spans from the official OpenTelemetry SDK, as an instrumented agent sends them, out of order over several requests, make one session in order", async (t) => {
  const rx = await receiverInto(t);
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource: resourceFromAttributes({ "service.name": "copilot-chat" }), spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  const tracer = provider.getTracer("genai-agent");
  const t0 = Date.now() - 60_000;
  const root = tracer.startSpan("invoke_agent GitHub Copilot", { kind: SpanKind.INTERNAL, startTime: t0, attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "GitHub Copilot", "gen_ai.request.model": "gpt-4o" } });
  const { trace, context } = await import("@opentelemetry/api");
  const ctx = trace.setSpan(context.active(), root);
  const chat = (i: number) => {
    const s = tracer.startSpan("chat gpt-4o", { kind: SpanKind.CLIENT, startTime: t0 + i * 10_000, attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 100 * (i + 1), "gen_ai.usage.output_tokens": 10, "gen_ai.response.finish_reasons": ["tool_calls"] } }, ctx);
    s.end(t0 + i * 10_000 + 2_000);
  };
  const tool = (i: number, name: string, fail: boolean) => {
    const s = tracer.startSpan(`execute_tool ${name}`, { kind: SpanKind.INTERNAL, startTime: t0 + i * 10_000 + 3_000, attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.tool.call.id": `call_${i}` } }, ctx);
    if (fail) {
      s.setAttribute("error.type", "ENOENT");
      s.setStatus({ code: SpanStatusCode.ERROR, message: "no such file" });
    }
    s.end(t0 + i * 10_000 + 4_000);
  };
  chat(0);
  tool(0, "read_file", false);
  chat(1);
  tool(1, "run_in_terminal", true);
  chat(2);
  root.end(t0 + 30_000);
  const spans = memory.getFinishedSpans();
  assert.equal(spans.length, 6);
  // Three requests, in an order that is not the spans' own: the root first, then the last step, then the first.
  const exporter = new OTLPTraceExporter({ url: `${rx.url}/v1/traces` });
  const send = (batch: ReadableSpan[]) => new Promise<void>((resolve, reject) => exporter.export(batch, (r) => (r.code === 0 ? resolve() : reject(r.error))));
  await send([spans[5]]);
  await send([spans[3], spans[4]]);
  await send([spans[0], spans[1], spans[2]]);
  await exporter.shutdown();
  await rx.ingest.flush();
  const [s] = new TrailReader(rx.store).listSessions();
  assert.equal(s.agent_id, "GitHub Copilot", "gen_ai.agent.name first, then service.name");
  assert.equal(s.status, "completed");
  assert.equal(s.steps, 3);
  assert.equal(s.tool_calls, 2);
  assert.equal(s.failed_tool_calls, 1);
  assert.equal(s.input_tokens, 600);
  const ev = sessionEvents(rx.store.database, s.session_id);
  assert.deepEqual(ev.map((e) => `${e.event_type}@${e.step_number}`), ["session_start@0", "llm_call@1", "tool_call@1", "tool_result@1", "llm_call@2", "tool_call@2", "tool_result@2", "llm_call@3", "session_end@3"]);
  const failed = ev.find((e) => e.outcome === "error")!;
  assert.equal(failed.tool_name, "run_in_terminal");
  assert.equal(failed.error_type, "ENOENT");
  for (let i = 1; i < ev.length; i++) assert.ok(ev[i].timestamp >= ev[i - 1].timestamp, "in the order things happened");
});

test("Claude Code's log events (OTLP logs) become a session: prompt, API requests with tokens and cost, tool decisions and results", async (t) => {
  const rx = await receiverInto(t);
  const t0 = BigInt(Date.now() - 60_000) * 1_000_000n;
  const at = (s: number) => String(t0 + BigInt(s) * 1_000_000_000n);
  const kv = (o: Record<string, string | number | boolean>) => Object.entries(o).map(([key, v]) => ({ key, value: typeof v === "number" ? { intValue: String(v) } : typeof v === "boolean" ? { boolValue: v } : { stringValue: v } }));
  const rec = (s: number, name: string, attrs: Record<string, string | number | boolean>) => ({ timeUnixNano: at(s), body: { stringValue: name }, attributes: kv({ "event.name": name.replace(/^claude_code\./, ""), "session.id": "cc-42", ...attrs }) });
  const body = {
    resourceLogs: [{
      resource: { attributes: kv({ "service.name": "claude-code", "service.version": "2.0.0" }) },
      scopeLogs: [{
        scope: { name: "com.anthropic.claude_code.events" },
        logRecords: [
          rec(3, "claude_code.tool_result", { tool_name: "Bash", success: false, duration_ms: 800, error: "exit code 1" }),
          rec(0, "claude_code.user_prompt", { prompt_length: 42 }),
          rec(1, "claude_code.api_request", { model: "claude-sonnet-4-5", input_tokens: 1000, output_tokens: 200, cache_read_tokens: 50, cache_creation_tokens: 5, cost_usd: 0.01, duration_ms: 900 }),
          rec(2, "claude_code.tool_decision", { tool_name: "Bash", decision: "accept", source: "user_temporary" }),
          rec(4, "claude_code.api_request", { model: "claude-sonnet-4-5", input_tokens: 1300, output_tokens: 100, duration_ms: 700 }),
        ],
      }],
    }],
  };
  const r = await post(`${rx.url}/v1/logs`, JSON.stringify(body), { "content-type": "application/json" });
  assert.equal(r.status, 200, r.body);
  await rx.ingest.flush();
  const [s] = new TrailReader(rx.store).listSessions();
  assert.equal(s.agent_id, "claude-code");
  assert.equal(s.session_id, "otel-claude-code-cc-42", "in the received sessions' namespace");
  assert.equal(s.steps, 2);
  assert.equal(s.input_tokens, 2300);
  assert.equal(s.failed_tool_calls, 1);
  assert.match(s.task ?? "", /42 characters/);
  const ev = sessionEvents(rx.store.database, s.session_id);
  assert.deepEqual(ev.map((e) => e.event_type), ["session_start", "llm_call", "approval", "tool_call", "tool_result", "llm_call"]);
  assert.equal(JSON.parse(ev[1].content).cost_usd, 0.01);
  assert.equal(ev[2].approval_status, "approved");
});

test("malformed, oversized, unauthorised and non-loopback requests are refused and nothing is written; gzip is taken", async (t) => {
  const rx = await receiverInto(t, { token: "s3cret", maxBytes: 64 * 1024 });
  const auth = { authorization: "Bearer s3cret" };
  const headBefore = rx.store.head.seq;
  assert.equal((await post(`${rx.url}/v1/traces`, Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]), { "content-type": "application/x-protobuf", ...auth })).status, 400);
  assert.equal((await post(`${rx.url}/v1/traces`, "{not json", { "content-type": "application/json", ...auth })).status, 400);
  assert.equal((await post(`${rx.url}/v1/traces`, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "zz", spanId: "1", name: "x" }] }] }] }), { "content-type": "application/json", ...auth })).status, 400);
  assert.equal((await post(`${rx.url}/v1/traces`, "{}", { "content-type": "text/plain", ...auth })).status, 415);
  assert.equal((await post(`${rx.url}/v1/traces`, Buffer.alloc(100 * 1024), { "content-type": "application/x-protobuf", ...auth })).status, 413);
  assert.equal((await post(`${rx.url}/v1/traces`, zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024)), { "content-type": "application/x-protobuf", "content-encoding": "gzip", ...auth })).status, 400, "a gzip bomb is refused");
  assert.equal((await post(`${rx.url}/v1/traces`, "{}", { "content-type": "application/json" })).status, 401);
  await rx.ingest.flush();
  assert.equal(rx.store.head.seq, headBefore, "nothing was written");
  assert.equal(fs.readFileSync(rx.staging.file, "utf8"), "");
  // Bound to loopback: another address of this machine does not answer.
  const other = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal);
  if (other) {
    const port = new URL(rx.url).port;
    await assert.rejects(post(`http://${other.address}:${port}/v1/traces`, "{}", { "content-type": "application/json", ...auth }));
  }
  // A good gzip'd JSON request is taken.
  const span = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "invoke_agent x", kind: 1, startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n), endTimeUnixNano: String(BigInt(Date.now() + 5) * 1_000_000n), attributes: [{ key: "gen_ai.operation.name", value: { stringValue: "invoke_agent" } }] };
  const good = zlib.gzipSync(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "x-agent" } }] }, scopeSpans: [{ spans: [span] }] }] }));
  assert.equal((await post(`${rx.url}/v1/traces`, good, { "content-type": "application/json", "content-encoding": "gzip", ...auth })).status, 200);
  await rx.ingest.flush();
  assert.equal(new TrailReader(rx.store).listSessions()[0].agent_id, "x-agent");
});

test("received records staged before the answer survive a crash: a new receiver writes them, once", async (t) => {
  const dir = tempDir(t);
  const trail = path.join(dir, ".agent-audit", "trail.db");
  const staging = stagingFor(trail, path.join(dir, "config"));
  const { store } = await TrailStore.open(trail);
  const ingest = new OtlpIngest({ store, staging, quietMs: 60_000 });
  ingest.start();
  const now = Date.now();
  const rec = (id: string, name: string, op: string, parent = "") => ({ traceId: "1".repeat(32), spanId: id, parentSpanId: parent, name, kind: 1, startMs: now, endMs: now + 10, attributes: { "gen_ai.operation.name": op }, status: { code: 0, message: "" }, events: [], resource: { "service.name": "a" }, scope: "s", raw: { name } });
  ingest.receive([rec("2".repeat(16), "chat m", "chat", "1".repeat(16)), rec("1".repeat(16), "invoke_agent a", "invoke_agent")], []);
  // "Crash": the process goes away before the quiet period ends; nothing is in the trail yet.
  assert.equal(store.head.seq, 0);
  const stagedLines = fs.readFileSync(staging.file, "utf8");
  await store.close();
  const { store: again } = await TrailStore.open(trail);
  const second = new OtlpIngest({ store: again, staging, quietMs: 50 });
  second.start();
  await second.flush();
  const events = again.head.seq;
  assert.equal(new TrailReader(again).listSessions()[0].steps, 1);
  await second.stop();
  // The same staged lines once more (a crash after writing, before the staging was emptied): no duplicates.
  fs.writeFileSync(staging.file, stagedLines);
  const third = new OtlpIngest({ store: again, staging, quietMs: 50 });
  third.start();
  await third.stop();
  assert.equal(again.head.seq, events, "a record written before is not written again");
  assert.equal(fs.readFileSync(staging.file, "utf8"), "", "and nothing is left staged");
  await again.close();
});

test("secrets in received telemetry are redacted before anything is written, staging included", async (t) => {
  const dir = tempDir(t);
  const { store } = await TrailStore.open(path.join(dir, ".agent-audit", "trail.db"));
  const staging = stagingFor(path.join(dir, ".agent-audit", "trail.db"), path.join(dir, "config"));
  const ingest = new OtlpIngest({ store, staging, quietMs: 60_000 });
  ingest.start();
  const redactor = new SecretRedactor();
  const receiver = new OtlpReceiver({ ingest, port: 0, redact: (v) => redactor.redact(v) });
  const url = await receiver.start();
  t.after(async () => {
    await receiver.stop();
    await ingest.stop();
    await store.close();
  });
  const secret = "sk-ant-api03-" + "B".repeat(93) + "AA";
  const now = BigInt(Date.now()) * 1_000_000n;
  const span = { traceId: "2".repeat(32), spanId: "3".repeat(16), name: "execute_tool run", kind: 1, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1000n), attributes: [{ key: "gen_ai.operation.name", value: { stringValue: "execute_tool" } }, { key: "gen_ai.tool.call.arguments", value: { stringValue: JSON.stringify({ command: `curl -H "x-api-key: ${secret}"` }) } }] };
  const r = await post(`${url}/v1/traces`, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }), { "content-type": "application/json" });
  assert.equal(r.status, 200);
  assert.ok(!fs.readFileSync(staging.file, "utf8").includes(secret), "not in the staging file");
  assert.match(fs.readFileSync(staging.file, "utf8"), /REDACTED/);
  await ingest.flush();
  const all = JSON.stringify(store.database.exec("SELECT content FROM events UNION ALL SELECT body FROM blobs"));
  assert.ok(!all.includes(secret), "not in the trail");
});

// What the receiver attack tests share: `agent-audit collect` started as a user starts it (the
// built CLI, a throwaway HOME and trust store), raw HTTP requests with every header chosen by
// the attacker, and OTLP bodies as a sender would build them.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import type { Scenario } from "../fakeAnthropic/scenario";
import { CLI, runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

type T = { after(fn: () => void | Promise<void>): void };

/** A user: a home folder, a trust store in it, and a workspace (a cloned repository). */
export interface User {
  home: string;
  config: string;
  ws: string;
  env: Record<string, string>;
}

export function newUser(t: T): User {
  const home = tempDir(t, "aat-home-");
  const config = path.join(home, ".config", "agent-audit");
  const ws = path.join(home, "project");
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(path.join(ws, "README.md"), "# project\n");
  return { home, config, ws, env: { HOME: home, AGENT_AUDIT_CONFIG_DIR: config } };
}

export function cli(u: User, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return runCli(args, u.config, { ...u.env, ...env });
}

export interface Collect {
  url: string;
  port: number;
  /** The bearer token collect printed (none on a collect that does not ask for one). */
  token: string | undefined;
  /** Authorization header to send, when there is a token. */
  auth: Record<string, string>;
  output(): string;
  /** Ctrl-C: collect writes what is staged and exits. */
  stop(): Promise<{ code: number | null; out: string }>;
  /** kill -9: nothing is flushed. */
  kill(): Promise<void>;
  child: ChildProcess;
}

/** Starts `agent-audit collect --port 0` in the user's workspace and waits until it listens. */
export async function startCollect(t: T, u: User, extra: string[] = []): Promise<Collect> {
  const child = spawn(process.execPath, [CLI, "collect", "--port", "0", "--workspace", u.ws, ...extra], { env: { ...process.env, ...u.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d));
  child.stderr!.on("data", (d: Buffer) => (out += d));
  const closed = new Promise<number | null>((resolve) => child.on("close", (code, signal) => {
    if (signal) out += `\n(collect ended by ${signal})\n`;
    resolve(code);
  }));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collect did not start:\n${out}`)), 20_000);
    const look = () => {
      const m = /Receiving OTLP\/HTTP on (http:\/\/[^\s]+?) /.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", look);
    child.on("close", () => reject(new Error(`collect exited:\n${out}`)));
  });
  const token = /Authorization=Bearer ([A-Za-z0-9_-]+)/.exec(out)?.[1];
  return {
    url,
    port: Number(new URL(url).port),
    token,
    auth: token ? { authorization: `Bearer ${token}` } : {},
    output: () => out,
    stop: async () => {
      child.kill("SIGINT");
      return { code: await closed, out };
    },
    kill: async () => {
      child.kill("SIGKILL");
      await closed;
    },
    child,
  };
}

/** A raw HTTP request; `host` and every other header exactly as given (node sets Host only when it is not). */
export function send(url: string, body: Buffer | string, headers: Record<string, string>, method = "POST"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let b = "";
      res.on("data", (c) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

type Attr = string | number | boolean;
export const kv = (o: Record<string, Attr>) =>
  Object.entries(o).map(([key, v]) => ({ key, value: typeof v === "number" ? { intValue: String(v) } : typeof v === "boolean" ? { boolValue: v } : { stringValue: v } }));

const nanos = (ms: number) => String(BigInt(Math.round(ms)) * 1_000_000n);

export interface SpanSpec {
  spanId: string;
  parent?: string;
  name: string;
  startMs: number;
  endMs: number;
  attrs: Record<string, Attr>;
  events?: { name: string; timeMs: number; attrs: Record<string, Attr> }[];
  error?: string;
}

export function span(traceId: string, s: SpanSpec): Record<string, unknown> {
  return {
    traceId,
    spanId: s.spanId,
    parentSpanId: s.parent ?? "",
    name: s.name,
    kind: 1,
    startTimeUnixNano: nanos(s.startMs),
    endTimeUnixNano: nanos(s.endMs),
    attributes: kv(s.attrs),
    events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: nanos(e.timeMs), attributes: kv(e.attrs) })),
    status: s.error ? { code: 2, message: s.error } : { code: 1 },
  };
}

export function tracesBody(service: string, spans: Record<string, unknown>[]): string {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: kv({ "service.name": service }) }, scopeSpans: [{ scope: { name: "attacker" }, spans }] }] });
}

/**
 * A whole session as an agent would send it: a root, a model call, and a `run_command` tool
 * call with `command`, approved by `approver`.
 */
export function sessionSpans(traceId: string, o: { agent: string; command: string; approver?: string; atMs?: number; task?: string }): Record<string, unknown>[] {
  const t0 = o.atMs ?? Date.now() - 10_000;
  const root = "1".repeat(16);
  return [
    span(traceId, { spanId: root, name: `invoke_agent ${o.agent}`, startMs: t0, endMs: t0 + 5_000, attrs: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": o.agent, "agent_audit.task": o.task ?? "tidy up" } }),
    span(traceId, { spanId: "2".repeat(16), parent: root, name: "chat m", startMs: t0 + 100, endMs: t0 + 900, attrs: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5 } }),
    span(traceId, {
      spanId: "3".repeat(16),
      parent: root,
      name: "execute_tool run_command",
      startMs: t0 + 1_000,
      endMs: t0 + 2_000,
      attrs: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_command", "gen_ai.tool.call.id": "call_1", "gen_ai.tool.call.arguments": JSON.stringify({ command: o.command }) },
      events: [{ name: "agent_audit.approval", timeMs: t0 + 1_500, attrs: { "agent_audit.approval.decision": "approved", "agent_audit.approval.approver_id": o.approver ?? "alice" } }],
    }),
  ];
}

/** Claude Code–style log records of one session (`service.name` + `session.id`). */
export function logsBody(service: string, sessionId: string, records: { atMs: number; name: string; attrs: Record<string, Attr> }[]): string {
  return JSON.stringify({
    resourceLogs: [{
      resource: { attributes: kv({ "service.name": service }) },
      scopeLogs: [{ scope: { name: "attacker" }, logRecords: records.map((r) => ({ timeUnixNano: nanos(r.atMs), body: { stringValue: r.name }, attributes: kv({ "event.name": r.name, "session.id": sessionId, ...r.attrs }) })) }],
    }],
  });
}

/** Runs one real session of our own agent (`agent-audit run`, scripted model) in the user's workspace; its id. */
export async function ownSession(t: T, u: User, scenario: Scenario): Promise<string> {
  const server = new FakeAnthropicServer(scenario);
  const url = await server.start();
  t.after(() => server.stop());
  const run = await cli(u, ["run", "Check the project", "--workspace", u.ws, "--approve", "all"], { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: url });
  if (run.code !== 0) throw new Error(`run failed:\n${run.out}`);
  return /Session ([0-9a-f-]{36})/.exec(run.out)![1];
}

export interface SessionRow {
  session_id: string;
  agent_id: string;
  task: string | null;
  events: number;
}

export async function sessions(u: User): Promise<SessionRow[]> {
  const r = await cli(u, ["sessions", "--workspace", u.ws, "--json"]);
  if (r.code !== 0) return [];
  return JSON.parse(r.out.slice(r.out.indexOf("["))) as SessionRow[];
}

export async function events(u: User, sessionId: string): Promise<{ event_id: string; event_type: string; agent_id: string; timestamp: string; content: Record<string, any> }[]> {
  const r = await cli(u, ["show", sessionId, "--workspace", u.ws, "--json"]);
  if (r.code !== 0) throw new Error(r.out);
  return JSON.parse(r.out.slice(r.out.indexOf("[")));
}

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/** The real Claude Code, provisioned by test/capture/provisionClaudeCode.sh (npm pretest). */
export const CLAUDE = path.resolve(__dirname, "..", "..", "..", ".tools", "claude-code", "node_modules", "@anthropic-ai", "claude-code", "bin", "claude.exe");

export function claudeAvailable(): boolean {
  return fs.existsSync(CLAUDE);
}

export type Block = { type: "thinking"; thinking: string } | { type: "text"; text: string } | { type: "tool_use"; name: string; input: Record<string, unknown> };

/**
 * A stand-in for the Messages API as Claude Code's main loop uses it: streaming SSE framed as
 * the API frames it. A request that offers tools is answered with the turn after as many tool
 * results as the conversation holds (so the script is the session, whatever else Claude Code
 * asks on the side); any other request (a title, a summary) gets a short text.
 * `beforeTurn(n)` runs before turn n is answered (a test's way to act between tool calls).
 */
export class ClaudeCodeApi {
  private server: http.Server | undefined;
  private ids = 0;
  readonly requests: Record<string, unknown>[] = [];

  constructor(
    private readonly turns: Block[][],
    private readonly beforeTurn?: (n: number) => void,
  ) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let text = "";
    for await (const c of req) text += c;
    if (!req.url?.startsWith("/v1/messages") || req.url.includes("count_tokens")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ input_tokens: 10 }));
      return;
    }
    const body = JSON.parse(text) as { tools?: unknown[]; messages: { content: unknown }[]; model: string; stream?: boolean };
    this.requests.push(body);
    let blocks: Block[];
    if (!body.tools?.length) blocks = [{ type: "text", text: "A title" }];
    else {
      const results = body.messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as { type: string }[]) : [])).filter((c) => c.type === "tool_result").length;
      this.beforeTurn?.(results);
      blocks = this.turns[Math.min(results, this.turns.length - 1)];
    }
    const withIds = blocks.map((b) => (b.type === "tool_use" ? { ...b, id: `toolu_${String(++this.ids).padStart(4, "0")}` } : b));
    const stop = withIds.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
    const usage = { input_tokens: 1000 + this.ids, output_tokens: 40, cache_read_input_tokens: 200, cache_creation_input_tokens: 30 };
    const message = { id: `msg_${this.requests.length}_${Date.now()}`, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } };
    res.writeHead(200, { "content-type": "text/event-stream", "request-id": `req_${this.requests.length}` });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send("message_start", { type: "message_start", message });
    withIds.forEach((b, index) => {
      if (b.type === "text") {
        send("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } });
        send("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: b.text } });
      } else if (b.type === "thinking") {
        send("content_block_start", { type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
        send("content_block_delta", { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: b.thinking } });
        send("content_block_delta", { type: "content_block_delta", index, delta: { type: "signature_delta", signature: "sig-test" } });
      } else {
        send("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: (b as { id: string }).id, name: b.name, input: {} } });
        send("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) } });
      }
      send("content_block_stop", { type: "content_block_stop", index });
    });
    send("message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    send("message_stop", { type: "message_stop" });
    res.end();
  }
}

/** The environment Claude Code and our CLI run in: a home and a trust store of the test's own, nothing of the machine's. */
export function claudeEnv(home: string, config: string, baseUrl: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    AGENT_AUDIT_CONFIG_DIR: config,
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: "sk-ant-test-not-a-real-key",
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  };
}

/** Runs `claude -p PROMPT --output-format json` in `cwd`; resolves with its exit code and output. */
export function runClaude(cwd: string, prompt: string, env: Record<string, string>, tools = "Bash Read Edit Write"): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(CLAUDE, ["-p", prompt, "--output-format", "json", "--allowedTools", tools], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

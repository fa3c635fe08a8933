import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { ResponseTurn, Scenario, ScriptedBlock, Turn } from "./scenario";
import { isErrorTurn } from "./scenario";

/** What the server received, so tests can assert what the agent sent. */
export interface ReceivedRequest {
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

/**
 * A local stand-in for the Anthropic Messages API: `POST /v1/messages`, JSON or SSE
 * streaming exactly as the real API frames them, scripted by a Scenario. It listens on
 * 127.0.0.1 and is used by pointing the real SDK at it (baseURL). A test fixture and the
 * engine of the demo, nothing more.
 */
export class FakeAnthropicServer {
  readonly received: ReceivedRequest[] = [];
  private server: http.Server | undefined;
  private next = 0;
  private toolIds = 0;
  /** Sockets of streams in progress: a test can see that a cancelled stream was closed. */
  openStreams = 0;

  constructor(private scenario: Scenario) {}

  /** Starts listening on a free port; returns the base URL for the SDK. */
  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    return this.url;
  }

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Turns not yet consumed. */
  get remainingTurns(): number {
    return this.scenario.turns.length - this.next;
  }

  setScenario(scenario: Scenario): void {
    this.scenario = scenario;
    this.next = 0;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || !req.url?.startsWith("/v1/messages")) {
      return this.sendError(res, { status: 404, type: "not_found_error", message: `No route for ${req.method} ${req.url}` });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return this.sendError(res, { status: 400, type: "invalid_request_error", message: "Body is not JSON" });
    }
    this.received.push({ body, headers: req.headers });
    const turn: Turn | undefined = this.scenario.turns[this.next++];
    if (!turn) {
      return this.sendError(res, { status: 500, type: "api_error", message: "The scripted scenario has no more turns" });
    }
    if (isErrorTurn(turn)) return this.sendError(res, turn.error);
    const message = this.buildMessage(turn, String(body.model ?? "claude-fake"));
    if (body.stream) await this.stream(res, message, turn);
    else {
      res.writeHead(200, { "content-type": "application/json", "request-id": message.requestId });
      res.end(JSON.stringify(message.json));
    }
  }

  private buildMessage(turn: ResponseTurn, model: string) {
    const id = `msg_${randomUUID().replace(/-/g, "").slice(0, 24)}`;
    const blocks = turn.content.map((b) => (b.type === "tool_use" ? { ...b, id: b.id ?? `toolu_fake_${++this.toolIds}` } : b));
    const usage = {
      input_tokens: turn.usage?.input_tokens ?? 100,
      output_tokens: turn.usage?.output_tokens ?? 50,
      cache_read_input_tokens: turn.usage?.cache_read_input_tokens ?? 0,
      cache_creation_input_tokens: turn.usage?.cache_creation_input_tokens ?? 0,
    };
    const stop_reason = turn.stop_reason ?? (blocks.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
    const json = {
      id,
      type: "message",
      role: "assistant",
      model: this.scenario.model ?? model,
      content: blocks.map((b) => blockJson(b)),
      stop_reason,
      stop_sequence: null,
      usage,
    };
    return { json, blocks, requestId: `req_fake_${randomUUID().slice(0, 8)}` };
  }

  private async stream(res: http.ServerResponse, m: ReturnType<FakeAnthropicServer["buildMessage"]>, turn: ResponseTurn): Promise<void> {
    this.openStreams++;
    let closed = false;
    res.on("close", () => {
      closed = true;
      this.openStreams--;
    });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": m.requestId });
    const delay = turn.delay_ms ?? 0;
    const size = turn.chunk_size ?? 12;
    const send = async (event: string, data: unknown) => {
      if (closed) return;
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (closed) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const { usage } = m.json;
    await send("message_start", {
      type: "message_start",
      message: { ...m.json, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    });
    await send("ping", { type: "ping" });
    for (let index = 0; index < m.blocks.length; index++) {
      const b = m.blocks[index];
      const start =
        b.type === "text" ? { type: "text", text: "" }
        : b.type === "thinking" ? { type: "thinking", thinking: "", signature: "" }
        : { type: "tool_use", id: b.id, name: b.name, input: {} };
      await send("content_block_start", { type: "content_block_start", index, content_block: start });
      const pieces = (text: string) => {
        const out: string[] = [];
        for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
        return out;
      };
      if (b.type === "text") {
        for (const p of pieces(b.text)) await send("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: p } });
      } else if (b.type === "thinking") {
        for (const p of pieces(b.thinking)) await send("content_block_delta", { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: p } });
        await send("content_block_delta", { type: "content_block_delta", index, delta: { type: "signature_delta", signature: b.signature ?? "sig-fake" } });
      } else {
        const raw = b.raw_input ?? JSON.stringify(b.input ?? {});
        for (const p of pieces(raw)) await send("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: p } });
      }
      await send("content_block_stop", { type: "content_block_stop", index });
    }
    await send("message_delta", {
      type: "message_delta",
      delta: { stop_reason: m.json.stop_reason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    await send("message_stop", { type: "message_stop" });
    if (!closed) res.end();
  }

  private sendError(res: http.ServerResponse, e: { status: number; type: string; message: string; retry_after_seconds?: number }): void {
    const headers: Record<string, string> = { "content-type": "application/json", "request-id": `req_fake_err_${this.next}` };
    if (e.retry_after_seconds !== undefined) headers["retry-after"] = String(e.retry_after_seconds);
    res.writeHead(e.status, headers);
    res.end(JSON.stringify({ type: "error", error: { type: e.type, message: e.message } }));
  }
}

function blockJson(b: ScriptedBlock & { id?: string }): Record<string, unknown> {
  if (b.type === "tool_use") {
    let input: unknown = b.input ?? {};
    if (b.raw_input !== undefined) {
      try {
        input = JSON.parse(b.raw_input);
      } catch {
        input = {};
      }
    }
    return { type: "tool_use", id: b.id, name: b.name, input };
  }
  if (b.type === "thinking") return { type: "thinking", thinking: b.thinking, signature: b.signature ?? "sig-fake" };
  return { type: "text", text: b.text };
}

import Anthropic from "@anthropic-ai/sdk";
import type { ModelClient, ModelRequest, ModelResponse, ResponseBlock, StreamProgress } from "./modelClient";
import { ModelCallError } from "./modelClient";

export interface AnthropicClientOptions {
  apiKey: string;
  /** Defaults to the SDK's own (ANTHROPIC_BASE_URL, else api.anthropic.com). */
  baseURL?: string;
  maxRetries?: number;
  timeoutMs?: number;
}

/**
 * The model client for Claude, through the official SDK's streaming API
 * (`messages.stream`): cancellation aborts the HTTP request at once, and long outputs
 * arrive as they are produced. Tool input JSON is assembled from the raw deltas and parsed
 * strictly here (the SDK's own accumulator repairs broken JSON, which would hide a
 * malformed tool call from the audit trail).
 */
export class AnthropicModelClient implements ModelClient {
  private readonly client: Anthropic;
  /** Requests sent for the call in progress: retries = attempts - 1. */
  private attempts = 0;

  constructor(options: AnthropicClientOptions) {
    this.client = new Anthropic({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      maxRetries: options.maxRetries ?? 2,
      timeout: options.timeoutMs ?? 10 * 60 * 1000,
      // Counting requests is the only way to learn how many retries the SDK made.
      fetch: (url: string | URL | Request, init?: RequestInit) => {
        this.attempts++;
        return fetch(url, init);
      },
    });
  }

  async createMessage(request: ModelRequest, signal: AbortSignal, onProgress?: (p: StreamProgress) => void): Promise<ModelResponse> {
    this.attempts = 0;
    const started = performance.now();
    let firstTokenAt: number | null = null;
    const blocks: (ResponseBlock & { _raw?: string })[] = [];
    let stopReason: string | null = null;
    let model = request.model;
    const usage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    const params: Anthropic.MessageCreateParams = {
      model: request.model,
      max_tokens: request.max_tokens,
      system: request.system,
      messages: request.messages as Anthropic.MessageParam[],
      tools: request.tools as Anthropic.Tool[],
    };
    if (request.thinking_budget) params.thinking = { type: "enabled", budget_tokens: request.thinking_budget };
    let stream: ReturnType<Anthropic["messages"]["stream"]> | undefined;
    try {
      stream = this.client.messages.stream(params, { signal });
      for await (const ev of stream) {
        switch (ev.type) {
          case "message_start":
            model = ev.message.model;
            Object.assign(usage, pickUsage(ev.message.usage));
            break;
          case "content_block_start": {
            const b = ev.content_block;
            if (b.type === "text") blocks[ev.index] = { type: "text", text: b.text };
            else if (b.type === "thinking") blocks[ev.index] = { type: "thinking", thinking: b.thinking, signature: b.signature };
            else if (b.type === "tool_use") {
              blocks[ev.index] = { type: "tool_use", id: b.id, name: b.name, input: undefined, raw_input: "" };
              onProgress?.({ kind: "tool_input", name: b.name });
            }
            break;
          }
          case "content_block_delta": {
            if (firstTokenAt === null) {
              firstTokenAt = performance.now();
              onProgress?.({ kind: "first_token" });
            }
            const b = blocks[ev.index];
            const d = ev.delta;
            if (d.type === "text_delta" && b?.type === "text") {
              b.text += d.text;
              onProgress?.({ kind: "text", chars: b.text.length });
            } else if (d.type === "thinking_delta" && b?.type === "thinking") b.thinking += d.thinking;
            else if (d.type === "signature_delta" && b?.type === "thinking") b.signature = d.signature;
            else if (d.type === "input_json_delta" && b?.type === "tool_use") b.raw_input += d.partial_json;
            break;
          }
          case "message_delta":
            stopReason = ev.delta.stop_reason;
            if (ev.usage) Object.assign(usage, pickUsage(ev.usage, usage));
            break;
        }
      }
    } catch (err) {
      throw toModelError(err, signal, stream?.request_id ?? null, Math.max(0, this.attempts - 1));
    }
    for (const b of blocks) {
      if (b?.type !== "tool_use") continue;
      try {
        b.input = b.raw_input.trim() === "" ? {} : JSON.parse(b.raw_input);
      } catch (err) {
        b.input_error = `the model sent malformed JSON for ${b.name}: ${(err as Error).message}`;
      }
    }
    return {
      content: blocks.filter(Boolean),
      stop_reason: stopReason,
      model,
      usage,
      request_id: stream?.request_id ?? null,
      latency_ms: Math.round(performance.now() - started),
      time_to_first_token_ms: firstTokenAt === null ? null : Math.round(firstTokenAt - started),
      retries: Math.max(0, this.attempts - 1),
    };
  }
}

function pickUsage(u: Partial<Record<string, unknown>> | null | undefined, prev?: Record<string, number>) {
  const n = (k: string) => (typeof u?.[k] === "number" ? (u[k] as number) : (prev?.[k] ?? 0));
  return {
    input_tokens: n("input_tokens"),
    output_tokens: n("output_tokens"),
    cache_read_input_tokens: n("cache_read_input_tokens"),
    cache_creation_input_tokens: n("cache_creation_input_tokens"),
  };
}

function toModelError(err: unknown, signal: AbortSignal, requestId: string | null, retries: number): ModelCallError {
  if (signal.aborted || err instanceof Anthropic.APIUserAbortError) {
    return new ModelCallError("cancelled", "The model call was cancelled", undefined, requestId, retries);
  }
  if (err instanceof Anthropic.APIConnectionError) {
    return new ModelCallError("connection", `Could not reach the Anthropic API: ${err.message}`, undefined, requestId, retries);
  }
  if (err instanceof Anthropic.APIError) {
    const status = err.status;
    const id = err.requestID ?? requestId;
    const detail = apiErrorMessage(err);
    if (status === 401) {
      return new ModelCallError(
        "authentication",
        `The Anthropic API rejected the API key (401${detail ? `: ${detail}` : ""}). Set a valid key: ANTHROPIC_API_KEY, or "Agent Audit: Set Anthropic API Key" in VS Code.`,
        status, id, retries,
      );
    }
    if (status === 403) return new ModelCallError("permission", `The API key may not use this model or feature (403${detail ? `: ${detail}` : ""})`, status, id, retries);
    if (status === 429) return new ModelCallError("rate_limited", `Rate limited by the Anthropic API after ${retries} retries (429${detail ? `: ${detail}` : ""}); try again later`, status, id, retries);
    if (status === 529) return new ModelCallError("overloaded", `The Anthropic API is overloaded (529) after ${retries} retries; try again later`, status, id, retries);
    if (status === 400) return new ModelCallError("invalid_request", `The Anthropic API refused the request (400${detail ? `: ${detail}` : ""})`, status, id, retries);
    return new ModelCallError("server", `The Anthropic API failed (${status ?? "no status"}${detail ? `: ${detail}` : ""}) after ${retries} retries`, status, id, retries);
  }
  return new ModelCallError("connection", `The model call failed: ${(err as Error)?.message ?? String(err)}`, undefined, requestId, retries);
}

function apiErrorMessage(err: InstanceType<typeof Anthropic.APIError>): string {
  const body = err.error as { error?: { message?: string } } | undefined;
  return body?.error?.message ?? "";
}


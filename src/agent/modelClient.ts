import type { InputSchema } from "./inputSchema";

/** A conversation message as the Messages API takes it. */
export interface ChatMessage {
  role: "user" | "assistant";
  content: string | ContentPart[];
}

export type ContentPart =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean };

export interface ModelRequest {
  model: string;
  max_tokens: number;
  system: string;
  messages: ChatMessage[];
  tools: { name: string; description: string; input_schema: InputSchema }[];
  /** Extended thinking budget in tokens; undefined = thinking off. */
  thinking_budget?: number;
}

/** A response block in the order the model produced it. */
export type ResponseBlock =
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "text"; text: string }
  /** `input` is undefined when `raw_input` is not valid JSON (`input_error` says why). */
  | { type: "tool_use"; id: string; name: string; input: unknown; raw_input: string; input_error?: string; raw_input_bytes?: number; raw_input_sha256?: string };

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

export interface ModelResponse {
  content: ResponseBlock[];
  stop_reason: string | null;
  model: string;
  usage: Usage;
  request_id: string | null;
  latency_ms: number;
  time_to_first_token_ms: number | null;
  /** Attempts the SDK retried (429, 529, 5xx, connection errors) before this answer. */
  retries: number;
}

export type ModelErrorKind =
  | "authentication" // 401: bad or missing key
  | "permission" // 403
  | "rate_limited" // 429 after retries
  | "overloaded" // 529 after retries
  | "invalid_request" // 400
  | "server" // 5xx after retries
  | "connection" // could not reach the API
  | "cancelled";

/** A model call that failed; `message` is fit to show a user. */
export class ModelCallError extends Error {
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    readonly status?: number,
    readonly request_id?: string | null,
    readonly retries = 0,
  ) {
    super(message);
    this.name = "ModelCallError";
  }
}

/** Progress while a response streams in (for a UI). */
export type StreamProgress = { kind: "first_token" } | { kind: "text"; chars: number } | { kind: "tool_input"; name: string };

/** Sends one request and returns the whole response, streaming under the hood. */
export interface ModelClient {
  createMessage(request: ModelRequest, signal: AbortSignal, onProgress?: (p: StreamProgress) => void): Promise<ModelResponse>;
}

/**
 * A scripted conversation for the local Anthropic Messages API. Each POST /v1/messages
 * takes the next turn; a turn is either a model response or an API error.
 */
export interface Scenario {
  /** Model id reported in responses (default: whatever the request asked for). */
  model?: string;
  turns: Turn[];
}

export type Turn = ResponseTurn | ErrorTurn;

export interface ResponseTurn {
  content: ScriptedBlock[];
  stop_reason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence";
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  /** Delay before the first event and between streamed chunks, to test cancellation. */
  delay_ms?: number;
  /** Size of text/thinking/JSON pieces in the stream (default 12 characters). */
  chunk_size?: number;
}

export interface ErrorTurn {
  error: { status: number; type: string; message: string; retry_after_seconds?: number };
}

export type ScriptedBlock =
  | { type: "thinking"; thinking: string; signature?: string }
  | { type: "text"; text: string }
  /** `raw_input` is sent verbatim as the tool's JSON, so malformed input can be scripted. */
  | { type: "tool_use"; name: string; input?: unknown; raw_input?: string; id?: string };

export function isErrorTurn(t: Turn): t is ErrorTurn {
  return "error" in t;
}

/** Event types the trail knows. Others may be added; the column is plain text. */
export const EVENT_TYPES = [
  "session_start",
  "llm_call",
  "tool_call",
  "approval",
  "tool_result",
  "tool_retry",
  "session_end",
  "session_timeout",
  "session_cancelled",
  "session_error",
  "replay_diverged",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Event types that end a session; exactly one is written per session. */
export const TERMINAL_EVENT_TYPES: readonly string[] = [
  "session_end",
  "session_timeout",
  "session_cancelled",
  "session_error",
  "replay_diverged",
];

/** What a writer hands to `append()`; the store fills in seq, time, ids and hashes. */
export interface EventInput {
  session_id: string;
  event_type: string;
  content: Record<string, unknown>;
  agent_id?: string;
  user_id?: string;
  step_number?: number;
  parent_event_id?: string | null;
  model_id?: string | null;
  system_prompt_hash?: string | null;
  agent_version?: string | null;
  /** Normally generated; a writer may fix it to link events before they are written. */
  event_id?: string;
  /** Normally now; fixed only by tests and importers. UTC ISO-8601 with milliseconds. */
  timestamp?: string;
  /**
   * Content stored once, keyed by SHA-256 of its body (system prompts, messages, tool
   * lists). Written in the same commit as the event, before it, so a reference never dangles.
   */
  blobs?: BlobInput[];
}

export interface BlobInput {
  kind: BlobKind;
  body: string;
}

export type BlobKind = "system_prompt" | "message" | "tools" | "conversation" | "otlp";

/** The hashed part of an event row, in the order the columns appear in the table. */
export interface EventRecord {
  seq: number;
  event_id: string;
  session_id: string;
  agent_id: string;
  user_id: string;
  timestamp: string;
  event_type: string;
  step_number: number;
  parent_event_id: string | null;
  model_id: string | null;
  system_prompt_hash: string | null;
  agent_version: string | null;
  /** Canonical JSON text (see canonicalJson.ts); hashed verbatim. */
  content: string;
}

export interface StoredEvent extends EventRecord {
  prev_hash: string;
  hash: string;
}

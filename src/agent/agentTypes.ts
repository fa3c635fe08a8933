import type { Database } from "sql.js";
import type { EventInput, StoredEvent } from "../trail/store/eventTypes";
import type { TrailEventRow } from "../trail/reading/trailQueries";
import type { ModelClient } from "./modelClient";
import type { SecretRedactor } from "./secretRedactor";
import type { ToolExecution } from "./toolExecution";
import type { FileChange, ToolDefinition } from "./tools/toolDefinition";
import type { ApprovalPolicy } from "./tools/toolSet";

// The agent's public vocabulary: what a caller (the CLI, the extension, a test) passes to a
// session, a retry or a replay, and what it gets back.

/** Where events go: a TrailStore, or anything with the same append. */
export interface TrailWriter {
  append(input: EventInput): Promise<StoredEvent>;
}

export interface ApprovalRequest {
  tool_name: string;
  input: Record<string, unknown>;
  /** Readable account of what will happen (a diff for edit_file, the command line for run_command). */
  summary: string;
  /** For file changes: the file's whole content before and after, for a diff view. */
  change?: FileChange;
  step: number;
  signal: AbortSignal;
}

export type ApprovalDecision =
  | { decision: "approved"; approver_id: string }
  | { decision: "rejected"; approver_id: string; reason?: string }
  | { decision: "edited"; approver_id: string; input: Record<string, unknown> };

/** Asks a human (or a rule standing in for one) whether a tool call may run. */
export type ApprovalHandler = (request: ApprovalRequest) => Promise<ApprovalDecision>;

export interface AgentConfig {
  model: string;
  maxIterations: number;
  maxTokens: number;
  /** Extended thinking budget (tokens); undefined/0 = off. */
  thinkingBudget?: number;
  systemPrompt: string;
  agentId: string;
  agentVersion: string;
  userId: string;
  /** Per-tool policy; tools not listed get the default for their kind. */
  policy: Record<string, ApprovalPolicy>;
  maxOutputBytes: number;
  /** Extra environment variable names run_command passes on (beyond its fixed allowlist). */
  commandEnv?: readonly string[];
}

/** What happened, for a UI; the trail has the full record. */
export type ProgressEvent =
  | { kind: "event"; event: StoredEvent }
  | { kind: "model_call"; step: number }
  | { kind: "tool_start"; step: number; tool_name: string }
  | { kind: "approval_wait"; step: number; tool_name: string };

export interface RunRequest {
  task: string;
  workspaceRoot: string;
  model: ModelClient;
  tools: Map<string, ToolDefinition>;
  approve: ApprovalHandler;
  trail: TrailWriter;
  signal: AbortSignal;
  config: AgentConfig;
  redactor?: SecretRedactor;
  onProgress?: (p: ProgressEvent) => void;
  /** Fixed only by tests and replays. */
  sessionId?: string;
  /** Extra fields for session_start (e.g. replay_of). */
  startExtras?: Record<string, unknown>;
  /** The tool inputs come from a recording (replay): redaction placeholders in them never run. */
  recordedInputs?: boolean;
  /** Extra fields for a tool_result (a replay marks divergence from the recording here). */
  annotateToolResult?: (step: number, use: { id: string; name: string }, x: ToolExecution, outputSha256: string | null) => Record<string, unknown> | undefined;
}

export type SessionStatus = "completed" | "timeout" | "cancelled" | "error" | "diverged";

/**
 * Thrown by a model client that cannot go on for reasons other than the API: a replay whose
 * recorded responses no longer fit. Ends the session with `replay_diverged`.
 */
export class ReplayDivergedError extends Error {
  constructor(
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ReplayDivergedError";
  }
}

export interface SessionOutcome {
  session_id: string;
  status: SessionStatus;
  final_text?: string;
  error?: { type: string; message: string };
  totals: Totals;
}

/** What a session spent and did, in its end event and its outcome. */
export interface Totals {
  steps: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  tool_calls: number;
  failed_tool_calls: number;
  duration_ms: number;
}


// ---- retry and replay ---------------------------------------------------------------------

/** A retry of one recorded tool call (retryToolCall.ts). */
export interface RetryRequest {
  /** The trail to look the original up in (an open store's database). */
  db: Database;
  /** The failed call's tool_call event id, or its tool_result's. */
  eventId: string;
  /** Run with this input instead of the original. */
  input?: Record<string, unknown>;
  workspaceRoot: string;
  tools: Map<string, ToolDefinition>;
  policy: Record<string, ApprovalPolicy>;
  approve: ApprovalHandler;
  trail: TrailWriter;
  signal: AbortSignal;
  maxOutputBytes: number;
  /** Extra environment variable names run_command passes on. */
  commandEnv?: readonly string[];
  identity: { agentId: string; agentVersion: string; userId: string };
  redactor?: SecretRedactor;
}

export interface RetryResult {
  event: StoredEvent;
  execution: ToolExecution;
  original: { call: TrailEventRow; result?: TrailEventRow };
}

/** A replay of one recorded session (replaySession.ts). */
export interface ReplayRequest {
  /** The trail holding the recorded session (an open store's database). */
  db: Database;
  sessionId: string;
  workspaceRoot: string;
  tools: Map<string, ToolDefinition>;
  approve: ApprovalHandler;
  trail: TrailWriter;
  signal: AbortSignal;
  /** Identity and limits for the new session; the model, task and prompt come from the recording. */
  config: Omit<AgentConfig, "model" | "systemPrompt" | "maxIterations" | "thinkingBudget" | "maxTokens">;
  redactor?: SecretRedactor;
  onProgress?: (p: ProgressEvent) => void;
}

export interface ReplayOutcome extends SessionOutcome {
  replayOf: string;
  /** Steps where a tool's outcome or output differs from the recording. */
  divergedSteps: number[];
}

/**
 * The one message protocol between the Step Details webview and the extension host,
 * imported by both sides. Trail content in these messages is untrusted data: the webview
 * renders every string as text, never as HTML.
 */

export interface SessionHeader {
  sessionId: string;
  task: string;
  status: "running" | "completed" | "timeout" | "cancelled" | "error" | "diverged";
  startedAt: string;
  endedAt: string | null;
  steps: number;
  inputTokens: number;
  outputTokens: number;
  toolCalls: number;
  failedToolCalls: number;
  model: string | null;
  /** Dollars, when every model call's model has a price (src/shared/pricing.ts); else tokens only. */
  costUsd: number | null;
  /** The sending agent, for a session received over OTLP (not recorded by Agent Audit's own agent). */
  receivedFrom: string | null;
  /** How it reached the trail: "over OpenTelemetry (OTLP)", "through its hooks and transcript". */
  receivedVia: string | null;
  /** How the session ended and the step that shows it (its message is in that step's detail). */
  endedIn: { type: string; step: number } | null;
}

export interface StepSummary {
  step: number;
  startedAt: string;
  /** From the first to the last event of the step. */
  durationMs: number;
  modelMs: number | null;
  inputTokens: number;
  outputTokens: number;
  tools: { name: string; outcome: "success" | "error" | "pending" }[];
  failedToolCalls: number;
  costUsd: number | null;
}

/** A model call, a tool run or a wait for approval, where it happened on the session's clock. */
export interface TimeSpan {
  step: number;
  kind: "model" | "tool" | "approval";
  label: string;
  /** Milliseconds from the session's start. */
  startMs: number;
  endMs: number;
  outcome?: "success" | "error" | "pending";
}

export interface ApprovalView {
  decision: string;
  approverId: string;
  askedAt: string;
  answeredAt: string;
  editedInput?: unknown;
  reason?: string;
}

export interface RetryView {
  eventId: string;
  time: string;
  outcome: "success" | "error";
  input: unknown;
  inputEdited: boolean;
  output?: string;
  error?: { type: string; message: string; detail: Record<string, unknown> };
  executionTimeMs: number | null;
  approval?: { decision: string; approverId: string };
}

export interface SimilarFailure {
  sessionId: string;
  step: number;
  time: string;
  task: string;
}

export interface ToolCallView {
  callEventId: string;
  resultEventId: string | null;
  toolName: string;
  input: unknown;
  /** Set when the model's JSON for the input could not be parsed. */
  rawInput?: string;
  requiresApproval: boolean;
  approval?: ApprovalView;
  outcome: "success" | "error" | "pending";
  output?: string;
  /** True when `output` here is a preview; "show all" asks the host for the rest. */
  outputPreview: boolean;
  /** True when the tool's output was already truncated for the model (size and hash kept). */
  truncatedInTrail: boolean;
  outputBytes?: number;
  outputSha256?: string;
  error?: { type: string; message: string; detail: Record<string, unknown> };
  executionTimeMs: number | null;
  retries: RetryView[];
  /** For failures: the same tool failing the same way in other sessions (a few, and how many). */
  similar?: { count: number; items: SimilarFailure[] };
}

export interface StepDetail {
  step: number;
  llm?: {
    eventId: string;
    thinking: string[];
    texts: string[];
    latencyMs: number | null;
    timeToFirstTokenMs: number | null;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    costUsd: number | null;
    /** Where the price came from (the dated table or the user's setting). */
    priceSource: string | null;
    requestId: string | null;
    retries: number;
    stopReason: string | null;
  };
  toolCalls: ToolCallView[];
  /** How the session ended, when it ended in this step. */
  end?: { type: string; message: string };
  /** What the model did next (the following step), in a line. */
  next?: { step: number; summary: string };
}

/** One block of a message sent to the model, as the Request section shows it. */
export interface RequestBlockView {
  kind: "text" | "thinking" | "tool_use" | "tool_result" | "other";
  /** Text, thinking, a tool call's input as JSON, or a tool result's content. */
  text: string;
  /**
   * Who wrote it: the user's own words, the model, or a tool (file contents, command output:
   * text from outside, where injected instructions come from).
   */
  source: "user" | "model" | "tool";
  /** Tool name (tool_use; tool_result: the tool whose output it is). */
  name?: string;
  id?: string;
  isError?: boolean;
}

export interface RequestMessageView {
  index: number;
  role: string;
  /** Sent for the first time in this call (not in the previous model call's request). */
  isNew: boolean;
  blocks: RequestBlockView[];
}

/** What the model was given in one call, rebuilt from the trail's blobs. */
export interface RequestView {
  eventId: string;
  model: string | null;
  maxTokens: number | null;
  systemPrompt?: { hash: string; text: string };
  tools?: { hash: string; names: string[]; json: string };
  messages: RequestMessageView[];
  /** Why part of it could not be rebuilt (a missing blob), if so. */
  error?: string;
}

export type HostToWebview =
  | { type: "session"; state: StepDetailsState; header: SessionHeader; steps: StepSummary[]; spans: TimeSpan[]; selectedStep: number }
  /** New or changed steps of the session on display (by step number), and its new header. */
  | { type: "steps"; header: SessionHeader; steps: StepSummary[]; spans: TimeSpan[] }
  | { type: "stepDetail"; detail: StepDetail }
  | { type: "fullOutput"; eventId: string; text: string }
  | { type: "request"; request: RequestView }
  /** Where a text occurs in the session on display: steps in order, with a count each. */
  | { type: "searchResults"; text: string; hits: { step: number; count: number }[] }
  | { type: "error"; message: string };

export type WebviewToHost =
  | { type: "ready" }
  | { type: "selectStep"; step: number }
  | { type: "showFullOutput"; eventId: string }
  /** The request a model call (by its llm_call event id) sent. */
  | { type: "loadRequest"; eventId: string }
  /** Find a text in every step of the session on display (Ctrl/Cmd+F). */
  | { type: "search"; text: string }
  | { type: "copyEvent"; eventId: string }
  /** Retry a tool call (by its tool_call event id), optionally editing the input first. */
  | { type: "retry"; eventId: string; edit: boolean }
  | { type: "reveal"; eventId: string }
  | { type: "openSession"; sessionId: string; step: number };

/** What the webview keeps across reloads (getState/setState) and the serializer restores. */
export interface StepDetailsState {
  folder: string;
  sessionId: string;
  step: number;
}

/** Characters of an output sent up front; the rest on "show all". */
export const OUTPUT_PREVIEW_CHARS = 4000;

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * A message from the webview, checked before the host acts on it: the right shape, ids of a
 * sane form and size, steps that are whole numbers. The webview renders untrusted trail
 * content; should anything there ever run script, all it could send is a valid message.
 * Returns undefined for anything else.
 */
export function parseWebviewMessage(m: unknown): WebviewToHost | undefined {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return undefined;
  const o = m as Record<string, unknown>;
  const id = (v: unknown): v is string => typeof v === "string" && ID.test(v);
  const step = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= 1_000_000;
  switch (o.type) {
    case "ready":
      return { type: "ready" };
    case "selectStep":
      return step(o.step) ? { type: "selectStep", step: o.step } : undefined;
    case "showFullOutput":
    case "loadRequest":
    case "copyEvent":
    case "reveal":
      return id(o.eventId) ? { type: o.type, eventId: o.eventId } : undefined;
    case "retry":
      return id(o.eventId) && typeof o.edit === "boolean" ? { type: "retry", eventId: o.eventId, edit: o.edit } : undefined;
    case "search":
      return typeof o.text === "string" && o.text.length <= 200 ? { type: "search", text: o.text } : undefined;
    case "openSession":
      return id(o.sessionId) && step(o.step) ? { type: "openSession", sessionId: o.sessionId, step: o.step } : undefined;
    default:
      return undefined;
  }
}

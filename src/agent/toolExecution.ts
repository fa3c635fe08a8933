import { createHash } from "node:crypto";
import { validateInput } from "./inputSchema";
import type { LimitedOutput } from "./outputLimit";
import { limitOutput } from "./outputLimit";
import { ToolError } from "./toolError";
import type { FileChange, ToolContext, ToolDefinition } from "./tools/toolDefinition";
import type { ApprovalPolicy } from "./tools/toolSet";

/** How one tool call went: what ran, whether it was approved, and its output or error. */
export interface ToolExecution {
  toolName: string;
  /** The input that ran (an approver's edit replaces the model's). */
  input: Record<string, unknown>;
  approvalStatus?: "approved" | "rejected" | "edited";
  result: { outcome: "success"; output: LimitedOutput } | { outcome: "error"; error: ToolError };
  executionTimeMs: number;
}

export interface ExecuteToolOptions {
  toolName: string;
  tool: ToolDefinition | undefined;
  input: Record<string, unknown>;
  /** Set when the model's JSON for the input did not parse. */
  inputError?: { message: string; raw: string };
  availableTools: string[];
  policy: ApprovalPolicy;
  ctx: ToolContext;
  /** Asks for approval (and records it); errors it throws (cancellation, trail failure) propagate. */
  ask: (tool: ToolDefinition, input: Record<string, unknown>) => Promise<{ decision: "approved" | "rejected" | "edited"; input?: Record<string, unknown>; reason?: string; approver_id: string }>;
  onStart?: () => void;
  /**
   * Set for inputs that come from the trail (retry, replay): the trail holds
   * `[REDACTED:rule]` where a secret was, and running that placeholder as if it were the value
   * (a password, a token in a command line) would be wrong. Such an input runs only once the
   * approver has replaced every placeholder with the real value.
   */
  recordedInput?: boolean;
}

/** The redaction markers a value holds (`[REDACTED:rule]`), in order of appearance. */
export function redactionMarkers(value: unknown): string[] {
  return JSON.stringify(value ?? null).match(/\[REDACTED:[a-z0-9-]+\]/g) ?? [];
}

/**
 * Validates, applies the approval policy and runs one tool call; shared by the agent loop
 * and by retries, so a retry is judged exactly like the original. Tool failures come back
 * as a ToolError result; only errors from `ask` (cancellation, an unwritable trail) throw.
 */
export async function executeTool(o: ExecuteToolOptions): Promise<ToolExecution> {
  let input = o.input;
  let approvalStatus: ToolExecution["approvalStatus"];
  const started = performance.now();
  const done = (result: ToolExecution["result"]): ToolExecution => ({
    toolName: o.toolName,
    input,
    approvalStatus,
    result,
    executionTimeMs: Math.round(performance.now() - started),
  });
  try {
    if (o.inputError) throw new ToolError("invalid_input", o.inputError.message, { raw_input: o.inputError.raw });
    const tool = o.tool;
    if (!tool) throw new ToolError("unknown_tool", `There is no tool named ${o.toolName}; available: ${o.availableTools.join(", ")}`);
    const problems = validateInput(tool.input_schema, input);
    if (problems.length) throw new ToolError("invalid_input", `Invalid input for ${o.toolName}: ${problems.join("; ")}`, { problems });
    if (o.policy === "deny") throw new ToolError("permission", `${o.toolName} is denied by the approval policy`, { policy: o.policy });
    // A recorded input with a redacted secret is always put to the approver, whatever the
    // policy: that is where the real value can be given (Edit…); as recorded it never runs.
    const askForSecret = o.recordedInput === true && redactionMarkers(input).length > 0;
    if (o.policy === "ask" || askForSecret) {
      const d = await o.ask(tool, input);
      approvalStatus = d.decision;
      if (d.decision === "rejected") {
        throw new ToolError("approval_rejected", `The user rejected this ${o.toolName} call${d.reason ? `: ${d.reason}` : ""}`, { approver_id: d.approver_id });
      }
      if (d.decision === "edited" && d.input) {
        const editProblems = validateInput(tool.input_schema, d.input);
        input = d.input;
        if (editProblems.length) throw new ToolError("invalid_input", `The edited input for ${o.toolName} is invalid: ${editProblems.join("; ")}`, { problems: editProblems });
      }
    }
    const markers = o.recordedInput ? redactionMarkers(input) : [];
    if (markers.length) {
      throw new ToolError(
        "invalid_input",
        `The recorded input of ${o.toolName} contains ${markers.join(", ")}: a secret was removed from the trail there, and the placeholder is not run as if it were the value. ` +
          "Retry with the input edited to hold the real value (VS Code: Retry with Input…; CLI: --input).",
        { redacted: markers },
      );
    }
    o.onStart?.();
    const raw = await tool.run(input, o.ctx);
    return done({ outcome: "success", output: typeof raw === "string" ? limitOutput(raw, o.ctx.maxOutputBytes) : raw });
  } catch (err) {
    if (err instanceof ToolError) return done({ outcome: "error", error: err });
    if (isControlError(err)) throw err;
    return done({ outcome: "error", error: new ToolError("internal", `${o.toolName} failed unexpectedly: ${(err as Error)?.message ?? String(err)}`) });
  }
}

/** Errors that stop the session rather than fail one tool call. */
const controlErrors = new WeakSet<object>();
export function markControlError<E extends object>(err: E): E {
  controlErrors.add(err);
  return err;
}
function isControlError(err: unknown): boolean {
  return typeof err === "object" && err !== null && controlErrors.has(err);
}

/** The fields a tool_result (or tool_retry) event records about an execution. */
export function executionContent(x: ToolExecution, maxOutputBytes: number, inputEdited: boolean): Record<string, unknown> {
  const base = {
    tool_name: x.toolName,
    input: inputEdited ? x.input : undefined,
    approval_status: x.approvalStatus,
    execution_time_ms: x.executionTimeMs,
  };
  if (x.result.outcome === "success") {
    const o = x.result.output;
    // output_sha256 is added once the content is redacted (withOutputDigest): a digest of the
    // unredacted output would give a short secret away to anyone hashing a few guesses.
    return { ...base, outcome: "success", output: o.text, output_truncated: o.truncated, output_bytes: o.original_bytes };
  }
  const e = x.result.error;
  return { ...base, outcome: "error", error: { type: e.type, message: e.message, detail: limitDetail(e.detail, maxOutputBytes) } };
}

/**
 * A recorded tool result with its `output_sha256`: the SHA-256 of `output` as the trail keeps
 * it, after redaction (docs/trail-format.md). Call on redacted content only.
 */
export function withOutputDigest<C extends Record<string, unknown>>(redacted: C): C & { output_sha256?: string } {
  return typeof redacted.output === "string" ? { ...redacted, output_sha256: outputDigest(redacted.output) } : redacted;
}

/** SHA-256 (hex) of a recorded output's UTF-8 text. */
export function outputDigest(recordedOutput: string): string {
  return createHash("sha256").update(recordedOutput, "utf8").digest("hex");
}

/** What the model is told: the output, or the error with (for commands) exit code and streams. */
export function toolResultForModel(x: ToolExecution): { content: string; is_error?: boolean } {
  if (x.result.outcome === "success") return { content: x.result.output.text };
  const e = x.result.error;
  let detail = "";
  if (e.type === "command_failed" || e.type === "timeout") {
    const d = e.detail as { exit_code?: number; stdout?: string; stderr?: string };
    detail = `\nexit code: ${d.exit_code ?? "none"}\n--- stdout ---\n${d.stdout ?? ""}\n--- stderr ---\n${d.stderr ?? ""}`;
  }
  return { content: `Error (${e.type}): ${e.message}${detail}`, is_error: true };
}

/** Keeps the strings in an error's detail within the output limit. */
function limitDetail(detail: Record<string, unknown>, max: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(detail)) out[k] = typeof v === "string" && Buffer.byteLength(v) > max ? limitOutput(v, max).text : v;
  return out;
}

/** A tool's preview of its file change; none when it cannot be computed (the run reports why). */
export function previewOf(tool: ToolDefinition, input: Record<string, unknown>, ctx: ToolContext): FileChange | undefined {
  try {
    return tool.preview?.(input, ctx);
  } catch {
    return undefined;
  }
}

/** The line an approval prompt starts with when the input holds redaction placeholders. */
export function redactedNote(input: unknown): string {
  const markers = redactionMarkers(input);
  return markers.length
    ? `⚠ This input holds ${[...new Set(markers)].join(", ")}: a secret redacted from the trail. Choose Edit… and put the real value in its place, or Reject; as recorded it will not run.\n`
    : "";
}

import { getBlob, sessionEvents } from "../trail/reading/trailQueries";
import type { TrailEventRow } from "../trail/reading/trailQueries";
import type { ReplayOutcome, ReplayRequest } from "./agentTypes";
import { ReplayDivergedError } from "./agentTypes";
import { runAgent } from "./agentRunner";
import { receivedFrom, receivedRefusal } from "./receivedSessions";
import type { ModelClient, ModelRequest, ModelResponse, ResponseBlock } from "./modelClient";
import type { ToolExecution } from "./toolExecution";

interface RecordedResult {
  outcome: string;
  errorType: string | null;
  outputSha: string | null;
}

/**
 * Replays a recorded session: a new session whose model answers are the recorded ones (no
 * API, no key) while the tools run for real in the current workspace, approvals as usual.
 * Each tool result is compared with the recording and marked `replay.diverged` when its
 * outcome or output differs. Once an outcome flips (failed then, succeeds now, or the other
 * way), the recorded answers were made for a different situation: the replay stops there
 * with `replay_diverged`, naming the step. A session received from another agent is refused.
 */
export async function replaySession(req: ReplayRequest): Promise<ReplayOutcome> {
  const sender = receivedFrom(req.db, req.sessionId);
  if (sender) throw new Error(receivedRefusal(sender, "session"));
  const events = sessionEvents(req.db, req.sessionId);
  const start = events.find((e) => e.event_type === "session_start");
  if (!start) throw new Error(`Session ${req.sessionId} has no session_start event; cannot replay it`);
  const s = JSON.parse(start.content);
  const systemPrompt = start.system_prompt_hash ? getBlob(req.db, start.system_prompt_hash) : undefined;
  if (systemPrompt === undefined) throw new Error(`The system prompt of session ${req.sessionId} is not in the trail; cannot replay it`);
  const responses = events.filter((e) => e.event_type === "llm_call");
  const recordedResults = new Map<string, RecordedResult>();
  const callsById = new Map(events.filter((e) => e.event_type === "tool_call").map((e) => [e.event_id, JSON.parse(e.content).tool_use_id as string]));
  for (const e of events.filter((x) => x.event_type === "tool_result")) {
    const c = JSON.parse(e.content);
    const useId = c.tool_use_id ?? callsById.get(e.parent_event_id ?? "");
    if (useId) recordedResults.set(useId, { outcome: c.outcome, errorType: c.error?.type ?? null, outputSha: c.output_sha256 ?? null });
  }
  const originalEnd = events.find((e) => ["session_end", "session_timeout", "session_cancelled", "session_error", "replay_diverged"].includes(e.event_type));

  const diverged = new Set<number>();
  let flipped: { step: number; tool: string; then: string; now: string } | undefined;
  const model = new RecordedModelClient(responses, () => {
    if (flipped) {
      throw new ReplayDivergedError(
        `Replay stopped before step ${flipped.step + 1}: in step ${flipped.step}, ${flipped.tool} ${flipped.then === "error" ? "failed" : "succeeded"} in the recording but ${flipped.now === "error" ? "fails" : "succeeds"} now, so the recorded next answer no longer fits`,
        { diverged_at_step: flipped.step, tool_name: flipped.tool, recorded_outcome: flipped.then, replay_outcome: flipped.now, diverged_steps: [...diverged] },
      );
    }
  }, originalEnd);

  const outcome = await runAgent({
    task: s.task,
    workspaceRoot: req.workspaceRoot,
    model,
    tools: req.tools,
    approve: req.approve,
    trail: req.trail,
    signal: req.signal,
    config: {
      ...req.config,
      model: start.model_id ?? s.model_id,
      systemPrompt,
      maxIterations: s.max_iterations ?? responses.length,
      maxTokens: s.max_tokens ?? 8192,
      thinkingBudget: s.thinking_budget ?? undefined,
      policy: req.config.policy,
    },
    redactor: req.redactor,
    onProgress: req.onProgress,
    startExtras: { replay_of: req.sessionId },
    recordedInputs: true,
    annotateToolResult: (step, use, x: ToolExecution, nowSha) => {
      const then = recordedResults.get(use.id);
      if (!then) return { replay: { diverged: true, recorded: null, note: "the recording has no result for this call" } };
      const nowOutcome = x.result.outcome;
      const nowError = x.result.outcome === "error" ? x.result.error.type : null;
      const outcomeDiffers = then.outcome !== nowOutcome || then.errorType !== nowError;
      const outputDiffers = nowOutcome === "success" && then.outputSha !== nowSha;
      if (outcomeDiffers || outputDiffers) diverged.add(step);
      if (outcomeDiffers && !flipped) flipped = { step, tool: use.name, then: then.outcome, now: nowOutcome };
      return {
        replay: {
          diverged: outcomeDiffers || outputDiffers,
          recorded_outcome: then.outcome,
          recorded_error_type: then.errorType,
          output_differs: outputDiffers,
        },
      };
    },
  });
  return { ...outcome, replayOf: req.sessionId, divergedSteps: [...diverged].sort((a, b) => a - b) };
}

/** Answers each model call with the next recorded response. */
class RecordedModelClient implements ModelClient {
  private next = 0;

  constructor(
    private readonly recorded: TrailEventRow[],
    private readonly beforeEach: () => void,
    private readonly originalEnd: TrailEventRow | undefined,
  ) {}

  async createMessage(_request: ModelRequest, signal: AbortSignal): Promise<ModelResponse> {
    if (signal.aborted) throw Object.assign(new Error("cancelled"), { name: "AbortError" });
    this.beforeEach();
    const e = this.recorded[this.next++];
    if (!e) {
      throw new ReplayDivergedError(
        `The recording has no answer for model call ${this.next}: the original session ended with ${this.originalEnd?.event_type ?? "no end event"} there`,
        { recording_exhausted: true },
      );
    }
    const c = JSON.parse(e.content);
    const content: ResponseBlock[] = (c.response?.content ?? []).map((b: Record<string, any>) =>
      b.type === "tool_use"
        ? { type: "tool_use", id: b.id, name: b.name, input: b.input ?? undefined, raw_input: b.raw_input ?? JSON.stringify(b.input ?? {}), input_error: b.input_error }
        : b,
    );
    return {
      content,
      stop_reason: c.response?.stop_reason ?? null,
      model: c.response?.model ?? e.model_id ?? "replay",
      usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      request_id: `replay-of:${c.request_id ?? e.event_id}`,
      latency_ms: 0,
      time_to_first_token_ms: null,
      retries: 0,
    };
  }
}

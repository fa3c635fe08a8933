import { randomUUID } from "node:crypto";
import { canonicalJson } from "../trail/integrity/canonicalJson";
import type { BlobInput, StoredEvent } from "../trail/store/eventTypes";
import { conversationLink } from "../trail/reading/conversation";
import { sha256Hex } from "../trail/integrity/hashChain";
import type { ApprovalDecision, RunRequest, SessionOutcome, SessionStatus, Totals } from "./agentTypes";
import { ReplayDivergedError } from "./agentTypes";
import { askApproval } from "./approvals";
import type { ChatMessage, ContentPart, ModelResponse, ResponseBlock, Usage } from "./modelClient";
import { ModelCallError } from "./modelClient";
import { executeTool, executionContent, markControlError, toolResultForModel, withOutputDigest } from "./toolExecution";
import type { ToolContext, ToolDefinition } from "./tools/toolDefinition";
import type { ApprovalPolicy } from "./tools/toolSet";
import { defaultPolicy } from "./tools/toolSet";
import { boundToolInputs } from "./toolInputBounds";

/** What was interrupted when a session is cancelled. */
type Activity =
  | { kind: "starting" }
  | { kind: "model_call"; step: number }
  | { kind: "approval"; step: number; tool_name: string; tool_call_event_id: string }
  | { kind: "tool_call"; step: number; tool_name: string; tool_call_event_id: string }
  | { kind: "between_steps"; step: number };

/**
 * Runs one agent session: the loop of model calls and tool calls, with every event in the
 * trail before the next thing happens (a tool_call is recorded before its tool runs).
 * Never throws for things that can go wrong in a session (API errors, cancellation,
 * failing tools); those end the session with the matching event. It throws only when the
 * trail itself cannot be written, since then nothing can be recorded.
 */
export async function runAgent(req: RunRequest): Promise<SessionOutcome> {
  return new AgentSession(req).run();
}

class AgentSession {
  private readonly sessionId: string;
  private readonly started = performance.now();
  private readonly totals: Totals = {
    steps: 0, input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0,
    tool_calls: 0, failed_tool_calls: 0, duration_ms: 0,
  };
  private readonly storedBlobs = new Set<string>();
  /** The conversation hash after the first `linkedMessages` messages (null before any). */
  private conversationHash: string | null = null;
  private linkedMessages = 0;
  private systemPromptHash = "";
  private toolsHash = "";
  private activity: Activity = { kind: "starting" };

  constructor(private readonly req: RunRequest) {
    this.sessionId = req.sessionId ?? randomUUID();
  }

  async run(): Promise<SessionOutcome> {
    const { req } = this;
    const { config } = req;
    const toolList = [...req.tools.values()].map((t) => ({ name: t.name, description: t.description, input_schema: t.input_schema }));
    const systemPrompt = await this.redact(config.systemPrompt);
    this.systemPromptHash = sha256Hex(systemPrompt);
    const toolsBody = canonicalJson(toolList);
    this.toolsHash = sha256Hex(toolsBody);
    const start = await this.record("session_start", 0, {
      task: req.task,
      workspace: req.workspaceRoot,
      tools: toolList,
      tools_hash: this.toolsHash,
      model_id: config.model,
      max_iterations: config.maxIterations,
      max_tokens: config.maxTokens,
      thinking_budget: config.thinkingBudget ?? null,
      approval_policy: Object.fromEntries(toolList.map((t) => [t.name, this.policyFor(t.name)])),
      max_output_bytes: config.maxOutputBytes,
      ...req.startExtras,
    }, {
      blobs: [
        { kind: "system_prompt", body: systemPrompt },
        { kind: "tools", body: toolsBody },
      ],
    });
    this.markStored(this.systemPromptHash, this.toolsHash);

    const messages: ChatMessage[] = [{ role: "user", content: req.task }];
    let lastEvent = start;
    try {
      for (let step = 1; step <= config.maxIterations; step++) {
        this.throwIfCancelled();
        this.totals.steps = step;
        this.activity = { kind: "model_call", step };
        req.onProgress?.({ kind: "model_call", step });
        const sent = await this.conversationRef(messages);
        let response: ModelResponse;
        try {
          response = await req.model.createMessage(
            {
              model: config.model,
              max_tokens: config.maxTokens,
              system: config.systemPrompt,
              messages,
              tools: toolList,
              thinking_budget: config.thinkingBudget || undefined,
            },
            req.signal,
          );
        } catch (err) {
          if (err instanceof ModelCallError && err.kind === "cancelled") throw new Cancelled();
          throw err;
        }
        response = await boundToolInputs(response, (text) => this.redact(text));
        this.addUsage(response.usage);
        const llm = await this.recordLlmCall(step, sent, response, lastEvent);
        lastEvent = llm;
        const assistant: ChatMessage = { role: "assistant", content: response.content.map(toRequestPart) };
        messages.push(assistant);
        const toolUses = response.content.filter((b): b is Extract<ResponseBlock, { type: "tool_use" }> => b.type === "tool_use");
        if (toolUses.length === 0 || response.stop_reason !== "tool_use") {
          const finalText = response.content.filter((b) => b.type === "text").map((b) => (b as { text: string }).text).join("\n");
          const end = await this.finish("session_end", step, { final_text: finalText, stop_reason: response.stop_reason }, llm);
          return { ...end, final_text: finalText };
        }
        const results: ContentPart[] = [];
        for (const use of toolUses) {
          results.push(await this.runTool(step, use, llm));
        }
        messages.push({ role: "user", content: results });
        this.activity = { kind: "between_steps", step };
      }
      return await this.finish("session_timeout", config.maxIterations, {
        reason: "max_iterations",
        max_iterations: config.maxIterations,
        message: `Stopped after ${config.maxIterations} model calls without a final answer (max iterations)`,
      }, lastEvent);
    } catch (err) {
      if (err instanceof Cancelled || req.signal.aborted) {
        return this.finish("session_cancelled", this.currentStep(), {
          interrupted: this.activity,
          message: `Cancelled by the user during ${describeActivity(this.activity)}`,
        }, lastEvent);
      }
      if (err instanceof ReplayDivergedError) {
        // The stop comes before the next model call is made, so it belongs to the last step
        // that ran: recorded under a new step number it would read as a step that never was.
        this.totals.steps = lastEvent.step_number;
        return this.finish("replay_diverged", lastEvent.step_number, { message: err.message, ...err.detail }, lastEvent);
      }
      if (err instanceof ModelCallError) {
        return this.finish("session_error", this.currentStep(), {
          error: { type: err.kind, message: err.message, status: err.status ?? null, request_id: err.request_id ?? null, retries: err.retries },
        }, lastEvent);
      }
      if (err instanceof TrailWriteFailed) {
        // What could not be recorded may be the event (content the redactor or the trail's
        // checks refuse), not the trail: the session still gets its end, saying why. Only
        // when that small event cannot be written either is the trail itself failing.
        const reason = `The ${err.eventType} event could not be recorded (${(err.cause as Error)?.message ?? String(err.cause)}); the session was stopped`;
        try {
          return await this.finish("session_error", this.currentStep(), { error: { type: "internal", message: reason } }, lastEvent);
        } catch {
          throw err.cause;
        }
      }
      return this.finish("session_error", this.currentStep(), {
        error: { type: "internal", message: `Internal error: ${(err as Error)?.message ?? String(err)}` },
      }, lastEvent);
    }
  }

  // ---- one tool call ---------------------------------------------------------------------

  private async runTool(step: number, use: Extract<ResponseBlock, { type: "tool_use" }>, llm: StoredEvent): Promise<ContentPart> {
    const { req } = this;
    const tool = req.tools.get(use.name);
    const policy = tool ? this.policyFor(use.name) : "auto";
    this.totals.tool_calls++;
    const call = await this.record("tool_call", step, {
      tool_name: use.name,
      tool_use_id: use.id,
      input: use.input_error ? null : use.input,
      raw_input: use.input_error ? use.raw_input : undefined,
      raw_input_bytes: use.raw_input_bytes,
      raw_input_sha256: use.raw_input_sha256,
      requires_approval: !!tool && policy === "ask",
      policy,
    }, { parent: llm });
    this.activity = { kind: "tool_call", step, tool_name: use.name, tool_call_event_id: call.event_id };
    const x = await executeTool({
      toolName: use.name,
      tool,
      input: (use.input ?? {}) as Record<string, unknown>,
      inputError: use.input_error ? { message: use.input_error, raw: use.raw_input } : undefined,
      availableTools: [...req.tools.keys()],
      policy,
      ctx: { root: req.workspaceRoot, signal: req.signal, maxOutputBytes: req.config.maxOutputBytes, commandEnv: req.config.commandEnv },
      recordedInput: req.recordedInputs,
      ask: async (t, input) => {
        const d = await this.askApproval(step, t, input, { root: req.workspaceRoot, signal: req.signal, maxOutputBytes: req.config.maxOutputBytes, commandEnv: req.config.commandEnv }, call);
        this.activity = { kind: "tool_call", step, tool_name: use.name, tool_call_event_id: call.event_id };
        return d;
      },
      onStart: () => req.onProgress?.({ kind: "tool_start", step, tool_name: use.name }),
    });
    if (x.result.outcome === "error") this.totals.failed_tool_calls++;
    // Redacted first, so the output's digest is taken of what the trail keeps (and a replay
    // compares digests taken the same way); the annotations are our own fields.
    const result = withOutputDigest(await this.redact({ ...executionContent(x, req.config.maxOutputBytes, x.approvalStatus === "edited"), tool_use_id: use.id }));
    const extra = req.annotateToolResult?.(step, use, x, result.output_sha256 ?? null);
    await this.record("tool_result", step, { ...result, ...extra }, { parent: call, redacted: true });
    if ((x.result.outcome === "error" && x.result.error.type === "cancelled") || req.signal.aborted) throw new Cancelled();
    return { type: "tool_result", tool_use_id: use.id, ...toolResultForModel(x) };
  }

  private async askApproval(step: number, tool: ToolDefinition, input: Record<string, unknown>, ctx: ToolContext, call: StoredEvent): Promise<ApprovalDecision> {
    const { req } = this;
    this.activity = { kind: "approval", step, tool_name: tool.name, tool_call_event_id: call.event_id };
    req.onProgress?.({ kind: "approval_wait", step, tool_name: tool.name });
    let asked: Awaited<ReturnType<typeof askApproval>>;
    try {
      asked = await askApproval(req.approve, { toolName: tool.name, tool, input, ctx, step, signal: req.signal });
    } catch (err) {
      if (req.signal.aborted) throw new Cancelled();
      throw err;
    }
    if (req.signal.aborted) throw new Cancelled();
    const d = asked.decision;
    await this.record("approval", step, { tool_name: tool.name, decision: d.decision, approval_status: d.decision, ...asked.record }, { parent: call });
    return d;
  }

  // ---- recording -------------------------------------------------------------------------

  private async recordLlmCall(step: number, sent: { hash: string | null; count: number; blobs: BlobInput[] }, r: ModelResponse, parent: StoredEvent): Promise<StoredEvent> {
    const text = r.content.filter((b) => b.type === "text").map((b) => (b as { text: string }).text).join("\n");
    return this.record("llm_call", step, {
      request: {
        model: this.req.config.model,
        max_tokens: this.req.config.maxTokens,
        thinking_budget: this.req.config.thinkingBudget || null,
        system_prompt_hash: this.systemPromptHash,
        tools_hash: this.toolsHash,
        conversation_hash: sent.hash,
        message_count: sent.count,
      },
      response: {
        model: r.model,
        content: r.content.map((b) =>
          b.type === "tool_use"
            ? { type: "tool_use", id: b.id, name: b.name, input: b.input_error ? null : b.input, raw_input: b.input_error ? b.raw_input : undefined, input_error: b.input_error, raw_input_bytes: b.raw_input_bytes, raw_input_sha256: b.raw_input_sha256 }
            : b,
        ),
        stop_reason: r.stop_reason,
      },
      output_text: text,
      tool_calls_requested: r.content.filter((b) => b.type === "tool_use").map((b) => ({ id: (b as { id: string }).id, name: (b as { name: string }).name })),
      usage: r.usage,
      latency_ms: r.latency_ms,
      time_to_first_token_ms: r.time_to_first_token_ms,
      request_id: r.request_id,
      retries: r.retries,
    }, { parent, blobs: sent.blobs });
  }

  /**
   * The conversation sent, as one hash (src/trail/reading/conversation.ts): the messages added since
   * the last call are linked onto the previous conversation hash, so the record stays the
   * same size however long the session runs. Returns the blobs not stored yet (each once).
   */
  private async conversationRef(messages: ChatMessage[]): Promise<{ hash: string | null; count: number; blobs: BlobInput[] }> {
    const blobs: BlobInput[] = [];
    for (; this.linkedMessages < messages.length; this.linkedMessages++) {
      const body = canonicalJson(await this.redact(messages[this.linkedMessages]));
      const hash = sha256Hex(body);
      if (!this.storedBlobs.has(hash)) blobs.push({ kind: "message", body });
      const link = conversationLink(this.conversationHash, hash);
      if (!this.storedBlobs.has(link.hash)) blobs.push({ kind: "conversation", body: link.body });
      this.conversationHash = link.hash;
    }
    return { hash: this.conversationHash, count: this.linkedMessages, blobs };
  }

  private markStored(...hashes: string[]): void {
    for (const h of hashes) this.storedBlobs.add(h);
  }

  private async finish(type: string, step: number, content: Record<string, unknown>, parent: StoredEvent): Promise<SessionOutcome> {
    this.totals.duration_ms = Math.round(performance.now() - this.started);
    await this.record(type, step, { ...content, totals: this.totals }, { parent });
    const status: SessionStatus =
      type === "session_end" ? "completed"
      : type === "session_timeout" ? "timeout"
      : type === "session_cancelled" ? "cancelled"
      : type === "replay_diverged" ? "diverged"
      : "error";
    const error = content.error as { type: string; message: string } | undefined;
    return {
      session_id: this.sessionId,
      status,
      totals: { ...this.totals },
      error: error ?? (status === "completed" ? undefined : { type: status, message: String(content.message ?? status) }),
    };
  }

  private async record(
    type: string,
    step: number,
    content: Record<string, unknown>,
    opts: { parent?: StoredEvent; blobs?: BlobInput[]; redacted?: boolean } = {},
  ): Promise<StoredEvent> {
    const { config } = this.req;
    let event: StoredEvent;
    try {
      const redacted = opts.redacted ? content : await this.redact(content);
      event = await this.req.trail.append({
        session_id: this.sessionId,
        agent_id: config.agentId,
        user_id: config.userId,
        agent_version: config.agentVersion,
        model_id: config.model,
        system_prompt_hash: this.systemPromptHash || null,
        event_type: type,
        step_number: step,
        parent_event_id: opts.parent?.event_id ?? null,
        content: redacted,
        blobs: opts.blobs,
      });
    } catch (err) {
      throw new TrailWriteFailed(err, type);
    }
    for (const b of opts.blobs ?? []) this.storedBlobs.add(sha256Hex(b.body));
    this.req.onProgress?.({ kind: "event", event });
    return event;
  }

  private redact<T>(value: T): Promise<T> {
    return this.req.redactor ? this.req.redactor.redact(value) : Promise.resolve(value);
  }

  private policyFor(name: string): ApprovalPolicy {
    const tool = this.req.tools.get(name);
    return this.req.config.policy[name] ?? (tool ? defaultPolicy(tool.kind) : "deny");
  }

  private addUsage(u: Usage): void {
    this.totals.input_tokens += u.input_tokens;
    this.totals.output_tokens += u.output_tokens;
    this.totals.cache_read_input_tokens += u.cache_read_input_tokens;
    this.totals.cache_creation_input_tokens += u.cache_creation_input_tokens;
  }

  private currentStep(): number {
    return "step" in this.activity ? this.activity.step : 0;
  }

  private throwIfCancelled(): void {
    if (this.req.signal.aborted) throw new Cancelled();
  }
}

class Cancelled extends Error {
  constructor() {
    super("cancelled");
    markControlError(this);
  }
}

/** The trail refused a write: the session cannot go on without its record. */
class TrailWriteFailed extends Error {
  constructor(
    readonly cause: unknown,
    readonly eventType: string,
  ) {
    super(`The audit trail could not be written: ${(cause as Error)?.message ?? String(cause)}`);
    markControlError(this);
  }
}

function toRequestPart(b: ResponseBlock): ContentPart {
  if (b.type === "tool_use") return { type: "tool_use", id: b.id, name: b.name, input: b.input ?? {} };
  return b;
}

function describeActivity(a: Activity): string {
  switch (a.kind) {
    case "model_call":
      return `the model call of step ${a.step}`;
    case "tool_call":
      return `${a.tool_name} in step ${a.step}`;
    case "approval":
      return `the approval of ${a.tool_name} in step ${a.step}`;
    case "between_steps":
      return `the pause after step ${a.step}`;
    default:
      return "start-up";
  }
}

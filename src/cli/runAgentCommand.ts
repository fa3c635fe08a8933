import { agentConfig, osUser } from "../agent/agentDefaults";
import { inputSummary } from "../shared/inputSummary";
import type { ApprovalHandler, ProgressEvent } from "../agent/agentTypes";
import { runAgent } from "../agent/agentRunner";
import { AnthropicModelClient } from "../agent/anthropicModelClient";
import { SecretRedactor } from "../agent/secretRedactor";
import { workspaceTools } from "../agent/tools/toolSet";
import type { ParsedArgs } from "./cliArgs";
import { UsageError, intFlag, stringFlag } from "./cliArgs";
import { terminalApproval } from "./terminalApproval";
import { isReplayedAnswer } from "./sessionText";
import { plural } from "../shared/plural";
import { firstLine, formatMs, formatTokens } from "./textFormat";
import { openTrailForWriting, trailPathFor, workspaceFrom } from "./trailLocation";

export const RUN_FLAGS = { values: ["workspace", "model", "max-iterations", "approve", "thinking-budget"], booleans: [] };

/** `agent-audit run "<task>"`: exit 0 when the session ends normally, 1 otherwise. */
export async function runAgentCommand(args: ParsedArgs): Promise<number> {
  const task = args.positionals[0];
  if (!task?.trim()) throw new UsageError('run needs a task: agent-audit run "<task>"');
  if (args.positionals.length > 1) throw new UsageError(`unexpected argument "${args.positionals[1]}" (quote the task)`);
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  const approveMode = approveModeFrom(args);
  const config = agentConfig({
    model: stringFlag(args, "model"),
    maxIterations: intFlag(args, "max-iterations", 1),
    thinkingBudget: intFlag(args, "thinking-budget", 1024),
  });
  const apiKey = process.env.ANTHROPIC_API_KEY;
  if (!apiKey) throw new UsageError("ANTHROPIC_API_KEY is not set: export your Anthropic API key first");

  const trailPath = trailPathFor(workspace);
  const store = await openTrailForWriting(workspace, { create: true });

  const { approve, close: closeApprovals } = approvalsFor(approveMode);

  const controller = new AbortController();
  const stopListening = cancelOnSigint(controller);

  process.stdout.write(`Agent on ${workspace}\nTask: ${firstLine(task, 200)}\nModel: ${config.model}, at most ${config.maxIterations} steps, approvals: ${approveMode}\n`);
  try {
    const outcome = await runAgent({
      task,
      workspaceRoot: workspace,
      model: new AnthropicModelClient({ apiKey }),
      tools: workspaceTools(),
      approve,
      trail: store,
      signal: controller.signal,
      config,
      redactor: new SecretRedactor(),
      onProgress: printProgress,
    });
    process.stdout.write(`\nSession ${outcome.session_id}: ${outcome.status}`);
    process.stdout.write(`  (${plural(outcome.totals.steps, "step")}, ${formatTokens(outcome.totals.input_tokens)} in / ${formatTokens(outcome.totals.output_tokens)} out tokens, ${plural(outcome.totals.failed_tool_calls, "failed tool call")}, ${formatMs(outcome.totals.duration_ms)})\n`);
    if (outcome.status === "completed") process.stdout.write(`\n${outcome.final_text ?? ""}\n`);
    else if (outcome.error) process.stdout.write(`${outcome.error.message}\n`);
    process.stdout.write(`\nTrail: ${trailPath}\n`);
    return outcome.status === "completed" ? 0 : 1;
  } finally {
    stopListening();
    closeApprovals();
    await store.close();
  }
}

/** --approve ask|all|none as an approval handler; `all` and `none` are recorded as such. */
export function approvalsFor(mode: string): { approve: ApprovalHandler; close(): void } {
  if (mode === "ask") return terminalApproval(`cli:${osUser()}`, process.stdin, process.stdout);
  if (mode === "all") return { approve: async () => ({ decision: "approved", approver_id: "auto:--approve=all" }), close: () => undefined };
  return {
    approve: async () => ({ decision: "rejected", approver_id: "auto:--approve=none", reason: "approvals are off (--approve none)" }),
    close: () => undefined,
  };
}

/** The --approve flag, defaulting to ask on a terminal and none otherwise. */
export function approveModeFrom(args: ParsedArgs): string {
  const mode = stringFlag(args, "approve") ?? (process.stdin.isTTY ? "ask" : "none");
  if (!["ask", "all", "none"].includes(mode)) throw new UsageError(`--approve must be ask, all or none, not "${mode}"`);
  return mode;
}

/** Ctrl-C aborts once (recorded as a cancellation); a second one quits at once. */
export function cancelOnSigint(controller: AbortController): () => void {
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write("\nCancelling… (Ctrl-C again to quit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  return () => process.off("SIGINT", onSigint);
}

export function printProgress(p: ProgressEvent): void {
  if (p.kind !== "event") return;
  const e = p.event;
  const c = JSON.parse(e.content);
  switch (e.event_type) {
    case "llm_call": {
      const calls = c.tool_calls_requested.length;
      process.stdout.write(
        `\nstep ${e.step_number}  ${isReplayedAnswer(c) ? "recorded answer (replay, no model call)" : `model ${formatMs(c.latency_ms)}  ${formatTokens(c.usage.input_tokens)} in / ${formatTokens(c.usage.output_tokens)} out tokens`}` +
          `${c.retries ? `  ${c.retries} retries` : ""}  ${calls ? `${calls} tool call${calls > 1 ? "s" : ""}` : "final answer"}\n`,
      );
      break;
    }
    case "tool_call":
      process.stdout.write(`  → ${c.tool_name} ${inputSummary(c.tool_name, c.input ?? c.raw_input)}\n`);
      break;
    case "approval":
      process.stdout.write(`    ${c.decision} by ${c.approver_id}\n`);
      break;
    case "tool_result": {
      const replay = c.replay?.diverged ? `  ≠ recording (${c.replay.recorded_error_type ?? c.replay.recorded_outcome}${c.replay.output_differs ? ", other output" : ""})` : "";
      if (c.outcome === "success") process.stdout.write(`    ✔ ok (${formatMs(c.execution_time_ms)})${replay}\n`);
      else process.stdout.write(`    ✖ ${c.error.type}: ${firstLine(c.error.message, 120)} (${formatMs(c.execution_time_ms)})${replay}\n`);
      break;
    }
  }
}

import { agentConfig } from "../agent/agentDefaults";
import type { AgentConfig, ApprovalHandler } from "../agent/agentTypes";
import type { TrailStore } from "../trail/store/trailStore";
import { inputSummary } from "../shared/inputSummary";
import { replaySession } from "../agent/replaySession";
import { recordedToolCall, retryAsAgent } from "../agent/retryToolCall";
import { SecretRedactor } from "../agent/secretRedactor";
import { workspaceTools } from "../agent/tools/toolSet";
import { sessionEvents } from "../trail/reading/trailQueries";
import { redactionMarkers } from "../agent/toolExecution";
import { diffSessions } from "../trail/reading/sessionDiff";
import { renderSessionDiff } from "../shared/diffText";
import type { ParsedArgs } from "./cliArgs";
import { UsageError, stringFlag } from "./cliArgs";
import { approvalsFor, approveModeFrom, cancelOnSigint, printProgress } from "./runAgentCommand";
import { TrailReader } from "../trail/reading/trailReader";
import { firstLine, formatMs, formatTokens } from "./textFormat";
import { openTrailForReading, openTrailForWriting, resolveSession, workspaceFrom } from "./trailLocation";

export const DEBUG_FLAGS = { values: ["workspace", "input", "approve"], booleans: ["json"] };

/** `agent-audit retry <event-id> [--input JSON]`: exit 0 when the retry succeeds, 1 when it still fails. */
export async function retryCommand(args: ParsedArgs): Promise<number> {
  const ref = args.positionals[0];
  if (!ref) throw new UsageError("retry needs the event id of a tool call, or a unique prefix of it (see: agent-audit failures)");
  let input: Record<string, unknown> | undefined;
  const raw = stringFlag(args, "input");
  if (raw !== undefined) {
    try {
      input = JSON.parse(raw);
    } catch (err) {
      throw new UsageError(`--input is not JSON: ${(err as Error).message}`);
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) throw new UsageError("--input must be a JSON object");
  }
  return withToolRun(args, async ({ workspace, store, approve, signal, cfg }) => {
    // The recorded call may be in a sealed segment: read it from the one that holds it.
    const reader = new TrailReader(store);
    let eventId: string;
    try {
      eventId = reader.resolveEventId(ref) ?? "";
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!eventId) throw new UsageError(`no event matches "${ref}"; the failed tool calls and their ids: agent-audit failures`);
    const { db, call } = recordedToolCall(store, eventId);
    if (!input) {
      const markers = call ? redactionMarkers(JSON.parse(call.content).input) : [];
      if (markers.length) {
        throw new UsageError(`the recorded input holds ${markers.join(", ")} (a secret redacted from the trail); give the real input with --input '<json>'`);
      }
    }
    const r = await retryAsAgent({ store, db, eventId, input, workspaceRoot: workspace, config: cfg, approve, signal }).catch((err: Error) => {
      throw new UsageError(err.message);
    });
    const c = JSON.parse(r.event.content);
    const before = r.original.result ? JSON.parse(r.original.result.content) : undefined;
    process.stdout.write(`Retried ${c.tool_name} ${inputSummary(c.tool_name, c.input)}${c.input_edited ? " (edited input)" : ""}\n`);
    process.stdout.write(`  original: ${before ? (before.outcome === "error" ? `✖ ${before.error.type}: ${firstLine(before.error.message, 100)}` : "✔ ok") : "no result recorded"}\n`);
    process.stdout.write(`  now:      ${c.outcome === "error" ? `✖ ${c.error.type}: ${firstLine(c.error.message, 100)}` : "✔ ok"} (${formatMs(c.execution_time_ms)})\n`);
    if (c.outcome === "success") process.stdout.write(`\n${firstLine(c.output, 400)}\n`);
    process.stdout.write(`Recorded as tool_retry ${r.event.event_id} (seq ${r.event.seq}), linked to ${r.original.call.event_id}\n`);
    return c.outcome === "success" ? 0 : 1;
  });
}

/** `agent-audit replay <session-id>`: exit 0 when the replay ends like a normal session. */
export async function replayCommand(args: ParsedArgs): Promise<number> {
  return withToolRun(args, async ({ workspace, store, approve, signal, cfg }) => {
    const reader = new TrailReader(store);
    const id = resolveSession(args, reader, "replay");
    process.stdout.write(`Replaying session ${id} in ${workspace}: the model's answers come from the recording; the tools run for real.\n`);
    const o = await replaySession({
      db: reader.sessionDatabase(id),
      sessionId: id,
      workspaceRoot: workspace,
      tools: workspaceTools(),
      approve,
      trail: store,
      signal,
      config: { agentId: cfg.agentId, agentVersion: cfg.agentVersion, userId: cfg.userId, policy: {}, maxOutputBytes: cfg.maxOutputBytes, commandEnv: cfg.commandEnv },
      redactor: new SecretRedactor(),
      onProgress: printProgress,
    }).catch((err: Error) => {
      throw new UsageError(err.message);
    });
    process.stdout.write(`\nReplay ${o.session_id}: ${o.status}`);
    process.stdout.write(o.divergedSteps.length ? `; differs from the recording in step${o.divergedSteps.length > 1 ? "s" : ""} ${o.divergedSteps.join(", ")}\n` : "; every tool did what it did in the recording\n");
    if (o.error) process.stdout.write(`${o.error.message}\n`);
    process.stdout.write(`Compare: agent-audit diff ${id.slice(0, 8)} ${o.session_id.slice(0, 8)}\n`);
    return o.status === "completed" ? 0 : 1;
  });
}

/**
 * What retry and replay share: the workspace, its trail open for writing, approvals per
 * --approve, Ctrl-C as cancellation, the default identity; all released afterwards.
 */
async function withToolRun<T>(
  args: ParsedArgs,
  body: (ctx: { workspace: string; store: TrailStore; approve: ApprovalHandler; signal: AbortSignal; cfg: AgentConfig }) => Promise<T>,
): Promise<T> {
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  const approvals = approvalsFor(approveModeFrom(args));
  const store = await openTrailForWriting(workspace);
  const controller = new AbortController();
  const stop = cancelOnSigint(controller);
  try {
    return await body({ workspace, store, approve: approvals.approve, signal: controller.signal, cfg: agentConfig({}) });
  } finally {
    stop();
    approvals.close();
    await store.close();
  }
}

/** `agent-audit diff <a> <b>`: the two sessions side by side, first divergence marked. */
export async function diffCommand(args: ParsedArgs): Promise<number> {
  if (args.positionals.length !== 2) throw new UsageError("diff needs two session ids: agent-audit diff <a> <b>");
  const { store } = await openTrailForReading(workspaceFrom(stringFlag(args, "workspace")));
  const reader = new TrailReader(store);
  const a = resolveSession({ ...args, positionals: [args.positionals[0]] }, reader, "diff");
  const b = resolveSession({ ...args, positionals: [args.positionals[1]] }, reader, "diff");
  const db = reader.sessionDatabase(a, b);
  const d = diffSessions(db, a, b);
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(d, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(renderSessionDiff(d) + "\n");
  const tokens = (id: string) => sessionEvents(db, id).reduce((n, e) => n + (e.input_tokens ?? 0) + (e.output_tokens ?? 0), 0);
  process.stdout.write(`Tokens: A ${formatTokens(tokens(a))}, B ${formatTokens(tokens(b))}\n`);
  return 0;
}

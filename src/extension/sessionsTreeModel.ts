import type { SessionSummary, TrailEventRow } from "../trail/trailQueries";
import { inputSummary } from "../shared/inputSummary";
import type { ParsedSession, ToolCallGroup } from "./sessionModel";
import { contentOf, FILE_TOOLS, parseSession } from "./sessionModel";
import { outcomeOf } from "./stepDetailsModel";

/** Where the tree reads from: one workspace folder's trail. */
export interface TrailSource {
  /** Stable key (the folder's URI). */
  readonly key: string;
  readonly label: string;
  sessions(): SessionSummary[];
  session(sessionId: string): SessionSummary | undefined;
  events(sessionId: string): TrailEventRow[];
}

export type TreeNode =
  | { kind: "folder"; folder: string }
  | { kind: "session"; folder: string; sessionId: string }
  | { kind: "step"; folder: string; sessionId: string; step: number }
  | { kind: "llm"; folder: string; sessionId: string; step: number; eventId: string }
  | { kind: "toolCall"; folder: string; sessionId: string; step: number; eventId: string }
  | { kind: "retry"; folder: string; sessionId: string; step: number; eventId: string; callEventId: string }
  | { kind: "end"; folder: string; sessionId: string; step: number; eventId: string };

export interface IconView {
  /** A codicon id, e.g. "pass" or "sync~spin". */
  id: string;
  /** A theme color id, e.g. "testing.iconPassed". */
  color?: string;
}

export interface TooltipView {
  heading: string;
  fields: [string, string][];
  code?: string;
}

/** Everything a TreeItem needs, computed without VS Code (so it is testable). */
export interface NodeView {
  id: string;
  label: string;
  description: string;
  icon: IconView;
  contextValue: string;
  collapsible: "none" | "collapsed" | "expanded";
  /** Red badge count (failed tool calls) on sessions. */
  failedCount?: number;
  opensDetails: boolean;
}

/**
 * The badge for a session's failed tool calls. VS Code accepts at most two characters (it
 * rejects "99+" and then shows nothing, so the worst sessions looked clean): 1–99 as the
 * number, more as "!"; the exact count is in the tooltip and the description.
 */
export function failedCountBadge(n: number): { badge: string; tooltip: string } | undefined {
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return { badge: n > 99 ? "!" : String(n), tooltip: `${n.toLocaleString("en-US")} failed tool call${n === 1 ? "" : "s"}` };
}

const STATUS_ICON: Record<string, IconView> = {
  running: { id: "sync~spin" },
  completed: { id: "pass", color: "testing.iconPassed" },
  error: { id: "error", color: "errorForeground" },
  timeout: { id: "watch", color: "editorWarning.foreground" },
  cancelled: { id: "circle-slash", color: "disabledForeground" },
  diverged: { id: "git-compare", color: "editorWarning.foreground" },
};

/**
 * The Sessions tree's data: sessions → steps → model call and tool calls, built lazily from
 * trail queries (a session's events are read only when it is expanded) and cached by the
 * session's last seq, so an update re-reads only sessions that changed.
 */
export class SessionsTreeModel {
  failedOnly = false;
  private readonly cache = new Map<string, { lastSeq: number; parsed: ParsedSession }>();

  constructor(
    private readonly sources: () => TrailSource[],
    private readonly now: () => number = Date.now,
    /** Seqs the last integrity check found broken, per folder (category by seq). */
    private readonly broken: (folder: string) => Map<number, string> = () => new Map(),
  ) {}

  /** The integrity finding for any of these events, if one was reported. */
  private brokenAmong(folder: string, events: (TrailEventRow | undefined)[]): string | undefined {
    const broken = this.broken(folder);
    if (!broken.size) return undefined;
    for (const e of events) if (e && broken.has(e.seq)) return broken.get(e.seq);
    return undefined;
  }

  private markBroken(view: NodeView, category: string | undefined): NodeView {
    if (!category) return view;
    return {
      ...view,
      description: `⚠ ${category} · ${view.description}`,
      icon: { id: "warning", color: "errorForeground" },
      contextValue: `${view.contextValue}+tampered`,
    };
  }

  roots(): TreeNode[] {
    const sources = this.sources();
    if (sources.length === 1) return this.sessionNodes(sources[0]);
    return sources.map((s) => ({ kind: "folder", folder: s.key }));
  }

  children(node: TreeNode): TreeNode[] {
    const base = { folder: node.folder };
    switch (node.kind) {
      case "folder": {
        const src = this.source(node.folder);
        return src ? this.sessionNodes(src) : [];
      }
      case "session": {
        const parsed = this.parsed(node.folder, node.sessionId);
        if (!parsed) return [];
        return parsed.steps
          .filter((st) => !this.failedOnly || st.toolCalls.some((g) => outcomeOf(g) === "error"))
          .map((st) => ({ ...base, kind: "step", sessionId: node.sessionId, step: st.step }));
      }
      case "step": {
        const st = this.parsed(node.folder, node.sessionId)?.steps.find((s) => s.step === node.step);
        if (!st) return [];
        const ids = { ...base, sessionId: node.sessionId, step: node.step };
        const out: TreeNode[] = [];
        if (st.llm && !this.failedOnly) out.push({ ...ids, kind: "llm", eventId: st.llm.event_id });
        for (const g of st.toolCalls) {
          if (this.failedOnly && outcomeOf(g) !== "error") continue;
          out.push({ ...ids, kind: "toolCall", eventId: g.call.event_id });
          for (const r of g.retries) out.push({ ...ids, kind: "retry", eventId: r.event_id, callEventId: g.call.event_id });
        }
        if (st.end && !this.failedOnly) out.push({ ...ids, kind: "end", eventId: st.end.event_id });
        return out;
      }
      default:
        return [];
    }
  }

  parent(node: TreeNode): TreeNode | undefined {
    switch (node.kind) {
      case "folder":
        return undefined;
      case "session":
        return this.sources().length > 1 ? { kind: "folder", folder: node.folder } : undefined;
      case "step":
        return { kind: "session", folder: node.folder, sessionId: node.sessionId };
      default:
        return { kind: "step", folder: node.folder, sessionId: node.sessionId, step: node.step };
    }
  }

  view(node: TreeNode): NodeView {
    switch (node.kind) {
      case "folder": {
        const src = this.source(node.folder);
        return { id: `folder:${node.folder}`, label: src?.label ?? node.folder, description: "", icon: { id: "root-folder" }, contextValue: "folder", collapsible: "expanded", opensDetails: false };
      }
      case "session": {
        const s = this.source(node.folder)?.session(node.sessionId);
        const inRange = s && [...this.broken(node.folder).keys()].some((seq) => seq >= s.first_seq && seq <= s.last_seq);
        const events = inRange ? this.parsed(node.folder, node.sessionId)?.steps.flatMap((st) => st.events) ?? [] : [];
        return this.markBroken(this.sessionView(node), this.brokenAmong(node.folder, events));
      }
      case "step":
        return this.markBroken(this.stepView(node), this.brokenAmong(node.folder, this.step(node)?.events ?? []));
      case "llm":
        return this.markBroken(this.llmView(node), this.brokenAmong(node.folder, [this.step(node)?.llm]));
      case "toolCall": {
        const g = this.group(node);
        return this.markBroken(this.toolCallView(node), this.brokenAmong(node.folder, [g?.call, g?.approval, g?.result]));
      }
      case "end":
        return this.markBroken(this.endView(node), this.brokenAmong(node.folder, [this.step(node)?.end]));
      case "retry": {
        const retry = this.group({ ...node, eventId: node.callEventId })?.retries.find((r) => r.event_id === node.eventId);
        return this.markBroken(this.retryView(node, retry), this.brokenAmong(node.folder, [retry]));
      }
    }
  }

  /** Details for a hover, computed only when VS Code asks (resolveTreeItem). */
  tooltip(node: TreeNode): TooltipView | undefined {
    if (node.kind === "session") {
      const s = this.source(node.folder)?.session(node.sessionId);
      if (!s) return undefined;
      return {
        heading: s.task?.split("\n")[0] ?? s.session_id,
        fields: [
          ["Session", s.session_id],
          ["Status", s.status],
          ["Started", s.started_at],
          ["Ended", s.ended_at ?? "—"],
          ["Steps", String(s.steps)],
          ["Tokens", `${s.input_tokens.toLocaleString("en-US")} in / ${s.output_tokens.toLocaleString("en-US")} out`],
          ["Tool calls", `${s.tool_calls} (${s.failed_tool_calls} failed)`],
          ["Model", s.model_id ?? "—"],
        ],
        code: s.task ?? undefined,
      };
    }
    const g = node.kind === "toolCall" ? this.group(node) : undefined;
    if (g) {
      const fields: [string, string][] = [["Outcome", outcomeOf(g)]];
      if (g.result?.execution_time_ms !== undefined && g.result?.execution_time_ms !== null) fields.push(["Duration", `${g.result.execution_time_ms} ms`]);
      if (g.approval) fields.push(["Approval", `${g.approval.approval_status} by ${g.approval.approver_id}`]);
      const r = g.result ? contentOf(g.result) : undefined;
      if (r?.error) fields.push(["Error", `${r.error.type}: ${r.error.message}`]);
      return { heading: g.call.tool_name ?? "tool call", fields, code: JSON.stringify(contentOf(g.call).input ?? contentOf(g.call).raw_input, null, 2) };
    }
    if (node.kind === "llm") {
      const st = this.step(node);
      if (!st?.llm) return undefined;
      const c = contentOf(st.llm);
      const text = (c.response?.content ?? []).map((b: { type: string; text?: string; thinking?: string }) =>
        b.type === "thinking" ? `(thinking) ${b.thinking}` : b.type === "text" ? b.text : `→ ${(b as { name?: string }).name}`,
      );
      return {
        heading: "Model call",
        fields: [["Latency", `${c.latency_ms} ms`], ["Request id", String(c.request_id ?? "—")], ["Stop reason", String(c.response?.stop_reason ?? "—")]],
        code: text.join("\n").slice(0, 2000),
      };
    }
    return undefined;
  }

  /** The event behind a node, for "Copy Event as JSON" and "Reveal File". */
  event(node: TreeNode): TrailEventRow | undefined {
    if (node.kind === "toolCall") return this.group(node)?.call;
    if (node.kind === "retry") return this.group({ ...node, eventId: node.callEventId })?.retries.find((r) => r.event_id === node.eventId);
    if (node.kind === "llm" || node.kind === "end") return this.step(node)?.events.find((e) => e.event_id === node.eventId);
    return undefined;
  }

  /** All events of a tool call (call, approval, result), for copying. */
  toolCallEvents(node: TreeNode): TrailEventRow[] {
    const g = node.kind === "toolCall" ? this.group(node) : undefined;
    return g ? [g.call, g.approval, g.result].filter((e): e is TrailEventRow => !!e) : [];
  }

  /** Forgets cached sessions so the next read sees new events. */
  invalidate(): void {
    this.cache.clear();
  }

  // ---- views -------------------------------------------------------------------------------

  private sessionNodes(src: TrailSource): TreeNode[] {
    return src
      .sessions()
      .filter((s) => !this.failedOnly || s.failed_tool_calls > 0)
      .map((s) => ({ kind: "session", folder: src.key, sessionId: s.session_id }));
  }

  private sessionView(node: Extract<TreeNode, { kind: "session" }>): NodeView {
    const s = this.source(node.folder)?.session(node.sessionId);
    const id = `session:${node.folder}:${node.sessionId}`;
    if (!s) return { id, label: node.sessionId, description: "(gone)", icon: { id: "question" }, contextValue: "session", collapsible: "none", opensDetails: false };
    const parts = [ago(s.started_at, this.now()), `${s.steps} step${s.steps === 1 ? "" : "s"}`, `${compact(s.input_tokens + s.output_tokens)} tok`];
    if (s.failed_tool_calls) parts.push(`${s.failed_tool_calls} failed`);
    const ctx = ["session", s.status, s.failed_tool_calls ? "hasFailures" : ""].filter(Boolean).join("+");
    return {
      id,
      label: firstLine(s.task, 60) || s.session_id.slice(0, 8),
      description: parts.join(" · "),
      icon: STATUS_ICON[s.status] ?? { id: "circle-outline" },
      contextValue: ctx,
      collapsible: s.status === "running" ? "expanded" : "collapsed",
      failedCount: s.failed_tool_calls || undefined,
      opensDetails: false,
    };
  }

  private stepView(node: Extract<TreeNode, { kind: "step" }>): NodeView {
    const st = this.step(node);
    const failed = st?.toolCalls.filter((g) => outcomeOf(g) === "error").length ?? 0;
    const pending = st ? st.toolCalls.some((g) => outcomeOf(g) === "pending") || !st.llm : false;
    const parts: string[] = [];
    if (st?.llm) parts.push(`model ${ms(st.llm.latency_ms)}`, `${compact(st.llm.input_tokens ?? 0)}→${compact(st.llm.output_tokens ?? 0)} tok`);
    if (st?.toolCalls.length) parts.push(st.toolCalls.map((g) => g.call.tool_name).join(", "));
    return {
      id: `step:${node.folder}:${node.sessionId}:${node.step}`,
      label: `Step ${node.step}`,
      description: parts.join(" · "),
      icon: failed ? { id: "error", color: "errorForeground" } : pending && !st?.end ? { id: "loading~spin" } : { id: "pass", color: "testing.iconPassed" },
      contextValue: ["step", failed ? "failed" : ""].filter(Boolean).join("+"),
      collapsible: "collapsed",
      failedCount: failed || undefined,
      opensDetails: true,
    };
  }

  private llmView(node: Extract<TreeNode, { kind: "llm" }>): NodeView {
    const llm = this.step(node)?.llm;
    const c = llm ? contentOf(llm) : {};
    const calls = (c.tool_calls_requested ?? []).length;
    return {
      id: `event:${node.eventId}`,
      label: "Model call",
      description: llm ? `${ms(llm.latency_ms)} · ${compact(llm.input_tokens ?? 0)} in / ${compact(llm.output_tokens ?? 0)} out · ${calls ? `${calls} tool call${calls > 1 ? "s" : ""}` : "answer"}` : "",
      icon: { id: "sparkle" },
      contextValue: "event+llm",
      collapsible: "none",
      opensDetails: true,
    };
  }

  private toolCallView(node: Extract<TreeNode, { kind: "toolCall" }>): NodeView {
    const g = this.group(node);
    const id = `event:${node.eventId}`;
    if (!g) return { id, label: "tool call", description: "", icon: { id: "question" }, contextValue: "event+toolCall", collapsible: "none", opensDetails: true };
    const outcome = outcomeOf(g);
    const c = contentOf(g.call);
    const parts = [inputSummary(g.call.tool_name, c.input ?? c.raw_input, 50)];
    const r = g.result ? contentOf(g.result) : undefined;
    if (r?.error) parts.push(r.error.type);
    if (g.result?.execution_time_ms !== null && g.result?.execution_time_ms !== undefined) parts.push(ms(g.result.execution_time_ms));
    if (g.approval) parts.push(`${g.approval.approval_status === "approved" ? "✓" : g.approval.approval_status === "edited" ? "✎" : "✗"} ${g.approval.approval_status}`);
    const ctx = ["event", "toolCall", outcome === "error" ? "failed" : outcome, FILE_TOOLS.has(g.call.tool_name ?? "") ? "fileTool" : "", g.approval ? String(g.approval.approval_status) : ""];
    return {
      id,
      label: g.call.tool_name ?? "tool call",
      description: parts.join(" · "),
      icon:
        outcome === "error" ? { id: "error", color: "errorForeground" }
        : outcome === "pending" ? { id: "loading~spin" }
        : { id: "pass", color: "testing.iconPassed" },
      contextValue: ctx.filter(Boolean).join("+"),
      collapsible: "none",
      opensDetails: true,
    };
  }

  private retryView(node: Extract<TreeNode, { kind: "retry" }>, retry: TrailEventRow | undefined): NodeView {
    const c = retry ? contentOf(retry) : {};
    const ok = c.outcome === "success";
    const parts = [ok ? "✔ ok" : `✖ ${c.error?.type ?? "error"}`];
    if (c.input_edited) parts.push(`edited: ${inputSummary(retry?.tool_name ?? null, c.input, 40)}`);
    if (retry?.execution_time_ms !== null && retry?.execution_time_ms !== undefined) parts.push(ms(retry.execution_time_ms));
    parts.push(retry ? retry.timestamp.replace("T", " ").slice(0, 19) : "");
    return {
      id: `event:${node.eventId}`,
      label: `↻ ${retry?.tool_name ?? "retry"} (retry)`,
      description: parts.filter(Boolean).join(" · "),
      icon: ok ? { id: "pass", color: "testing.iconPassed" } : { id: "error", color: "errorForeground" },
      contextValue: `event+retry+${ok ? "success" : "failed"}`,
      collapsible: "none",
      opensDetails: true,
    };
  }

  private endView(node: Extract<TreeNode, { kind: "end" }>): NodeView {
    const end = this.step(node)?.end;
    const c = end ? contentOf(end) : {};
    const labels: Record<string, [string, IconView]> = {
      session_end: ["Finished", { id: "check-all", color: "testing.iconPassed" }],
      session_timeout: ["Stopped: max iterations", STATUS_ICON.timeout],
      session_cancelled: ["Cancelled", STATUS_ICON.cancelled],
      session_error: ["Error", STATUS_ICON.error],
      replay_diverged: ["Replay diverged", STATUS_ICON.diverged],
    };
    const [label, icon] = labels[end?.event_type ?? ""] ?? ["Ended", { id: "circle-outline" }];
    return {
      id: `event:${node.eventId}`,
      label,
      description: firstLine(c.final_text ?? c.message ?? c.error?.message ?? "", 80),
      icon,
      contextValue: "event+end",
      collapsible: "none",
      opensDetails: true,
    };
  }

  // ---- data --------------------------------------------------------------------------------

  private source(key: string): TrailSource | undefined {
    return this.sources().find((s) => s.key === key);
  }

  /** The session's events, grouped; re-read only when the session has new events. */
  parsed(folder: string, sessionId: string): ParsedSession | undefined {
    const src = this.source(folder);
    const summary = src?.session(sessionId);
    if (!src || !summary) return undefined;
    const key = `${folder}\n${sessionId}`;
    const hit = this.cache.get(key);
    if (hit && hit.lastSeq === summary.last_seq) return hit.parsed;
    const parsed = parseSession(summary, src.events(sessionId));
    this.cache.set(key, { lastSeq: summary.last_seq, parsed });
    return parsed;
  }

  private step(node: { folder: string; sessionId: string; step: number }) {
    return this.parsed(node.folder, node.sessionId)?.steps.find((s) => s.step === node.step);
  }

  private group(node: { folder: string; sessionId: string; step: number; eventId: string }): ToolCallGroup | undefined {
    return this.step(node)?.toolCalls.find((g) => g.call.event_id === node.eventId);
  }
}

function firstLine(text: string | null | undefined, max: number): string {
  const line = (text ?? "").split("\n")[0].trim();
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}

function compact(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`;
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return iso.slice(0, 10);
}

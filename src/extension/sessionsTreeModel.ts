import type { EventHead, SessionSummary, TrailEventRow } from "../trail/reading/trailQueries";
import type { SessionFilter } from "./sessionFilter";
import { dayGroupOf, matchesFields } from "./sessionFilter";
import type { ParsedSession, ParsedStep, ToolCallGroup } from "./sessionModel";
import { indexOfStep, parseSession } from "./sessionModel";
import { outcomeOf } from "./stepDetailsModel";
import type { TrailChange, TrailSource } from "./trailSource";
import type { NodeView, TooltipView } from "./treeNodeViews";
import * as views from "./treeNodeViews";

export type { TrailSource } from "./trailSource";
export type { IconView, NodeView, TooltipView } from "./treeNodeViews";
export { failedCountBadge } from "./treeNodeViews";

export type TreeNode =
  | { kind: "folder"; folder: string }
  /** Sessions started on a day (Today, Yesterday, Earlier this week) or in a month. */
  | { kind: "dayGroup"; folder: string; key: string }
  | { kind: "session"; folder: string; sessionId: string }
  /** The `index`-th page of STEP_PAGE steps of a long session. */
  | { kind: "stepGroup"; folder: string; sessionId: string; index: number }
  | { kind: "step"; folder: string; sessionId: string; step: number }
  | { kind: "llm"; folder: string; sessionId: string; step: number; eventId: string }
  | { kind: "toolCall"; folder: string; sessionId: string; step: number; eventId: string }
  | { kind: "retry"; folder: string; sessionId: string; step: number; eventId: string; callEventId: string }
  | { kind: "end"; folder: string; sessionId: string; step: number; eventId: string };

/** Steps per page: a session longer than this shows "Steps 1–100", "Steps 101–200", … */
export const STEP_PAGE = 100;
/** Sessions whose structure is kept (event heads only; whole events are read per row). */
const PARSED_LIMIT = 20;

/** What an update means for the tree: the nodes to re-render, and the steps that changed. */
export interface TreeUpdate {
  /** `"all"` when the whole tree must be re-read. */
  refresh: TreeNode[] | "all";
  /** Per session (folder + "\n" + id): the steps with new events. */
  touched: Map<string, Set<number>>;
}

/**
 * The Sessions tree's data: sessions → steps (in pages for long sessions) → model call and
 * tool calls. A session's structure is read once, from event heads (no content), and
 * extended in place as events arrive; content is read per row, only for rows on screen.
 * Nodes are interned (one object per id), so an update can name exactly the rows to re-render.
 */
export class SessionsTreeModel {
  failedOnly = false;
  /** The Sessions view's filter (sessionFilter.ts); undefined shows every session. */
  filter: SessionFilter | undefined;
  private readonly cache = new Map<string, ParsedSession>();
  private readonly nodes = new Map<string, TreeNode>();
  private readonly firstCollapsible = new Map<string, NodeView["collapsible"]>();

  constructor(
    private readonly sources: () => TrailSource[],
    private readonly now: () => number = Date.now,
    /** Seqs the last integrity check found broken, per folder (category by seq). */
    private readonly broken: (folder: string) => Map<number, string> = () => new Map(),
  ) {}

  roots(): TreeNode[] {
    const sources = this.sources();
    if (sources.length === 1) return this.groupNodes(sources[0]);
    return sources.map((s) => this.intern({ kind: "folder", folder: s.key }));
  }

  children(node: TreeNode): TreeNode[] {
    switch (node.kind) {
      case "folder": {
        const src = this.source(node.folder);
        return src ? this.groupNodes(src) : [];
      }
      case "dayGroup": {
        const src = this.source(node.folder);
        return src ? this.shownSessions(src).filter((s) => dayGroupOf(s.started_at, this.now()).key === node.key).map((s) => this.intern({ kind: "session", folder: src.key, sessionId: s.session_id })) : [];
      }
      case "session": {
        const shown = this.shownSteps(node.folder, node.sessionId);
        if (shown.length <= STEP_PAGE) return shown.map((st) => this.stepNode(node, st.step));
        const pages = Math.ceil(shown.length / STEP_PAGE);
        return Array.from({ length: pages }, (_, index) => this.intern({ kind: "stepGroup", folder: node.folder, sessionId: node.sessionId, index }));
      }
      case "stepGroup":
        return this.page(node).map((st) => this.stepNode(node, st.step));
      case "step": {
        const st = this.step(node);
        if (!st) return [];
        const ids = { folder: node.folder, sessionId: node.sessionId, step: node.step };
        const out: TreeNode[] = [];
        if (st.llm && !this.failedOnly) out.push(this.intern({ ...ids, kind: "llm", eventId: st.llm.event_id }));
        for (const g of st.toolCalls) {
          if (this.failedOnly && outcomeOf(g) !== "error") continue;
          out.push(this.intern({ ...ids, kind: "toolCall", eventId: g.call.event_id }));
          for (const r of g.retries) out.push(this.intern({ ...ids, kind: "retry", eventId: r.event_id, callEventId: g.call.event_id }));
        }
        if (st.end && !this.failedOnly) out.push(this.intern({ ...ids, kind: "end", eventId: st.end.event_id }));
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
      case "dayGroup":
        return this.sources().length > 1 ? this.intern({ kind: "folder", folder: node.folder }) : undefined;
      case "session": {
        const s = this.source(node.folder)?.session(node.sessionId);
        return s ? this.intern({ kind: "dayGroup", folder: node.folder, key: dayGroupOf(s.started_at, this.now()).key }) : undefined;
      }
      case "stepGroup":
        return this.intern({ kind: "session", folder: node.folder, sessionId: node.sessionId });
      case "step": {
        const shown = this.shownSteps(node.folder, node.sessionId);
        const session = this.intern({ kind: "session", folder: node.folder, sessionId: node.sessionId });
        if (shown.length <= STEP_PAGE) return session;
        const index = Math.floor(Math.max(0, indexOfStep(shown, node.step)) / STEP_PAGE);
        return this.intern({ kind: "stepGroup", folder: node.folder, sessionId: node.sessionId, index });
      }
      default:
        return this.intern({ kind: "step", folder: node.folder, sessionId: node.sessionId, step: node.step });
    }
  }

  view(node: TreeNode): NodeView {
    switch (node.kind) {
      case "folder": {
        const src = this.source(node.folder);
        return { id: keyOf(node), label: src?.label ?? node.folder, description: "", icon: { id: "root-folder" }, contextValue: "folder", collapsible: "expanded", opensDetails: false };
      }
      case "dayGroup": {
        const src = this.source(node.folder);
        const sessions = src ? this.shownSessions(src).filter((s) => dayGroupOf(s.started_at, this.now()).key === node.key) : [];
        const label = sessions[0] ? dayGroupOf(sessions[0].started_at, this.now()).label : node.key;
        const failed = sessions.filter((s) => s.failed_tool_calls).length;
        return {
          // A filter shows its groups open; the id changes with it so VS Code does not keep them closed.
          id: `${keyOf(node)}${this.filter ? ":filtered" : ""}`,
          label,
          description: `${sessions.length} session${sessions.length === 1 ? "" : "s"}${failed ? ` · ${failed} with failures` : ""}`,
          icon: { id: "calendar" },
          contextValue: "dayGroup",
          collapsible: this.filter || node.key < "3" ? "expanded" : "collapsed",
          opensDetails: false,
        };
      }
      case "session": {
        const s = this.source(node.folder)?.session(node.sessionId);
        const broken = this.broken(node.folder);
        let category: string | undefined;
        if (s && broken.size) {
          for (const [seq, cat] of broken) {
            if (seq < s.first_seq || seq > s.last_seq) continue;
            if (this.parsed(node.folder, node.sessionId)?.steps.some((st) => st.events.some((e) => e.seq === seq))) category = cat;
            if (category) break;
          }
        }
        const view = views.sessionView(keyOf(node), s, this.now());
        // A running session opens by itself; when it ends it must not snap shut under the user
        // (VS Code applies a changed collapsible state when a row is refreshed): keep the first.
        const first = this.firstCollapsible.get(view.id) ?? view.collapsible;
        this.firstCollapsible.set(view.id, first);
        return this.markBroken({ ...view, collapsible: first }, category);
      }
      case "stepGroup": {
        const page = this.page(node);
        return this.markBroken(views.stepGroupView(keyOf(node), page), this.brokenAmong(node.folder, page.flatMap((st) => st.events)));
      }
      case "step": {
        const st = this.step(node);
        return this.markBroken(views.stepView(keyOf(node), node.step, st), this.brokenAmong(node.folder, st?.events ?? []));
      }
      case "llm": {
        const head = this.step(node)?.llm;
        return this.markBroken(views.llmView(keyOf(node), this.full(node.folder, head)), this.brokenAmong(node.folder, [head]));
      }
      case "toolCall": {
        const g = this.group(node);
        return this.markBroken(views.toolCallView(keyOf(node), g, this.full(node.folder, g?.call)), this.brokenAmong(node.folder, [g?.call, g?.approval, g?.result]));
      }
      case "end": {
        const head = this.step(node)?.end;
        return this.markBroken(views.endView(keyOf(node), this.full(node.folder, head)), this.brokenAmong(node.folder, [head]));
      }
      case "retry": {
        const head = this.group({ ...node, eventId: node.callEventId })?.retries.find((r) => r.event_id === node.eventId);
        return this.markBroken(views.retryView(keyOf(node), this.full(node.folder, head)), this.brokenAmong(node.folder, [head]));
      }
    }
  }

  /** Details for a hover, computed only when VS Code asks (resolveTreeItem). */
  tooltip(node: TreeNode): TooltipView | undefined {
    if (node.kind === "session") {
      const s = this.source(node.folder)?.session(node.sessionId);
      return s && views.sessionTooltip(s);
    }
    if (node.kind === "toolCall") {
      const g = this.group(node);
      const call = this.full(node.folder, g?.call);
      return g && call ? views.toolCallTooltip(g, call, this.full(node.folder, g.result)) : undefined;
    }
    if (node.kind === "llm") {
      const llm = this.full(node.folder, this.step(node)?.llm);
      return llm && views.llmTooltip(llm);
    }
    return undefined;
  }

  /** The event behind a node, for "Copy Event as JSON" and "Reveal File". */
  event(node: TreeNode): TrailEventRow | undefined {
    if (node.kind === "toolCall") return this.full(node.folder, this.group(node)?.call);
    if (node.kind === "retry") return this.full(node.folder, this.group({ ...node, eventId: node.callEventId })?.retries.find((r) => r.event_id === node.eventId));
    if (node.kind === "llm" || node.kind === "end") return this.full(node.folder, this.step(node)?.events.find((e) => e.event_id === node.eventId));
    return undefined;
  }

  /** All events of a tool call (call, approval, result), for copying. */
  toolCallEvents(node: TreeNode): TrailEventRow[] {
    const g = node.kind === "toolCall" ? this.group(node) : undefined;
    return g ? this.source(node.folder)?.events(views.groupSeqs(g)) ?? [] : [];
  }

  /** Whole events by seq (for a step's detail). */
  fullEvents(folder: string, seqs: number[]): Map<number, TrailEventRow> {
    const rows = this.source(folder)?.events(seqs) ?? [];
    return new Map(rows.map((r) => [r.seq, r]));
  }

  /** Forgets everything cached, so the next read sees the trail afresh (Refresh). */
  invalidate(): void {
    this.cache.clear();
    this.nodes.clear();
    this.firstCollapsible.clear();
  }

  /**
   * Takes in one trail update: sessions already read are extended with their new events
   * (nothing else is re-read), and the rows to re-render are named: a session that changed,
   * or the list itself when a session was added.
   */
  apply(change: TrailChange): TreeUpdate {
    const touched = new Map<string, Set<number>>();
    if (change.full) {
      for (const key of [...this.cache.keys()]) if (key.startsWith(`${change.folder}\n`)) this.cache.delete(key);
      return { refresh: "all", touched };
    }
    const refresh: TreeNode[] = [];
    for (const sessionId of [...change.added, ...change.updated]) {
      const key = `${change.folder}\n${sessionId}`;
      const cached = this.cache.get(key);
      if (cached) {
        const steps = this.catchUp(change.folder, sessionId, cached);
        if (steps.size) touched.set(key, steps);
      }
      const node = this.nodes.get(keyOf({ kind: "session", folder: change.folder, sessionId }));
      if (node) refresh.push(node);
    }
    if (change.added.length) {
      if (this.sources().length === 1) return { refresh: "all", touched };
      const folderNode = this.nodes.get(keyOf({ kind: "folder", folder: change.folder }));
      if (folderNode) refresh.push(folderNode);
    }
    return { refresh, touched };
  }

  // ---- data --------------------------------------------------------------------------------

  /** The session's structure: read once, then extended with new events only. */
  parsed(folder: string, sessionId: string): ParsedSession | undefined {
    const src = this.source(folder);
    const summary = src?.session(sessionId);
    if (!src || !summary) return undefined;
    const key = `${folder}\n${sessionId}`;
    let p = this.cache.get(key);
    if (p) {
      this.cache.delete(key); // most recently used last
      this.cache.set(key, p);
      if (p.lastSeq < summary.last_seq) this.catchUp(folder, sessionId, p);
      p.summary = summary;
      return p;
    }
    p = parseSession(summary, src.heads(sessionId));
    this.cache.set(key, p);
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= PARSED_LIMIT) break;
      this.cache.delete(oldest);
    }
    return p;
  }

  private catchUp(folder: string, sessionId: string, p: ParsedSession): Set<number> {
    const src = this.source(folder);
    if (!src) return new Set();
    const summary = src.session(sessionId);
    if (summary) p.summary = summary;
    return p.add(src.heads(sessionId, p.lastSeq));
  }

  private source(key: string): TrailSource | undefined {
    return this.sources().find((s) => s.key === key);
  }

  private full(folder: string, head: EventHead | undefined): TrailEventRow | undefined {
    return head ? this.source(folder)?.events([head.seq])[0] : undefined;
  }

  private shownSteps(folder: string, sessionId: string): ParsedStep[] {
    const steps = this.parsed(folder, sessionId)?.steps ?? [];
    return this.failedOnly ? steps.filter((st) => st.toolCalls.some((g) => outcomeOf(g) === "error")) : steps;
  }

  private page(node: Extract<TreeNode, { kind: "stepGroup" }>): ParsedStep[] {
    return this.shownSteps(node.folder, node.sessionId).slice(node.index * STEP_PAGE, (node.index + 1) * STEP_PAGE);
  }

  private step(node: { folder: string; sessionId: string; step: number }): ParsedStep | undefined {
    return this.parsed(node.folder, node.sessionId)?.step(node.step);
  }

  private group(node: { folder: string; sessionId: string; step: number; eventId: string }): ToolCallGroup | undefined {
    return this.step(node)?.toolCalls.find((g) => g.call.event_id === node.eventId);
  }

  /** Brings each trail's full-text index up to date (a filter is about to be typed). */
  prepareSearch(): void {
    for (const src of this.sources()) src.sessionsMatching("");
  }

  /** The sessions the view shows: the failed-only toggle and the filter applied, newest first. */
  shownSessions(src: TrailSource): SessionSummary[] {
    const f = this.filter;
    const byText = f?.text ? src.sessionsMatching(f.text) : undefined;
    return src.sessions().filter((s) => (!this.failedOnly || s.failed_tool_calls > 0) && (!f || (matchesFields(f, s) && (!byText || byText.has(s.session_id)))));
  }

  /** The day groups that have a shown session, newest first (sessions are listed newest first). */
  private groupNodes(src: TrailSource): TreeNode[] {
    const keys: string[] = [];
    for (const s of this.shownSessions(src)) {
      const key = dayGroupOf(s.started_at, this.now()).key;
      if (!keys.includes(key)) keys.push(key);
    }
    return keys.sort((a, b) => (a[0] !== b[0] ? a.localeCompare(b) : b.localeCompare(a))).map((key) => this.intern({ kind: "dayGroup", folder: src.key, key }));
  }

  private stepNode(parent: { folder: string; sessionId: string }, step: number): TreeNode {
    return this.intern({ kind: "step", folder: parent.folder, sessionId: parent.sessionId, step });
  }

  /** One object per node id: VS Code finds the rows to re-render by object identity. */
  intern<N extends TreeNode>(node: N): N {
    const key = keyOf(node);
    const known = this.nodes.get(key);
    if (known) return known as N;
    this.nodes.set(key, node);
    return node;
  }

  /** The integrity finding for any of these events, if one was reported. */
  private brokenAmong(folder: string, events: (EventHead | undefined)[]): string | undefined {
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
}

/** A node's id, also its TreeItem id. */
export function keyOf(node: TreeNode): string {
  switch (node.kind) {
    case "folder":
      return `folder:${node.folder}`;
    case "dayGroup":
      return `day:${node.folder}:${node.key}`;
    case "session":
      return `session:${node.folder}:${node.sessionId}`;
    case "stepGroup":
      return `steps:${node.folder}:${node.sessionId}:${node.index}`;
    case "step":
      return `step:${node.folder}:${node.sessionId}:${node.step}`;
    default:
      return `event:${node.eventId}`;
  }
}

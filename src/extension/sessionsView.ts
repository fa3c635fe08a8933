import * as vscode from "vscode";
import type { IntegrityFeature } from "./integrity";
import { brokenSeqs } from "./integrity";
import type { Logger } from "./logger";
import type { NodeView, TreeNode, TreeUpdate } from "./sessionsTreeModel";
import type { TrailChange } from "./trailSource";
import type { SessionFilter } from "./sessionFilter";
import { describeFilter, FILTER_HELP, parseFilter } from "./sessionFilter";
import { failedCountBadge, SessionsTreeModel } from "./sessionsTreeModel";
import type { StepNavigator } from "./stepNavigator";
import type { TrailServices } from "./trailServices";

export const SESSIONS_VIEW_ID = "agentAudit.sessions";
const DECORATION_SCHEME = "agent-audit-tree";

/** Maps the tree model to VS Code's TreeDataProvider; TreeItems are built only here. */
class SessionsTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private readonly changed = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    readonly model: SessionsTreeModel,
    private readonly services: TrailServices,
    /** Told after each read of the root: why trails could not be shown, and whether a filter left nothing. */
    private readonly onRootRead: (refused: string[], filteredEmpty: boolean) => void = () => undefined,
  ) {}

  /**
   * Set while a re-read of the whole tree is on its way. VS Code drops a root fetch that a
   * reveal's own fetch of the root overtakes (its fetch tokens), and the tree then never shows
   * the new sessions; so reveals wait until the root was read (or 2 s, if the view is hidden).
   */
  private rootPending: { done: Promise<void>; resolve: () => void } | undefined;

  refresh(): void {
    this.model.invalidate();
    this.fireRoot();
  }

  rerender(): void {
    this.fireRoot();
  }

  /** Resolves once no re-read of the root is pending. */
  async settled(): Promise<void> {
    if (this.rootPending) await Promise.race([this.rootPending.done, new Promise((r) => setTimeout(r, 2000))]);
  }

  private fireRoot(): void {
    if (!this.rootPending) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      this.rootPending = { done, resolve };
    }
    this.changed.fire(undefined);
  }

  /** Re-renders what a trail update changed, and only that. */
  apply(change: TrailChange): TreeUpdate {
    const update = this.model.apply(change);
    if (update.refresh === "all") this.fireRoot();
    else if (update.refresh.length) this.changed.fire(update.refresh);
    return update;
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) {
      // Only now, when the view is visible, are the trails opened and queried.
      await Promise.all(this.services.all().map((s) => s.load()));
      const roots = this.model.roots();
      this.onRootRead(this.services.all().flatMap((s) => (s.openError ? [`${s.folder.name}: ${s.openError.message}`] : [])), !!(this.model.filter || this.model.failedOnly) && roots.length === 0);
      void vscode.commands.executeCommand("setContext", "agentAudit.trailLoaded", true);
      const pending = this.rootPending;
      this.rootPending = undefined;
      // VS Code asks for the rows' items right after; let that finish before a reveal.
      if (pending) setTimeout(pending.resolve, 100);
      return roots;
    }
    return this.model.children(node);
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return this.model.parent(node);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    return toTreeItem(this.model.view(node), node);
  }

  resolveTreeItem(item: vscode.TreeItem, node: TreeNode): vscode.TreeItem {
    const tip = this.model.tooltip(node);
    if (!tip) return item;
    const md = new vscode.MarkdownString();
    // Trail content is untrusted: text and code blocks only, never raw markdown or HTML.
    md.appendMarkdown("**");
    md.appendText(tip.heading);
    md.appendMarkdown("**\n\n");
    for (const [k, v] of tip.fields) {
      md.appendText(`${k}: ${v}`);
      md.appendMarkdown("  \n");
    }
    if (tip.code) md.appendCodeblock(tip.code.slice(0, 3000), "json");
    item.tooltip = md;
    return item;
  }
}

function toTreeItem(v: NodeView, node: TreeNode): vscode.TreeItem {
  const state =
    v.collapsible === "none" ? vscode.TreeItemCollapsibleState.None
    : v.collapsible === "expanded" ? vscode.TreeItemCollapsibleState.Expanded
    : vscode.TreeItemCollapsibleState.Collapsed;
  const item = new vscode.TreeItem(v.label, state);
  item.id = v.id;
  item.description = v.description;
  item.iconPath = new vscode.ThemeIcon(v.icon.id, v.icon.color ? new vscode.ThemeColor(v.icon.color) : undefined);
  item.contextValue = v.contextValue;
  if (v.failedCount && node.kind === "session") {
    item.resourceUri = vscode.Uri.from({ scheme: DECORATION_SCHEME, path: `/${encodeURIComponent(v.id)}`, query: `failed=${v.failedCount}` });
  }
  if (v.opensDetails) item.command = { command: "agentAudit.openStepDetails", title: "Open Step Details", arguments: [node] };
  return item;
}

/**
 * The count of failed tool calls on a session row. No color: VS Code paints the whole label in
 * a decoration's color, and a completed session with one failed call must not read as failed.
 */
class FailedCountDecorations implements vscode.FileDecorationProvider {
  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== DECORATION_SCHEME) return undefined;
    const badge = failedCountBadge(Number(new URLSearchParams(uri.query).get("failed")));
    return badge && new vscode.FileDecoration(badge.badge, badge.tooltip);
  }
}

/** A trail update as the tree applied it: the change, and the steps it touched per session. */
export interface SessionsUpdate {
  change: TrailChange;
  touched: TreeUpdate["touched"];
}

export interface SessionsView extends vscode.Disposable {
  model: SessionsTreeModel;
  treeView: vscode.TreeView<TreeNode>;
  /** After the tree re-rendered what a trail update changed (Step Details follows it). */
  onDidUpdate: vscode.Event<SessionsUpdate>;
}

/**
 * The Sessions view with its filter toggle and refresh command. It follows the trails as they
 * change, marks the events the last integrity check found broken, and selects the step a
 * navigator is asked for.
 */
export function registerSessionsView(services: TrailServices, log: Logger, integrity: IntegrityFeature, navigator: StepNavigator): SessionsView {
  const model = new SessionsTreeModel(() => services.all().map((s) => s.source), Date.now, (folder) => brokenSeqs(integrity.result(folder)));
  // The view's message line: why a trail is not shown (a refused or damaged trail must not
  // read as "no sessions yet"), that a filter matched nothing (not the welcome text of an
  // empty trail), then the failed-only mode. A message also hides the welcome content.
  let refused: string[] = [];
  let filteredEmpty = false;
  const provider = new SessionsTreeProvider(model, services, (reasons, empty) => {
    if (reasons.join("\n") === refused.join("\n") && empty === filteredEmpty) return;
    refused = reasons;
    filteredEmpty = empty;
    showMessage();
  });
  const treeView = vscode.window.createTreeView(SESSIONS_VIEW_ID, { treeDataProvider: provider, showCollapseAll: true, canSelectMany: true });
  const showMessage = () => {
    const parts = [...refused];
    if (filteredEmpty && model.filter) parts.push(`No session matches the filter "${describeFilter(model.filter)}" (✕ in the title bar clears it)`);
    else if (filteredEmpty) parts.push("No failed tool calls (the filter button shows all events again)");
    else if (model.failedOnly) parts.push("Showing only failed tool calls");
    treeView.message = parts.length ? parts.join(" · ") : undefined;
  };
  const setFailedOnly = (on: boolean) => {
    model.failedOnly = on;
    showMessage();
    void vscode.commands.executeCommand("setContext", "agentAudit.failedOnly", on);
    provider.refresh();
  };
  // The filter: the view's description says what it is; the title bar's ✕ clears it.
  const setFilter = (f: SessionFilter | undefined) => {
    model.filter = f;
    treeView.description = f ? `Filter: ${describeFilter(f)}` : undefined;
    void vscode.commands.executeCommand("setContext", "agentAudit.sessionFilter", !!f);
    provider.rerender(); // what is cached stays: a filter only chooses among it
  };
  // One line, applied as it is typed (a moment after the last key); Escape restores the last one.
  const askFilter = () => {
    const box = vscode.window.createInputBox();
    const before = model.filter;
    box.title = "Filter Sessions";
    box.placeholder = FILTER_HELP;
    // VS Code adds "Press Enter to confirm or Escape to cancel" to the prompt itself.
    box.prompt = "The tree filters as you type";
    box.ignoreFocusOut = true;
    box.value = before?.line ?? "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    let accepted = false;
    box.onDidChangeValue((v) => {
      clearTimeout(timer);
      timer = setTimeout(() => setFilter(parseFilter(v)), 100);
    });
    box.onDidAccept(() => {
      clearTimeout(timer);
      accepted = true;
      setFilter(parseFilter(box.value));
      box.hide();
    });
    box.onDidHide(() => {
      clearTimeout(timer);
      if (!accepted) setFilter(before);
      box.dispose();
    });
    box.show();
    // Bring the full-text index up to date now, not on the first word typed.
    setTimeout(() => model.prepareSearch(), 0);
  };
  const updated = new vscode.EventEmitter<SessionsUpdate>();
  // An update names what changed; the tree re-renders only that (see TrailChange).
  const onTrailChange = (change: TrailChange) => updated.fire({ change, touched: provider.apply(change).touched });
  // The tree marks broken events: it is re-rendered only when those marks change. A re-render
  // for nothing (a trail that verified again) can undo an expansion the user just clicked.
  let marks = "";
  const onIntegrityChange = () => {
    const now = JSON.stringify(services.all().map((s) => [...brokenSeqs(integrity.result(s.source.key))]));
    if (now === marks) return;
    marks = now;
    provider.rerender();
  };
  let revealTicket = 0;
  const reveal = async (folder: string, sessionId: string, step?: number) => {
    const ticket = ++revealTicket;
    await new Promise((r) => setTimeout(r, 150));
    await provider.settled();
    // Arrow keys in Step Details move faster than a tree reveals: only the latest one counts.
    if (ticket !== revealTicket) return;
    const node: TreeNode = model.intern(step ? { kind: "step", folder, sessionId, step } : { kind: "session", folder, sessionId });
    try {
      await treeView.reveal(node, { select: true, focus: false, expand: step ? false : true });
    } catch (err) {
      log.warn(`could not reveal ${sessionId} in the tree: ${(err as Error).message}`);
    }
  };
  const registered = vscode.Disposable.from(
    treeView,
    vscode.window.registerFileDecorationProvider(new FailedCountDecorations()),
    vscode.commands.registerCommand("agentAudit.filterSessions", () => askFilter()),
    vscode.commands.registerCommand("agentAudit.clearSessionFilter", () => setFilter(undefined)),
    vscode.commands.registerCommand("agentAudit.showFailedOnly", () => setFailedOnly(true)),
    vscode.commands.registerCommand("agentAudit.showAll", () => setFailedOnly(false)),
    vscode.commands.registerCommand("agentAudit.refresh", () => {
      for (const s of services.all()) s.refresh();
      provider.refresh();
    }),
    updated,
    services.onDidChange(onTrailChange),
    services.onDidChangeFolders(() => provider.refresh()),
    integrity.onDidChange(onIntegrityChange),
    navigator.onDidRequestStep((r) => void (r.in !== "details" && reveal(r.at.folder, r.at.sessionId, r.at.step))),
  );
  log.info("sessions view registered");
  return { model, treeView, onDidUpdate: updated.event, dispose: () => registered.dispose() };
}

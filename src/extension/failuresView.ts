import * as vscode from "vscode";
import { failedToolCalls, queryAll } from "../trail/reading/trailQueries";
import type { FailureGroup, FailureItem } from "./failuresModel";
import { groupFailures } from "./failuresModel";
import type { StepNavigator } from "./stepNavigator";
import type { TrailServices } from "./trailServices";

export const FAILURES_VIEW_ID = "agentAudit.failures";

type Node =
  | { kind: "tool"; group: FailureGroup }
  | { kind: "type"; group: FailureGroup; errorType: string; items: FailureItem[] }
  | { kind: "failure"; item: FailureItem };

/** The Failed Tool Calls view: failures across sessions, by tool and error type, each linking to its step. */
class FailuresProvider implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly services: TrailServices) {}

  refresh(): void {
    this.changed.fire();
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) {
      const groups: FailureGroup[] = [];
      for (const s of this.services.all()) {
        const db = (await s.load())?.database;
        if (!db) continue;
        const ok = new Set(queryAll<{ parent_event_id: string }>(db, "SELECT parent_event_id FROM events WHERE event_type = 'tool_retry' AND outcome = 'success'").map((r) => r.parent_event_id));
        // Failures in sealed segments come from the catalog the active segment carries.
        groups.push(...groupFailures(s.source.key, s.source.reader?.failedToolCalls({ limit: 2000 }) ?? failedToolCalls(db, { limit: 2000 }), ok));
      }
      void vscode.commands.executeCommand("setContext", "agentAudit.hasFailures", groups.length > 0);
      return groups.map((group) => ({ kind: "tool", group }));
    }
    if (node.kind === "tool") return node.group.byType.map((t) => ({ kind: "type", group: node.group, errorType: t.errorType, items: t.items }));
    if (node.kind === "type") return node.items.map((item) => ({ kind: "failure", item }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === "tool") {
      const item = new vscode.TreeItem(node.group.toolName, vscode.TreeItemCollapsibleState.Expanded);
      item.description = `${node.group.count} failure${node.group.count > 1 ? "s" : ""}`;
      item.iconPath = new vscode.ThemeIcon("tools");
      item.id = `tool:${node.group.toolName}`;
      return item;
    }
    if (node.kind === "type") {
      const item = new vscode.TreeItem(node.errorType, vscode.TreeItemCollapsibleState.Collapsed);
      item.description = String(node.items.length);
      item.iconPath = new vscode.ThemeIcon("error", new vscode.ThemeColor("errorForeground"));
      item.id = `type:${node.group.toolName}:${node.errorType}`;
      return item;
    }
    const f = node.item;
    const item = new vscode.TreeItem(f.input || f.toolName);
    item.description = `${f.retriedOk ? "✓ fixed by a retry · " : ""}${f.time.replace("T", " ").slice(0, 16)} · step ${f.step} · ${f.message.split("\n")[0].slice(0, 80)}`;
    item.tooltip = `${f.toolName}: ${f.errorType}\n${f.message}\nsession ${f.sessionId}, step ${f.step}`;
    item.iconPath = new vscode.ThemeIcon(f.retriedOk ? "pass" : "error", new vscode.ThemeColor(f.retriedOk ? "testing.iconPassed" : "errorForeground"));
    item.id = `failure:${f.resultEventId}`;
    item.contextValue = "failure";
    item.command = { command: "agentAudit.openFailure", title: "Open Step", arguments: [f] };
    return item;
  }
}

/** The view, re-read when a trail update says failures may have changed; a failure opens its step. */
export function registerFailuresView(services: TrailServices, navigator: StepNavigator): vscode.Disposable {
  const provider = new FailuresProvider(services);
  return vscode.Disposable.from(
    vscode.window.createTreeView(FAILURES_VIEW_ID, { treeDataProvider: provider }),
    services.onDidChange((change) => change.failures && provider.refresh()),
    vscode.commands.registerCommand("agentAudit.openFailure", (f: FailureItem) => navigator.showStep({ folder: f.folder, sessionId: f.sessionId, step: f.step })),
    vscode.commands.registerCommand("agentAudit.retryFailure", (n?: Node) => {
      if (n?.kind === "failure") return vscode.commands.executeCommand("agentAudit.retryToolCall", { folder: n.item.folder, callEventId: n.item.callEventId });
      return undefined;
    }),
  );
}

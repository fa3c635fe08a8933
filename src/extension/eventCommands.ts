import * as vscode from "vscode";
import type { TreeNode } from "./sessionsTreeModel";
import type { SessionsView } from "./sessionsView";
import type { StepNavigator } from "./stepNavigator";

/** Commands on tree items: open details, copy an event as JSON. */
export function registerEventCommands(view: SessionsView, navigator: StepNavigator): vscode.Disposable {
  const model = view.model;
  return vscode.Disposable.from(
    vscode.commands.registerCommand("agentAudit.openStepDetails", (node?: TreeNode) => {
      node ??= view.treeView.selection[0];
      if (!node || node.kind === "folder" || node.kind === "dayGroup") return;
      const first = node.kind === "stepGroup" ? model.children(node)[0] : undefined;
      const step = node.kind === "session" ? 1 : node.kind === "stepGroup" ? (first?.kind === "step" ? first.step : 1) : node.step;
      navigator.showStep({ folder: node.folder, sessionId: node.sessionId, step }, "details");
    }),
    vscode.commands.registerCommand("agentAudit.copyEventJson", async (node?: TreeNode) => {
      node ??= view.treeView.selection[0];
      if (!node) return;
      const events = node.kind === "toolCall" ? model.toolCallEvents(node) : [model.event(node)].filter(Boolean);
      if (!events.length) return;
      const json = events.map((e) => ({ ...e!, content: JSON.parse(e!.content) }));
      await vscode.env.clipboard.writeText(JSON.stringify(json.length === 1 ? json[0] : json, null, 2));
      void vscode.window.setStatusBarMessage(`Copied ${json.length} event${json.length > 1 ? "s" : ""} as JSON`, 3000);
    }),
  );
}

import * as path from "node:path";
import * as vscode from "vscode";
import type { TreeNode } from "./sessionsTreeModel";
import type { SessionsView } from "./sessionsView";
import type { StepDetailsPanel } from "./stepDetailsPanel";
import type { TrailService } from "./trailService";

/** Commands on tree items: open details, copy an event as JSON, reveal a tool's file. */
export function registerEventCommands(view: SessionsView, panel: StepDetailsPanel, services: () => TrailService[]): vscode.Disposable {
  const model = view.model;
  const disposables = [
    vscode.commands.registerCommand("agentAudit.openStepDetails", (node?: TreeNode) => {
      node ??= view.treeView.selection[0];
      if (!node || node.kind === "folder") return;
      const step = node.kind === "session" ? 1 : node.step;
      panel.show(node.folder, node.sessionId, step);
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
    vscode.commands.registerCommand("agentAudit.revealFile", async (node?: TreeNode) => {
      node ??= view.treeView.selection[0];
      if (!node || node.kind !== "toolCall") return;
      const call = model.event(node);
      const service = services().find((s) => s.source.key === node!.folder);
      if (!call || !service) return;
      const input = JSON.parse(call.content).input ?? {};
      if (typeof input.path !== "string") return;
      const abs = path.resolve(service.folder.uri.fsPath, input.path);
      if (path.relative(service.folder.uri.fsPath, abs).startsWith("..")) {
        void vscode.window.showWarningMessage(`${input.path} is outside the workspace; not opening it.`);
        return;
      }
      const uri = vscode.Uri.file(abs);
      try {
        const stat = await vscode.workspace.fs.stat(uri);
        if (stat.type & vscode.FileType.Directory) {
          await vscode.commands.executeCommand("revealInExplorer", uri);
          return;
        }
        const start = Math.max(0, (input.start_line ?? 1) - 1);
        const end = Math.max(start, (input.end_line ?? input.start_line ?? 1) - 1);
        await vscode.window.showTextDocument(uri, { selection: new vscode.Range(start, 0, end, 0), preview: true });
      } catch {
        void vscode.window.showWarningMessage(`${input.path} does not exist any more.`);
      }
    }),
  ];
  return vscode.Disposable.from(...disposables);
}

// Runs inside desktop VS Code (npm run test:desktop), with demo/sample-project open.
import assert from "node:assert/strict";
import * as vscode from "vscode";

suite("Agent Audit Trail in desktop VS Code", () => {
  test("activates from its view and registers its commands", async () => {
    await vscode.commands.executeCommand("workbench.view.extension.agentAudit");
    const ext = vscode.extensions.getExtension("agent-audit.agent-audit-trail");
    assert.ok(ext, "extension is installed");
    await ext.activate();
    const commands = await vscode.commands.getCommands(true);
    for (const c of ["agentAudit.runAgent", "agentAudit.cancelSession", "agentAudit.setApiKey", "agentAudit.showFailedOnly", "agentAudit.openStepDetails"]) {
      assert.ok(commands.includes(c), `${c} is registered`);
    }
  });

  test("refreshing an empty workspace creates no trail", async () => {
    await vscode.commands.executeCommand("agentAudit.refresh");
    const folder = vscode.workspace.workspaceFolders![0].uri;
    await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, ".agent-audit", "trail.db"))));
  });
});

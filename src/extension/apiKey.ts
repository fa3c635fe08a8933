import * as vscode from "vscode";
import type { Logger } from "./logger";

const SECRET_KEY = "agentAudit.anthropicApiKey";
export const SET_API_KEY_COMMAND = "agentAudit.setApiKey";

/** The API key: SecretStorage first, then ANTHROPIC_API_KEY. Never settings, never the trail. */
export async function getApiKey(secrets: vscode.SecretStorage): Promise<string | undefined> {
  return (await secrets.get(SECRET_KEY)) || process.env.ANTHROPIC_API_KEY || undefined;
}

/** Tells the user the key is missing or was rejected, with a button that fixes it. */
export async function offerToSetApiKey(message: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, "Set API Key");
  if (choice) await vscode.commands.executeCommand(SET_API_KEY_COMMAND);
}

export function registerApiKeyCommand(secrets: vscode.SecretStorage, log: Logger): vscode.Disposable {
  return vscode.commands.registerCommand(SET_API_KEY_COMMAND, async () => {
    const key = await vscode.window.showInputBox({
      title: "Anthropic API Key",
      prompt: "Stored in VS Code's secret storage (the OS keychain), never in settings or the audit trail. Leave empty to remove it.",
      password: true,
      ignoreFocusOut: true,
      placeHolder: "sk-ant-…",
    });
    if (key === undefined) return;
    if (!key.trim()) {
      await secrets.delete(SECRET_KEY);
      log.info("API key removed from secret storage");
      void vscode.window.showInformationMessage("Anthropic API key removed.");
      return;
    }
    await secrets.store(SECRET_KEY, key.trim());
    log.info("API key stored in secret storage");
    void vscode.window.showInformationMessage("Anthropic API key saved.");
  });
}

import * as path from "node:path";
import { parse } from "jsonc-parser";
import { readSmallRegularFile } from "../trail/safeFiles";
import * as vscode from "vscode";
import type { Logger } from "./logger";
import type { AgentAuditSettings } from "./settings";
import { readSettings, SETTINGS, USER_ONLY_SETTINGS } from "./settings";

const warned = new Set<string>();

/**
 * The settings that apply to a folder, with what a workspace may not change taken from the
 * user's level. Each ignored workspace value is logged, and shown once per window, by name,
 * so that a repository's attempt to change them is seen rather than silently dropped.
 */
export function effectiveSettings(folder: vscode.Uri | undefined, log?: Logger): AgentAuditSettings {
  const s = readSettings(vscode.workspace.getConfiguration(SETTINGS.section, folder));
  // VS Code drops application-scoped values from a workspace before the extension sees them
  // (inspect() does not report them), so the workspace's files are read to name them.
  const found = [...new Set([...s.ignoredWorkspaceValues, ...userOnlyValuesInWorkspaceFiles()])];
  s.ignoredWorkspaceValues = found;
  const fresh = found.filter((v) => !warned.has(v));
  for (const v of fresh) {
    warned.add(v);
    log?.warn(`ignored a workspace setting: ${v}`);
  }
  if (fresh.length) {
    void vscode.window.showWarningMessage(
      `Agent Audit ignored ${fresh.length === 1 ? "a setting" : "settings"} from this workspace's settings: ${fresh.join("; ")}. ` +
        "Only your user settings may change what the agent is told and may spend (system prompt, model, iterations, thinking, tool output size), the API endpoint, the trail location, the command environment and approval prompts, or make approvals looser.",
    );
  }
  return s;
}

/** User-only settings that a workspace's settings files (folder or .code-workspace) try to set. */
function userOnlyValuesInWorkspaceFiles(): string[] {
  const objects: unknown[] = [];
  const read = (file: string) => {
    try {
      // Never a plain read: a repository may ship a FIFO, which would freeze the extension host.
      const text = readSmallRegularFile(file, 1024 * 1024)?.toString("utf8");
      return text === undefined ? undefined : (parse(text) as unknown);
    } catch {
      return undefined;
    }
  };
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    if (f.uri.scheme === "file") objects.push(read(path.join(f.uri.fsPath, ".vscode", "settings.json")));
  }
  const ws = vscode.workspace.workspaceFile;
  if (ws?.scheme === "file") objects.push((read(ws.fsPath) as { settings?: unknown } | undefined)?.settings);
  const out: string[] = [];
  for (const o of objects) {
    if (!o || typeof o !== "object") continue;
    for (const key of USER_ONLY_SETTINGS) {
      const name = `${SETTINGS.section}.${key}`;
      if (name in o) out.push(name);
    }
  }
  return out;
}


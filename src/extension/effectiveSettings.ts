import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "jsonc-parser";
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
      return parse(readSmallRegularFile(file)) as unknown;
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

/**
 * A settings file as text, read on the extension host's thread: only a regular file (a
 * repository may ship a FIFO, which a plain read would wait on forever, freezing the window),
 * not through a link, and at most 1 MiB.
 */
function readSmallRegularFile(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > 1024 * 1024) throw new Error(`${file} is not a settings file`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

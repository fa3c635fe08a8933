import * as path from "node:path";
import { parse } from "jsonc-parser";
import { readSmallRegularFile } from "../trail/store/safeFiles";
import * as vscode from "vscode";
import type { Pricing } from "../shared/pricing";
import { pricing } from "../shared/pricing";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import type { AgentAuditSettings, SettingKey } from "./settingDefinitions";
import { readSettings, SETTINGS, USER_ONLY_SETTINGS } from "./settingDefinitions";

const warned = new Set<string>();

/** The user's settings, read afresh (what a workspace may not set is taken from the user's level). */
export function userSettings(): AgentAuditSettings {
  return readSettings(vscode.workspace.getConfiguration(SETTINGS.section));
}

/** Calls `listener` when the setting `key` (or one below it, for a prefix such as `otlp.receiver`) changes. */
export function onSettingChange(key: SettingKey, listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(`${SETTINGS.section}.${key}`)) listener();
  });
}

/**
 * The settings the whole window shares, kept current: where each folder's trail is, what
 * model calls cost, how long sealed segments are kept.
 */
export class WindowSettings extends Disposable {
  // Read once and on change: trailPath is asked for often, and reading it reads the workspace's
  // settings files (to name an ignored workspace value).
  private trail: string;
  private priceTable: Pricing;

  constructor(private readonly log: Logger) {
    super();
    // The trail's place is a user setting only: a workspace must not move it out of the folder
    // the file tools guard (effectiveSettings ignores and reports a workspace value).
    this.trail = effectiveSettings(undefined, log).trailPath;
    this.priceTable = pricing(userSettings().modelPrices);
    this.register(onSettingChange(SETTINGS.trailPath, () => (this.trail = effectiveSettings(undefined, this.log).trailPath)));
    this.register(onSettingChange(SETTINGS.modelPrices, () => (this.priceTable = pricing(userSettings().modelPrices))));
  }

  /** The trail's path relative to its workspace folder. */
  get trailPath(): string {
    return this.trail;
  }

  /** Model prices: the dated table and the user's overrides. */
  get prices(): Pricing {
    return this.priceTable;
  }

  /** A user setting only (application scope): a repository's settings must not delete its own history. */
  get retentionDays(): number {
    return userSettings().retentionDays;
  }
}

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


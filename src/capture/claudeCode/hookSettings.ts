import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Claude Code's hook configuration (settings.json `hooks`): what `agent-audit connect
 * claude-code` adds, and takes away again with `--remove`. A settings file is the user's: it is
 * merged into, never rewritten from scratch, and a hook we did not write is never touched. Ours
 * are recognised by the marker at the end of their command.
 */
export const HOOK_MARKER = "# agent-audit-trail claude-code hook";

/** The events recorded, and whether their hook takes a tool matcher. */
export const HOOK_EVENTS: readonly { event: string; tools: boolean }[] = [
  { event: "SessionStart", tools: false },
  { event: "UserPromptSubmit", tools: false },
  { event: "PreToolUse", tools: true },
  { event: "PostToolUse", tools: true },
  { event: "PostToolUseFailure", tools: true },
  { event: "SubagentStart", tools: false },
  { event: "SubagentStop", tools: false },
  { event: "PreCompact", tools: false },
  { event: "Notification", tools: false },
  { event: "Stop", tools: false },
  { event: "SessionEnd", tools: false },
];

export type ConnectScope = { kind: "workspace"; dir: string } | { kind: "user"; home: string };

/** The settings file a scope's hooks go in: the workspace's local one (git-ignored by Claude Code's own setup, not shared) or the user's. */
export function settingsFileFor(scope: ConnectScope): string {
  return scope.kind === "workspace" ? path.join(scope.dir, ".claude", "settings.local.json") : path.join(claudeConfigDir(scope.home), "settings.json");
}

/** Claude Code's own folder (CLAUDE_CONFIG_DIR, else ~/.claude). */
export function claudeConfigDir(home = os.homedir()): string {
  return process.env.CLAUDE_CONFIG_DIR ? path.resolve(process.env.CLAUDE_CONFIG_DIR) : path.join(home, ".claude");
}

export class SettingsError extends Error {}

type HookEntry = { type?: unknown; command?: unknown; [k: string]: unknown };
type MatcherGroup = { matcher?: unknown; hooks?: unknown; [k: string]: unknown };
type Settings = { hooks?: Record<string, unknown>; [k: string]: unknown };

const MAX_SETTINGS_BYTES = 4 * 1024 * 1024;

function readSettings(file: string): Settings {
  let text: string;
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile()) throw new SettingsError(`${file} is not a regular file (a link or a folder?); fix it by hand, then connect again`);
    if (st.size > MAX_SETTINGS_BYTES) throw new SettingsError(`${file} is larger than 4 MB; it is left as it is`);
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`${file} is not valid JSON (${(err as Error).message}); it is left as it is: fix it, then connect again`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new SettingsError(`${file} does not hold a JSON object; it is left as it is`);
  const s = parsed as Settings;
  if (s.hooks !== undefined && (!s.hooks || typeof s.hooks !== "object" || Array.isArray(s.hooks))) throw new SettingsError(`${file}: "hooks" is not an object; it is left as it is`);
  return s;
}

/** Writes the settings whole, atomically (a crash leaves the old file or the new one), keeping the file's mode. */
function writeSettings(file: string, s: Settings): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let mode = 0o600;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    /* a new file */
  }
  const tmp = `${file}.agent-audit-${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + "\n", { mode, flag: "wx" });
  fs.renameSync(tmp, file);
}

const ours = (h: unknown) => !!h && typeof h === "object" && typeof (h as HookEntry).command === "string" && ((h as HookEntry).command as string).includes(HOOK_MARKER);

/** The settings with every hook of ours taken out (a group left empty by that goes too); the user's own hooks stay as they are. */
function withoutOurs(s: Settings): Settings {
  if (!s.hooks) return s;
  const hooks: Record<string, unknown> = {};
  for (const [event, groups] of Object.entries(s.hooks)) {
    if (!Array.isArray(groups)) {
      hooks[event] = groups;
      continue;
    }
    const kept = groups
      .map((g: MatcherGroup) => {
        if (!g || typeof g !== "object" || !Array.isArray(g.hooks) || !g.hooks.some(ours)) return g;
        const rest = g.hooks.filter((h) => !ours(h));
        return rest.length ? { ...g, hooks: rest } : undefined;
      })
      .filter((g) => g !== undefined);
    if (kept.length) hooks[event] = kept;
  }
  const out: Settings = { ...s, hooks };
  if (!Object.keys(hooks).length) delete out.hooks;
  return out;
}

/**
 * Adds our hooks (one command per event, `command(event)`) to the settings file, replacing any
 * of ours already there (a re-connect updates the paths) and keeping everything else.
 */
export function connectHooks(file: string, command: (event: string) => string): void {
  const s = withoutOurs(readSettings(file));
  const hooks: Record<string, unknown> = { ...(s.hooks ?? {}) };
  for (const { event, tools } of HOOK_EVENTS) {
    const existing = Array.isArray(hooks[event]) ? (hooks[event] as unknown[]) : hooks[event] === undefined ? [] : undefined;
    if (!existing) throw new SettingsError(`${file}: hooks.${event} is not a list; it is left as it is: fix it, then connect again`);
    // Recording never waits long: a hook that cannot finish in time is cut off and the agent goes on.
    const entry = { type: "command", command: command(event), timeout: 10 };
    hooks[event] = [...existing, tools ? { matcher: "*", hooks: [entry] } : { hooks: [entry] }];
  }
  writeSettings(file, { ...s, hooks });
}

/** Takes our hooks out of the settings file; says whether there were any. */
export function removeHooks(file: string): boolean {
  const before = readSettings(file);
  if (!hookedEvents(before).length) return false;
  writeSettings(file, withoutOurs(before));
  return true;
}

/** The events a settings file has one of our hooks for (none when the file is absent). */
export function connectedEvents(file: string): string[] {
  return hookedEvents(readSettings(file));
}

function hookedEvents(s: Settings): string[] {
  return Object.entries(s.hooks ?? {})
    .filter(([, groups]) => Array.isArray(groups) && groups.some((g: MatcherGroup) => g && Array.isArray(g.hooks) && g.hooks.some(ours)))
    .map(([event]) => event);
}

/** The spool folder our hooks in a settings file write to (the first one found), for --status. */
export function connectedSpool(file: string): string | undefined {
  for (const groups of Object.values(readSettings(file).hooks ?? {})) {
    if (!Array.isArray(groups)) continue;
    for (const g of groups as MatcherGroup[]) {
      for (const h of Array.isArray(g?.hooks) ? g.hooks : []) {
        if (!ours(h)) continue;
        const m = /d='([^']+)'/.exec(String((h as HookEntry).command));
        if (m) return m[1];
      }
    }
  }
  return undefined;
}

/**
 * Keeps a workspace's local settings file out of git, as Claude Code does when it creates one:
 * our hooks name this machine's paths, and the file is the user's, not the project's. Adds it
 * to the repository's own exclude file (never to a .gitignore that would be committed) when
 * git does not ignore it yet. Says what it did; nothing when the folder is not in a repository.
 */
export function keepOutOfGit(workspace: string, file: string): string | undefined {
  const git = (args: string[]) => spawnSync("git", ["-C", workspace, ...args], { encoding: "utf8", timeout: 5000 });
  const rel = path.relative(workspace, file);
  const ignored = git(["check-ignore", "-q", "--", rel]);
  if (ignored.error || ignored.status === 0 || ignored.status === 128) return undefined;
  const exclude = git(["rev-parse", "--path-format=absolute", "--git-path", "info/exclude"]).stdout?.trim();
  const top = git(["rev-parse", "--show-toplevel"]).stdout?.trim();
  if (!exclude || !top) return undefined;
  try {
    fs.mkdirSync(path.dirname(exclude), { recursive: true });
    fs.appendFileSync(exclude, `\n# agent-audit connect: local Claude Code settings (this machine's paths)\n/${path.relative(top, file).split(path.sep).join("/")}\n`);
    return exclude;
  } catch {
    return undefined;
  }
}

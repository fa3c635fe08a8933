import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readRecords, spoolDir, SpoolError, workspaceSpoolKey } from "../capture/hookSpool";
import type { HookCommandPlaces } from "../capture/claudeCode/hookCommand";
import { hookCommand, readBoundedStdin, runNodeHook, UnsafePathError } from "../capture/claudeCode/hookCommand";
import type { ConnectScope } from "../capture/claudeCode/hookSettings";
import { connectedEvents, connectedSpool, connectHooks, HOOK_EVENTS, keepOutOfGit, removeHooks, SettingsError, settingsFileFor } from "../capture/claudeCode/hookSettings";
import { MAX_RECORD_BYTES } from "../capture/hookSpool";
import { SecretRedactor } from "../agent/secretRedactor";
import type { ImportResult, Redact } from "../capture/claudeCode/importer";
import { importSpool, importTranscripts, projectTranscriptDir } from "../capture/claudeCode/importer";
import { claudeConfigDir } from "../capture/claudeCode/hookSettings";
import { plural } from "../shared/plural";
import { ProcessLock } from "../trail/store/processLock";
import type { ParsedArgs } from "./cliArgs";
import { stringFlag, UsageError } from "./cliArgs";
import { openTrailForWriting, trailPathFor, trustStore, workspaceFrom } from "./trailLocation";

export const CONNECT_FLAGS = { values: ["workspace"], booleans: ["user", "remove", "status"] };
export const HOOK_FLAGS = { values: ["workspace", "spool"], booleans: [] };

const AGENTS = ["claude-code"];

function scopeOf(args: ParsedArgs): ConnectScope {
  if (args.flags.has("user") && args.flags.has("workspace")) throw new UsageError("--user and --workspace contradict each other: hooks go in one settings file");
  return args.flags.has("user") ? { kind: "user", home: os.homedir() } : { kind: "workspace", dir: workspaceFrom(stringFlag(args, "workspace")) };
}

/** The places a scope's hooks use: its spool folder, this Node and this CLI. */
export function hookPlaces(scope: ConnectScope): HookCommandPlaces {
  const key = scope.kind === "workspace" ? workspaceSpoolKey(scope.dir) : "user";
  let spool: string;
  try {
    spool = spoolDir(trustStore().dir, "claude-code", key);
  } catch (err) {
    if (err instanceof SpoolError) throw new UsageError(err.message);
    throw err;
  }
  return { spool, node: process.execPath, cli: path.resolve(__dirname, "cli.js"), workspace: scope.kind === "workspace" ? scope.dir : undefined };
}

/**
 * `agent-audit connect claude-code [--workspace DIR | --user] [--remove]` and
 * `agent-audit connect --status`: writes (or takes out) the hooks that record Claude Code in
 * the trail, in the settings file Claude Code reads for that scope, beside the user's own hooks.
 */
export async function connectCommand(args: ParsedArgs): Promise<number> {
  const agent = args.positionals[0];
  if (args.flags.has("status")) {
    if (agent && !AGENTS.includes(agent)) throw new UsageError(`unknown agent "${agent}"; agents: ${AGENTS.join(", ")}`);
    return connectStatus(args);
  }
  if (!agent) throw new UsageError(`which agent? agent-audit connect <${AGENTS.join("|")}> [--workspace DIR | --user] [--remove], or --status`);
  if (!AGENTS.includes(agent)) throw new UsageError(`unknown agent "${agent}"; agents: ${AGENTS.join(", ")} (more are coming)`);
  const scope = scopeOf(args);
  const file = settingsFileFor(scope);
  try {
    if (args.flags.has("remove")) {
      const removed = removeHooks(file);
      process.stdout.write(removed ? `Removed Agent Audit's Claude Code hooks from ${file} (your own hooks are kept).\n` : `No Agent Audit hooks in ${file}: nothing to remove.\n`);
      return 0;
    }
    const places = hookPlaces(scope);
    connectHooks(file, (event) => hookCommand(event, places));
  } catch (err) {
    if (err instanceof SettingsError || err instanceof UnsafePathError) throw new UsageError(err.message);
    throw err;
  }
  if (scope.kind === "workspace") {
    const excluded = keepOutOfGit(scope.dir, file);
    if (excluded) process.stdout.write(`Added ${path.relative(scope.dir, file)} to ${excluded}, so that git does not commit it.\n`);
  }
  const where = scope.kind === "workspace" ? `sessions run in ${scope.dir} go to ${trailPathFor(scope.dir)}` : "each session goes to the trail of the folder it runs in (.agent-audit/trail.db there)";
  process.stdout.write(`Connected Claude Code: ${HOOK_EVENTS.length} hooks in ${file}; ${where}.\nEach session is written into the trail when Claude Code stops; past sessions: agent-audit import claude-code --all.\n`);
  return 0;
}

function connectStatus(args: ParsedArgs): number {
  const ws = workspaceFrom(stringFlag(args, "workspace"));
  const scopes: ConnectScope[] = [{ kind: "workspace", dir: ws }, { kind: "user", home: os.homedir() }];
  for (const scope of scopes) {
    const file = settingsFileFor(scope);
    let line: string;
    try {
      const events = connectedEvents(file);
      const spool = connectedSpool(file);
      const waiting = spool ? readRecords(spool).length : 0;
      const problem = spool ? lastImportProblem(spool) : undefined;
      line = events.length
        ? `connected in ${file} (${events.length} of ${HOOK_EVENTS.length} hooks${events.length < HOOK_EVENTS.length ? `; reconnect to add ${HOOK_EVENTS.map((e) => e.event).filter((e) => !events.includes(e)).join(", ")}` : ""})${waiting ? `; ${waiting} hook records waiting to be written` : ""}${problem ? `\n  the last background import said: ${problem}` : ""}`
        : `not connected in ${file}`;
    } catch (err) {
      line = `unknown: ${(err as Error).message}`;
    }
    process.stdout.write(`claude-code (${scope.kind === "workspace" ? `workspace ${ws}` : "user"}): ${line}\n`);
  }
  return 0;
}

/**
 * `agent-audit hook claude-code [--spool DIR] [--workspace DIR]`: a hook in Node (for a shell
 * without sh, or to check payloads as they come): reads the payload on stdin (bounded),
 * checks it, spools it. Always exits 0: a hook must never stop or slow the agent it records.
 */
export async function hookCommandCli(args: ParsedArgs): Promise<number> {
  const input = await readBoundedStdin(MAX_RECORD_BYTES);
  try {
    if (args.positionals[0] !== "claude-code") throw new UsageError(`unknown agent "${args.positionals[0] ?? ""}"; agents: ${AGENTS.join(", ")}`);
    const spool = stringFlag(args, "spool");
    const places = spool ? { spool, node: process.execPath, cli: path.resolve(__dirname, "cli.js"), workspace: stringFlag(args, "workspace") } : hookPlaces(scopeOf(args));
    if (!fs.existsSync(places.spool)) throw new UsageError(`no spool folder ${places.spool}`);
    const outcome = await runNodeHook(places, input);
    if (outcome !== "recorded") process.stderr.write(`agent-audit hook: ${outcome}\n`);
  } catch (err) {
    process.stderr.write(`agent-audit hook: not recorded: ${(err as Error).message}\n`);
  }
  return 0;
}

export const IMPORT_FLAGS = { values: ["workspace", "spool"], booleans: ["all"] };

/**
 * `agent-audit import claude-code [--all | FILE] [--workspace DIR]`: past sessions from Claude
 * Code's transcripts (FILE, or --all of the workspace's), aligned with hook records where the
 * workspace is connected; with neither, what the workspace's hooks spooled. `--spool DIR` is
 * what the hooks start at Stop and SessionEnd. Idempotent: a session imported again adds only
 * what is new.
 */
export async function importCommand(args: ParsedArgs): Promise<number> {
  const [agent, file] = args.positionals;
  if (agent !== "claude-code") throw new UsageError(`import which agent? agent-audit import claude-code [--all | FILE] [--workspace DIR]`);
  if (file && args.flags.has("all")) throw new UsageError("a FILE and --all contradict each other");
  const redactor = new SecretRedactor();
  const redact: Redact = (v) => redactor.redact(v);
  const log = (m: string) => process.stderr.write(`agent-audit import: ${m}\n`);
  const spoolFlag = stringFlag(args, "spool");
  if (spoolFlag || (!file && !args.flags.has("all"))) {
    const workspace = spoolFlag ? (stringFlag(args, "workspace") ? workspaceFrom(stringFlag(args, "workspace")) : undefined) : workspaceFrom(stringFlag(args, "workspace"));
    const spool = spoolFlag ?? hookPlaces({ kind: "workspace", dir: workspace! }).spool;
    // One import at a time per spool (Stop and SessionEnd each start one).
    const lock = new ProcessLock(path.join(spool, "import"), "auto", true);
    await lock.acquire();
    trimImportLog(spool);
    try {
      // Recording another agent starts a trail where there is none, as run and collect do.
      const results = await importSpool({ spool, workspace, openStore: (ws) => openTrailForWriting(ws, { create: true }), redact, log });
      report(results);
    } finally {
      lock.release();
    }
    return 0;
  }
  const workspace = workspaceFrom(stringFlag(args, "workspace"));
  let files: string[];
  if (file) files = [file];
  else {
    const dir = projectTranscriptDir(claudeConfigDir(), workspace);
    files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl")).map((f) => path.join(dir, f)) : [];
    if (!files.length) {
      process.stdout.write(`No Claude Code transcripts for ${workspace} (looked in ${dir}).\n`);
      return 0;
    }
  }
  const spool = hookPlaces({ kind: "workspace", dir: workspace }).spool;
  const store = await openTrailForWriting(workspace, { create: true });
  try {
    report(await importTranscripts({ files, store, spool, redact, log }));
  } finally {
    await store.close();
  }
  return 0;
}

/** The background import's log (its stderr) is kept short: the last problems are what --status shows. */
function trimImportLog(spool: string): void {
  const file = path.join(spool, "import.log");
  try {
    const st = fs.lstatSync(file);
    if (st.isFile() && st.size > 256 * 1024) fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(-64 * 1024));
  } catch {
    /* none yet */
  }
}

/** The last line the background import logged, if any (a problem it had). */
function lastImportProblem(spool: string): string | undefined {
  try {
    const st = fs.lstatSync(path.join(spool, "import.log"));
    if (!st.isFile() || st.size === 0) return undefined;
    const lines = fs.readFileSync(path.join(spool, "import.log"), "utf8").trim().split("\n");
    return `${lines[lines.length - 1].slice(0, 300)} (${new Date(st.mtimeMs).toISOString()})`;
  } catch {
    return undefined;
  }
}

function report(results: ImportResult[]): void {
  for (const r of results) {
    process.stdout.write(`${r.session_id}: ${r.written ? `${plural(r.written, "event")} written` : "already in the trail"}${r.gaps ? `, ${plural(r.gaps, "capture gap")} (tool calls the hooks did not record, filled in from the transcript and marked)` : ""}${r.ended ? "" : " (still running)"}\n`);
  }
}

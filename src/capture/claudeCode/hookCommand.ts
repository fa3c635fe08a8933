import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_RECORD_BYTES, markGap, writeRecord } from "../hookSpool";
import { HOOK_MARKER } from "./hookSettings";
import { checkHookPayload } from "./hookRecord";

/** What a hook command needs to know: where records go, and how to start the import. */
export interface HookCommandPlaces {
  spool: string;
  node: string;
  cli: string;
  /** The workspace whose trail the sessions go to (none: each session's own folder). */
  workspace?: string;
}

/** Events after which what is spooled is written into the trail (by an import started in the background). */
export const IMPORT_EVENTS = new Set(["Stop", "SessionEnd"]);

/** A path a hook command cannot quote for the shell. */
export class UnsafePathError extends Error {}

const quote = (s: string) => {
  if (/['\n\r\0]/.test(s)) throw new UnsafePathError(`the path ${JSON.stringify(s)} holds a quote or a line break, so a hook command cannot name it safely: move it (or set AGENT_AUDIT_CONFIG_DIR to a plain path) and connect again`);
  return `'${s}'`;
};

/** The arguments of the import a hook starts in the background (for `IMPORT_EVENTS`). */
export function importArgs(p: HookCommandPlaces): string[] {
  return [p.cli, "import", "claude-code", "--spool", p.spool, ...(p.workspace ? ["--workspace", p.workspace] : [])];
}

/**
 * The shell command Claude Code runs for `event` (with /bin/sh): it writes its stdin, at most
 * MAX_RECORD_BYTES, to a new private file in the spool folder and exits 0 whatever happens, so
 * the agent never waits on Node's start-up or on the trail, and is never stopped by a failure;
 * when the record cannot be written it leaves a gap marker. One program is started (head): the
 * file's name is a random UUID read with a shell builtin from the kernel (Linux) or made by
 * mktemp -u elsewhere, and noclobber keeps a record from ever replacing another. At Stop and
 * SessionEnd it also starts the import, detached and at a low priority, with none of Claude Code's
 * streams kept open (what it has to say goes to import.log in the spool folder, for --status).
 */
export function hookCommand(event: string, p: HookCommandPlaces): string {
  if (!/^[A-Za-z]+$/.test(event)) throw new UnsafePathError(`not a hook event: ${event}`);
  const gap = `printf '{"event":"${event}","at":"%s","reason":"the hook could not write its record"}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$d/gaps.jsonl" 2>/dev/null`;
  const name = `{ read -r u < /proc/sys/kernel/random/uuid || u=$(mktemp -u XXXXXXXXXXXX); } 2>/dev/null`;
  const record = `${name}; head -c ${MAX_RECORD_BYTES} > "$d/${event}.$u.json" || ${gap}`;
  // At a low priority: the import must not slow Claude Code's own next step (or its exit) on a busy machine.
  const start = IMPORT_EVENTS.has(event) ? `; ( nice -n 10 ${[p.node, ...importArgs(p)].map(quote).join(" ")} < /dev/null > /dev/null 2>> "$d/import.log" & )` : "";
  return `d=${quote(p.spool)}; umask 077; set -C; ${record}${start}; exit 0 ${HOOK_MARKER}`;
}

/** Reads stdin up to `max` bytes; what comes beyond is read and dropped (the agent's write never blocks), for at most `drainMs`. */
export function readBoundedStdin(max: number, drainMs = 2000): Promise<{ text: string; truncated: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.stdin.pause();
      resolve({ text: Buffer.concat(chunks).toString("utf8"), truncated });
    };
    const timer = setTimeout(finish, drainMs + 5000);
    timer.unref();
    process.stdin.on("data", (d: Buffer) => {
      if (size + d.length > max) {
        truncated = true;
        if (size < max) chunks.push(d.subarray(0, max - size));
        size = max;
        setTimeout(finish, drainMs).unref();
        return;
      }
      chunks.push(d);
      size += d.length;
    });
    process.stdin.on("end", finish);
    process.stdin.on("error", finish);
  });
}

/**
 * `agent-audit hook claude-code`: the same record as the shell hook, written from Node, with
 * the payload checked before it is kept (a record that fails the checks is not spooled; a gap
 * marker says why). Never throws and never fails: the caller exits 0 whatever this returns.
 * Returns what happened, for the caller's log.
 */
export async function runNodeHook(p: HookCommandPlaces, input: { text: string; truncated: boolean }, startImport = true): Promise<string> {
  if (input.truncated) {
    markGap(p.spool, { event: "unknown", reason: `a hook payload larger than ${MAX_RECORD_BYTES / 1024 / 1024} MB was refused` });
    return "refused: too large";
  }
  const checked = checkHookPayload(input.text);
  if (!checked.ok) {
    markGap(p.spool, { event: checked.event ?? "unknown", session_id: checked.session_id, reason: `a hook payload was refused: ${checked.reason}` });
    return `refused: ${checked.reason}`;
  }
  const { payload } = checked;
  try {
    writeRecord(p.spool, payload.hook_event_name, input.text);
  } catch (err) {
    markGap(p.spool, { event: payload.hook_event_name, session_id: payload.session_id, tool_use_id: payload.tool_use_id, reason: `the hook could not write its record: ${(err as Error).message}` });
    return `not recorded: ${(err as Error).message}`;
  }
  if (startImport && IMPORT_EVENTS.has(payload.hook_event_name)) {
    let log: number | "ignore" = "ignore";
    try {
      log = fs.openSync(path.join(p.spool, "import.log"), "a", 0o600);
    } catch {
      /* then it says nothing */
    }
    const child = spawn(p.node, importArgs(p), { detached: true, stdio: ["ignore", "ignore", log] });
    child.on("error", () => undefined);
    try {
      // As the shell hook's `nice -n 10`: the import must not slow Claude Code's next step.
      if (child.pid) os.setPriority(child.pid, 10);
    } catch {
      /* not allowed here: it runs at the normal priority */
    }
    child.unref();
    if (typeof log === "number") fs.closeSync(log);
  }
  return "recorded";
}

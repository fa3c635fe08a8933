import { TrailError } from "../trail/store/trailErrors";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ParsedArgs } from "./cliArgs";
import { parseArgs, UsageError } from "./cliArgs";
import { checkpointCommand, EXPORT_FLAGS, exportCommand, failuresCommand, READ_FLAGS, sessionsCommand, showCommand, verifyCommand } from "./readCommands";
import { RUN_FLAGS, runAgentCommand } from "./runAgentCommand";
import { DEBUG_FLAGS, diffCommand, replayCommand, retryCommand } from "./debugCommands";
import { TRUST_FLAGS, trustCommand } from "./trustCommands";
import { EVIDENCE_FLAGS, VERIFY_EVIDENCE_FLAGS, evidenceCommand, verifyEvidenceCommand } from "./evidenceCommands";
import { archiveCommand, pruneCommand, RETENTION_FLAGS, verifySegmentCommand } from "./retentionCommands";
import { COLLECT_FLAGS, collectCommand } from "./collectCommand";
import { guardTerminalOutput } from "./terminalOutput";
import { CONNECT_FLAGS, connectCommand, HOOK_FLAGS, hookCommandCli, IMPORT_FLAGS, importCommand } from "./captureCommands";

import { helpText } from "./commandHelp";

const USAGE = `agent-audit — run AI agents with a tamper-evident audit trail, and inspect it

  agent-audit run "<task>" [--workspace DIR] [--model ID] [--max-iterations N]
                           [--approve ask|all|none] [--thinking-budget TOKENS]
  agent-audit sessions [--workspace DIR] [--json]
  agent-audit show <session-id | latest> [--workspace DIR] [--json]
  agent-audit failures [--workspace DIR] [--json]
  agent-audit verify [--workspace DIR] [--since DATE|SEQ] [--archive DIR] [--anchor FILE] [--strict] [--json]
  agent-audit prune --before DATE [--workspace DIR]
  agent-audit archive --before DATE --to DIR [--workspace DIR]
  agent-audit verify-segment FILE
  agent-audit collect [--port 4318] [--token T | --no-token] [--workspace DIR]
  agent-audit checkpoint [--print] [--workspace DIR]
  agent-audit export <session-id> --format jsonl [--out FILE] [--workspace DIR]
  agent-audit export <session-id | --since DATE | --all> --format otlp --endpoint URL
                     [--header K=V]... [--protocol http/protobuf|http/json] [--content] [--workspace DIR]
  agent-audit retry <event-id> [--input JSON] [--workspace DIR] [--approve ask|all|none]
  agent-audit replay <session-id> [--workspace DIR] [--approve ask|all|none]
  agent-audit diff <session-a> <session-b> [--workspace DIR] [--json]
  agent-audit evidence <session-id | --from SEQ --to SEQ> --out DIR [--anchor FILE] [--workspace DIR]
  agent-audit verify-evidence DIR [--key VKEY|FILE]... [--trust] [--anchor FILE]
  agent-audit trust add FILE | list | forget [--workspace DIR] | accept [--workspace DIR] | rotate-key
  agent-audit connect claude-code [--workspace DIR | --user] [--remove] | connect --status
  agent-audit import claude-code [--all | FILE] [--workspace DIR]
  agent-audit hook claude-code [--spool DIR] [--workspace DIR]   (run by Claude Code's hooks)
  agent-audit --version
  agent-audit <command> --help     (options, an example and exit codes of one command)

The trail is DIR/.agent-audit/trail.db and, once it passes about 6 MiB, sealed segments in
DIR/.agent-audit/segments/ (DIR defaults to the nearest folder from here upward that has a
trail, else the current folder; --workspace also takes the .agent-audit folder or trail.db).
run uses ANTHROPIC_API_KEY and, if set, ANTHROPIC_BASE_URL. Your trust store (shared with the
VS Code extension) is ~/.config/agent-audit (AGENT_AUDIT_CONFIG_DIR overrides it): your signing
key, keys you trust, anchors (latest checkpoints) and pins (what you last saw at each trail).
Exit codes: 0 ok, 1 session not completed / trail invalid, 2 bad arguments or unreadable trail,
3 (verify, verify-evidence) consistent but not authenticated: no key you trust vouches for it.`;

interface Command {
  flags: { values: string[]; booleans: string[]; repeatable?: string[] };
  /** How many positional arguments the command takes at most; more is a usage error. */
  positionals: number;
  run: (a: ParsedArgs) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  run: { flags: RUN_FLAGS, positionals: 1, run: runAgentCommand },
  sessions: { flags: READ_FLAGS, positionals: 0, run: sessionsCommand },
  show: { flags: READ_FLAGS, positionals: 1, run: showCommand },
  failures: { flags: READ_FLAGS, positionals: 0, run: failuresCommand },
  verify: { flags: READ_FLAGS, positionals: 0, run: verifyCommand },
  checkpoint: { flags: READ_FLAGS, positionals: 0, run: checkpointCommand },
  retry: { flags: DEBUG_FLAGS, positionals: 1, run: retryCommand },
  replay: { flags: DEBUG_FLAGS, positionals: 1, run: replayCommand },
  diff: { flags: DEBUG_FLAGS, positionals: 2, run: diffCommand },
  export: { flags: EXPORT_FLAGS, positionals: 1, run: (a) => exportCommand(a, packageVersion()) },
  trust: { flags: TRUST_FLAGS, positionals: 3, run: trustCommand },
  evidence: { flags: EVIDENCE_FLAGS, positionals: 1, run: evidenceCommand },
  "verify-evidence": { flags: VERIFY_EVIDENCE_FLAGS, positionals: 1, run: verifyEvidenceCommand },
  prune: { flags: RETENTION_FLAGS, positionals: 0, run: pruneCommand },
  collect: { flags: COLLECT_FLAGS, positionals: 0, run: collectCommand },
  archive: { flags: RETENTION_FLAGS, positionals: 0, run: archiveCommand },
  "verify-segment": { flags: { values: [], booleans: [] }, positionals: 1, run: verifySegmentCommand },
  connect: { flags: CONNECT_FLAGS, positionals: 1, run: connectCommand },
  hook: { flags: HOOK_FLAGS, positionals: 1, run: hookCommandCli },
  import: { flags: IMPORT_FLAGS, positionals: 2, run: importCommand },
};

/** The version in package.json, which sits next to dist/ in the package and the repository. */
function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Runs the CLI; resolves with the exit code. Errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  guardTerminalOutput();
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(USAGE + "\n");
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(`agent-audit ${packageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`agent-audit: unknown command "${name}"; try: agent-audit --help\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(helpText(name) ?? `${USAGE}\n`);
    return 0;
  }
  try {
    const args = parseArgs(rest, command.flags);
    if (args.positionals.length > command.positionals) {
      const extra = args.positionals.slice(command.positionals).map((a) => JSON.stringify(a)).join(" ");
      throw new UsageError(`unexpected argument${args.positionals.length - command.positionals > 1 ? "s" : ""} ${extra}; see: agent-audit --help`);
    }
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TrailError) {
      process.stderr.write(`agent-audit ${name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`agent-audit ${name}: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
    return 2;
  }
}

/**
 * Ends the process once what it printed is out, instead of waiting for the event loop to empty:
 * a short-lived command (and soon a hook run per tool call of another agent) must end when its
 * work is done, and Node's own exit can hang on a background compile job waiting for a GC
 * (nodejs/node#54918); a timer, socket or worker something left behind must not keep it either.
 */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitWhenFlushed, () => exitWhenFlushed(2));
}

import { TrailError } from "../trail/trailErrors";
import { parseArgs, UsageError } from "./cliArgs";
import { checkpointCommand, exportCommand, failuresCommand, READ_FLAGS, sessionsCommand, showCommand, verifyCommand } from "./readCommands";
import { RUN_FLAGS, runAgentCommand } from "./runAgentCommand";
import { DEBUG_FLAGS, diffCommand, replayCommand, retryCommand } from "./debugCommands";

const USAGE = `agent-audit — run AI agents with a tamper-evident audit trail, and inspect it

  agent-audit run "<task>" [--workspace DIR] [--model ID] [--max-iterations N]
                           [--approve ask|all|none] [--thinking-budget TOKENS]
  agent-audit sessions [--workspace DIR] [--json]
  agent-audit show <session-id | latest> [--workspace DIR] [--json]
  agent-audit failures [--workspace DIR] [--json]
  agent-audit verify [--workspace DIR] [--anchor FILE] [--json]
  agent-audit checkpoint [--print] [--workspace DIR]
  agent-audit export <session-id> --format jsonl [--out FILE]
  agent-audit retry <event-id> [--input JSON] [--workspace DIR] [--approve ask|all|none]
  agent-audit replay <session-id> [--workspace DIR] [--approve ask|all|none]
  agent-audit diff <session-a> <session-b> [--workspace DIR] [--json]

The trail is DIR/.agent-audit/trail.db (DIR defaults to the current folder).
run uses ANTHROPIC_API_KEY and, if set, ANTHROPIC_BASE_URL. Checkpoints are signed with
~/.config/agent-audit/signing-key.pem (created on first use) and the latest is kept in
~/.config/agent-audit/anchors/ (AGENT_AUDIT_CONFIG_DIR overrides the folder).
Exit codes: 0 ok, 1 session not completed / trail invalid, 2 bad arguments or unreadable trail.`;

const COMMANDS: Record<string, { flags: { values: string[]; booleans: string[] }; run: (a: ReturnType<typeof parseArgs>) => Promise<number> }> = {
  run: { flags: RUN_FLAGS, run: runAgentCommand },
  sessions: { flags: READ_FLAGS, run: sessionsCommand },
  show: { flags: READ_FLAGS, run: showCommand },
  failures: { flags: READ_FLAGS, run: failuresCommand },
  verify: { flags: READ_FLAGS, run: verifyCommand },
  checkpoint: { flags: READ_FLAGS, run: checkpointCommand },
  retry: { flags: DEBUG_FLAGS, run: retryCommand },
  replay: { flags: DEBUG_FLAGS, run: replayCommand },
  diff: { flags: DEBUG_FLAGS, run: diffCommand },
  export: { flags: READ_FLAGS, run: exportCommand },
};

/** Runs the CLI; resolves with the exit code. Errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(USAGE + "\n");
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`agent-audit: unknown command "${name}"; try: agent-audit --help\n`);
    return 2;
  }
  try {
    return await command.run(parseArgs(rest, command.flags));
  } catch (err) {
    if (err instanceof UsageError || err instanceof TrailError) {
      process.stderr.write(`agent-audit ${name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`agent-audit ${name}: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = 2;
    },
  );
}

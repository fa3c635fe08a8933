// `agent-audit <command> --help`: each command's synopsis, what it does, its options, an example
// and its exit codes. Kept beside the command table (cli.ts); a test asks every command the
// top-level usage lists for its help.

export interface CommandHelp {
  synopsis: string;
  summary: string;
  options?: [string, string][];
  example: string;
  /** Exit codes beyond the common ones (0 done, 2 bad arguments or an unreadable trail). */
  exits?: [number, string][];
}

const WORKSPACE: [string, string] = [
  "--workspace DIR",
  "the workspace (or its .agent-audit folder, or trail.db); default: the nearest folder upward from here that has a trail",
];

export const COMMAND_HELP: Record<string, CommandHelp> = {
  run: {
    synopsis: 'agent-audit run "<task>" [--workspace DIR] [--model ID] [--max-iterations N] [--approve ask|all|none] [--thinking-budget TOKENS]',
    summary: "Runs our agent on the task with the workspace's tools, asking before consequential ones, and records every step. The only command (with collect) that creates a trail.",
    options: [WORKSPACE, ["--approve ask|all|none", "ask in the terminal (default), approve everything, or refuse everything consequential"], ["--model ID", "the Claude model"], ["--max-iterations N", "model calls at most"], ["--thinking-budget TOKENS", "extended thinking budget"]],
    example: 'ANTHROPIC_API_KEY=… agent-audit run "list the TODOs in src" --approve ask',
    exits: [[1, "the session did not complete"]],
  },
  sessions: { synopsis: "agent-audit sessions [--workspace DIR] [--json]", summary: "Lists the recorded sessions, newest first.", options: [WORKSPACE, ["--json", "one JSON array"]], example: "agent-audit sessions --json" },
  show: { synopsis: "agent-audit show <session-id | latest> [--workspace DIR] [--json]", summary: "Shows one session step by step: model calls, tool calls with inputs and outputs, approvals, the outcome. A unique prefix of the id is enough.", options: [WORKSPACE, ["--json", "the events as JSON"]], example: "agent-audit show latest" },
  failures: { synopsis: "agent-audit failures [--workspace DIR] [--json]", summary: "Lists failed tool calls across sessions, with the event id retry takes.", options: [WORKSPACE, ["--json", "one JSON array"]], example: "agent-audit failures" },
  verify: {
    synopsis: "agent-audit verify [--workspace DIR] [--since DATE|SEQ] [--archive DIR] [--anchor FILE] [--strict] [--json]",
    summary: "Checks the hash chain, Merkle tree, signed checkpoints, seals and blobs, against your anchor and pin; says who vouches for which range.",
    options: [WORKSPACE, ["--since DATE|SEQ", "from the segment holding that point on"], ["--archive DIR", "also the archived segments there"], ["--anchor FILE", "an anchor you kept (checkpoint --print)"], ["--strict", "warnings count as failures"], ["--json", "the report as JSON"]],
    example: "agent-audit verify --anchor ~/anchors/project.json",
    exits: [[1, "the trail is invalid"], [3, "consistent, but no key you trust vouches for some range"]],
  },
  prune: { synopsis: "agent-audit prune --before DATE [--workspace DIR]", summary: "Deletes sealed segments older than DATE (whole segments, verified first); the pruning is itself a signed session.", options: [WORKSPACE, ["--before DATE", "ISO date"]], example: "agent-audit prune --before 2026-01-01" },
  archive: { synopsis: "agent-audit archive --before DATE --to DIR [--workspace DIR]", summary: "Moves sealed segments older than DATE, with their seals, to DIR; they verify on their own and with the live trail.", options: [WORKSPACE, ["--before DATE", "ISO date"], ["--to DIR", "the archive folder"]], example: "agent-audit archive --before 2026-01-01 --to /mnt/archive/project" },
  "verify-segment": { synopsis: "agent-audit verify-segment FILE", summary: "Verifies one sealed (or archived) segment file against its seal.", example: "agent-audit verify-segment .agent-audit/segments/seg-000001.db", exits: [[1, "the segment is altered"], [3, "no key you trust vouches for part of it"]] },
  collect: {
    synopsis: "agent-audit collect [--port 4318] [--token T | --no-token] [--workspace DIR]",
    summary: "Receives other agents' OpenTelemetry (OTLP/HTTP) on 127.0.0.1 and records their sessions in the trail, until Ctrl-C.",
    options: [WORKSPACE, ["--port N", "default 4318"], ["--token T", "the bearer token senders must give (default: a new one, printed)"], ["--no-token", "accept any local sender"], ["--max-bytes N", "largest request body"]],
    example: "agent-audit collect --port 4318",
  },
  checkpoint: { synopsis: "agent-audit checkpoint [--print] [--workspace DIR]", summary: "Signs a checkpoint of the trail's head with your key (if it is not signed yet); --print writes the anchor to keep elsewhere.", options: [WORKSPACE, ["--print", "print the anchor (JSON) on stdout"]], example: "agent-audit checkpoint --print > ~/anchors/project.json" },
  export: {
    synopsis: "agent-audit export <session-id> --format jsonl [--out FILE] | <session-id | --since DATE | --all> --format otlp --endpoint URL [--header K=V]... [--protocol P] [--content]",
    summary: "Writes a session's events as JSON lines, or sends sessions as OpenTelemetry GenAI spans to a collector.",
    options: [WORKSPACE, ["--format jsonl|otlp", "what to write"], ["--out FILE", "jsonl: the file (default stdout)"], ["--endpoint URL", "otlp: the collector"], ["--header K=V", "otlp: a header, repeatable"], ["--protocol http/protobuf|http/json", "otlp wire format"], ["--content", "otlp: include prompts and outputs"]],
    example: "agent-audit export latest --format jsonl --out session.jsonl",
  },
  retry: { synopsis: "agent-audit retry <event-id> [--input JSON] [--workspace DIR] [--approve ask|all|none]", summary: "Runs a failed tool call again (optionally with other input), recorded next to the original.", options: [WORKSPACE, ["--input JSON", "the tool input to use instead"], ["--approve ask|all|none", "as for run"]], example: "agent-audit retry 3f2a9c1d" },
  replay: { synopsis: "agent-audit replay <session-id> [--workspace DIR] [--approve ask|all|none]", summary: "Replays a session's tool calls against the workspace as it is now, and records where the results diverge.", options: [WORKSPACE, ["--approve ask|all|none", "as for run"]], example: "agent-audit replay latest", exits: [[1, "the replay diverged"]] },
  diff: { synopsis: "agent-audit diff <session-a> <session-b> [--workspace DIR] [--json]", summary: "Compares two sessions step by step (tools, inputs, outcomes).", options: [WORKSPACE, ["--json", "the comparison as JSON"]], example: "agent-audit diff 1a2b3c4d 5e6f7a8b" },
  evidence: {
    synopsis: "agent-audit evidence <session-id | --from SEQ --to SEQ> --out DIR [--anchor FILE] [--workspace DIR]",
    summary: "Writes an evidence bundle an auditor checks without us: the events, a signed tree head stating what the bundle covers, proofs, and a standalone verifier. Prints your key for the auditor.",
    options: [WORKSPACE, ["--out DIR", "a new or empty folder"], ["--from SEQ --to SEQ", "a range instead of a session"], ["--anchor FILE", "prove consistency from that earlier head (default: your anchor)"]],
    example: "agent-audit evidence latest --out ./evidence-incident-42",
    exits: [[1, "the trail has findings, or events no key you trust vouches for"]],
  },
  "verify-evidence": {
    synopsis: "agent-audit verify-evidence DIR [--key VKEY|FILE]... [--trust] [--anchor FILE]",
    summary: "Verifies an evidence bundle: signed by a key you trust, every event proven, complete, consistent with a head you hold.",
    options: [["--key VKEY|FILE", "a key the trail's owner gave you (note verifier key, or PEM file); repeatable; default: your trust store"], ["--trust", "with --key: also your trust store's keys"], ["--anchor FILE", "an earlier tree head you hold"]],
    example: "agent-audit verify-evidence ./evidence-incident-42 --key agent-audit.local/trail/…+1a2b3c4d+AQ…",
    exits: [[1, "the bundle is invalid"], [3, "consistent, but not signed by a key you trust"]],
  },
  connect: {
    synopsis: "agent-audit connect claude-code [--workspace DIR | --user] [--remove] | connect --status",
    summary: "Records Claude Code in the trail: writes its hooks into .claude/settings.local.json (or, with --user, ~/.claude/settings.json), merged with yours and never removing them; each session reaches the trail at Stop and at its end, its transcript imported then. --remove takes ours out again; --status says what is connected where.",
    options: [WORKSPACE, ["--user", "for every folder you run Claude Code in"], ["--remove", "take our hooks out"], ["--status", "what is connected where"]],
    example: "agent-audit connect claude-code --workspace .",
  },
  import: {
    synopsis: "agent-audit import claude-code [--all | FILE] [--workspace DIR]",
    summary: "Imports Claude Code transcripts (~/.claude/projects/…) of sessions recorded without hooks, marked as imported with the transcript's SHA-256; importing again adds nothing and says when a transcript was edited since.",
    options: [WORKSPACE, ["--all", "every transcript of this folder"], ["FILE", "one transcript"]],
    example: "agent-audit import claude-code --all",
  },
  hook: {
    synopsis: "agent-audit hook claude-code [--spool DIR] [--workspace DIR]",
    summary: "The hook in Node, for systems without /bin/sh (connect writes a shell one): reads one hook record on stdin, keeps it for the import, always exits 0 so the agent goes on.",
    options: [WORKSPACE, ["--spool DIR", "where records wait for the import"]],
    example: "agent-audit hook claude-code < hook-record.json",
  },
  trust: {
    synopsis: "agent-audit trust add FILE | list | forget [--workspace DIR] | accept [--workspace DIR] | rotate-key",
    summary: "Manages your trust store: trust another writer's public key, list keys, forget a trail's pin and anchor, accept a trail's findings to go on writing, rotate your signing key.",
    options: [WORKSPACE, ["--json", "list: as JSON"]],
    example: "agent-audit trust add colleague.pem",
  },
};

/** The text `agent-audit <name> --help` prints, or undefined for a command without help. */
export function helpText(name: string): string | undefined {
  const h = COMMAND_HELP[name];
  if (!h) return undefined;
  const width = Math.max(0, ...(h.options ?? []).map(([o]) => o.length));
  const options = h.options?.length ? `\nOptions:\n${h.options.map(([o, d]) => `  ${o.padEnd(width)}  ${d}`).join("\n")}\n` : "";
  const exits = [[0, "done"] as [number, string], ...(h.exits ?? []), [2, "bad arguments, no trail, or a trail that cannot be read"] as [number, string]].sort((a, b) => a[0] - b[0]);
  return `usage: ${h.synopsis}\n\n${h.summary}\n${options}\nExample:\n  ${h.example}\n\nExit codes: ${exits.map(([c, d]) => `${c} ${d}`).join("; ")}.\n`;
}

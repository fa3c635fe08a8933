// `npm run demo`: a whole audited agent session with no API key. A local stand-in for the
// Anthropic API replays a scripted model (demo/scenario.json); everything else is real:
// the SDK, the CLI, the tools acting on a copy of demo/sample-project, and the trail.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FakeAnthropicServer } from "../test/fakeAnthropic/fakeAnthropicServer";
import type { Scenario } from "../test/fakeAnthropic/scenario";
import { TrustStore } from "../src/trail/trust/trustStore";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "dist", "cli.js");

async function main(): Promise<void> {
  const scenario = JSON.parse(fs.readFileSync(path.join(repo, "demo", "scenario.json"), "utf8")) as Scenario;
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "agent-audit-demo-"));
  fs.cpSync(path.join(repo, "demo", "sample-project"), workspace, { recursive: true });
  const server = new FakeAnthropicServer(scenario);
  const baseURL = await server.start();
  const say = (s: string) => process.stdout.write(s + "\n");
  say("Agent Audit Trail demo");
  say("──────────────────────");
  say("The model here is a SCRIPTED LOCAL STAND-IN for Claude (a local server replaying demo/scenario.json),");
  say("so no API key is needed. The SDK, the tools, the approvals and the audit trail are the real ones.");
  say(`Workspace: a copy of demo/sample-project in ${workspace}\n`);
  // The demo signs with your own trust store (the one `agent-audit` and the VS Code extension
  // share), so replaying or verifying its trail later with either tool finds nothing amiss.
  const trust = new TrustStore();
  const key = trust.signer().key.fingerprint;
  say(`Checkpoints are signed with your key ${key.slice(0, 16)}… from your trust store ${trust.dir}`);
  say("(shared by the agent-audit CLI and the VS Code extension; AGENT_AUDIT_CONFIG_DIR points it elsewhere).\n");
  const env = { ...process.env, ANTHROPIC_API_KEY: "demo-key-not-a-secret", ANTHROPIC_BASE_URL: baseURL };
  const run = (args: string[]) =>
    new Promise<number>((resolve) => {
      // Asynchronous spawn: the local API lives in this process and must keep answering.
      const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "inherit", "inherit"] });
      child.on("close", (code: number | null) => resolve(code ?? 1));
    });
  const task = "The greeting is wrong: greet(\"Ada\") should return \"Hello, Ada!\". Fix it and check that the tests pass.";
  const code = await run(["run", task, "--workspace", workspace, "--approve", "all", "--max-iterations", "10"]);
  await server.stop();
  say("\nThe whole session as recorded (agent-audit show latest):\n");
  spawnSync(process.execPath, [cli, "show", "latest", "--workspace", workspace], { stdio: "inherit", env });
  say("\nIntegrity (agent-audit verify: the hash chain, the signed checkpoints, your anchor and pin kept outside the workspace):");
  spawnSync(process.execPath, [cli, "verify", "--workspace", workspace], { stdio: "inherit", env });
  say("\nReplay (agent-audit replay latest): the recorded answers, the tools run again on the workspace as it is now.");
  say("The typo is already fixed, so the recorded edit no longer applies: the replay must notice and stop there.\n");
  spawnSync(process.execPath, [cli, "replay", "latest", "--workspace", workspace, "--approve", "all"], { stdio: "inherit", env });
  say("\nThe trail is .agent-audit/trail.db in the workspace. Open it without our code:");
  say(`  cd ${workspace} && sqlite3 .agent-audit/trail.db "SELECT seq, event_type, tool_name, outcome FROM events"`);
  say(`Edits were auto-approved (--approve all) and recorded as such; the failing "npm test" is in: node dist/cli.js failures --workspace ${workspace}`);
  say("\nTo run the same command against Claude itself:");
  say(`  export ANTHROPIC_API_KEY=sk-ant-…   # your key`);
  say(`  node dist/cli.js run "${task.replace(/"/g, '\\"')}" --workspace <your project>`);
  process.exitCode = code;
}

main().catch((err) => {
  console.error(`demo failed: ${err?.stack ?? err}`);
  process.exit(1);
});

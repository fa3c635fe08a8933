// Every forgery of issue #10, done with sqlite3 and sha256sum, shown as a finding by the
// extension's Verify Trail Integrity (the same checks as the CLI, which test/unit/forgery.test.ts
// runs); between forgeries the genuine trail is put back and verifies again.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Turn } from "../fakeAnthropic/scenario";
import { FakeAnthropicServer } from "../fakeAnthropic/fakeAnthropicServer";
import { editGeneratedColumn, editSessionsView, forge } from "../attacks/forgeTrail";
import { runCli } from "../helpers/cliRunner";
import { sqlite3 } from "../helpers/sqliteCli";
import { e2eTest, eventually } from "./e2eHarness";
import type { Workbench } from "./workbench";

const done: Turn = { content: [{ type: "text", text: "Done." }] };

async function verifyShows(wb: Workbench, category: RegExp): Promise<void> {
  await wb.runCommand("Agent Audit: Verify Trail Integrity");
  await wb.page.locator('.monaco-list[aria-label="Integrity"] .monaco-list-row', { hasText: category }).first().waitFor({ timeout: 30_000 });
  await wb.page.locator(".statusbar-item", { hasText: /trail finding/ }).waitFor({ timeout: 30_000 });
}

async function verifiedAgain(wb: Workbench): Promise<void> {
  await wb.runCommand("Agent Audit: Verify Trail Integrity");
  await wb.page.locator(".statusbar-item", { hasText: "Trail verified" }).waitFor({ timeout: 30_000 });
}

/** A session by the CLI, with the same user's trust store as the extension. */
async function cliSession(ws: string, config: string, task: string): Promise<void> {
  const api = new FakeAnthropicServer({ turns: [done] });
  const url = await api.start();
  try {
    const r = await runCli(["run", task, "--workspace", ws, "--approve", "all"], config, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: url });
    if (r.code !== 0) throw new Error(r.out);
  } finally {
    await api.stop();
  }
}

e2eTest(
  "forgeries shown as findings in the extension: new or same trail id, checkpoints deleted, re-signed, another genuine trail, an older copy, an edited view or generated column",
  {
    scenario: { turns: [{ content: [{ type: "tool_use", name: "run_command", input: { command: "echo failing >&2; exit 4" } }] }, done] },
    settings: { "agentAudit.approvalPolicy": { run_command: "auto" } },
  },
  async ({ wb, ws, trailPath }) => {
    const config = path.join(ws, "..", "config", "agent-audit"); // the extension's trust store (XDG_CONFIG_HOME)
    const dir = path.dirname(trailPath);
    await wb.openSessionsView();
    await wb.runCommand("Agent Audit: Run Agent…");
    await wb.answerInputBox("Run the tests", /Run Agent/);
    await wb.treeRow("Run the tests").locator(".codicon-pass").waitFor({ timeout: 60_000 });
    await eventually(() => sqlite3(trailPath, "SELECT count(*) FROM events WHERE event_type = 'session_end';").stdout.trim() === "1", "the snapshot");
    await verifiedAgain(wb);
    const pristine = path.join(ws, "..", "pristine");
    fs.cpSync(dir, pristine, { recursive: true });
    const restore = () => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.cpSync(pristine, dir, { recursive: true });
    };
    const variants: [string, RegExp, () => void | Promise<void>][] = [
      ["new trail id, checkpoints and keys deleted", /TRAIL_REPLACED/, () => forge(ws, { newTrailId: true, dropSignatures: true })],
      ["same trail id, checkpoints and keys deleted", /ROLLBACK|CHECKPOINTS_REMOVED/, () => forge(ws, { dropSignatures: true })],
      ["re-signed with a fresh key", /ROLLBACK|KEY_UNKNOWN/, () => forge(ws, { resign: true })],
      ["an edited sessions view", /SCHEMA_ALTERED/, () => editSessionsView(trailPath)],
      ["an edited generated column", /SCHEMA_ALTERED/, () => editGeneratedColumn(trailPath)],
      ["another genuine trail of the same user", /TRAIL_REPLACED/, async () => {
        const other = path.join(ws, "..", "other");
        fs.mkdirSync(other);
        await cliSession(other, config, "Elsewhere");
        fs.rmSync(dir, { recursive: true, force: true });
        fs.cpSync(path.join(other, ".agent-audit"), dir, { recursive: true });
      }],
    ];
    for (const [, finding, attack] of variants) {
      await attack();
      await verifyShows(wb, finding);
      restore();
      await verifiedAgain(wb);
    }
    // An older copy: the trail grows (a CLI session), then the copy from before is put back.
    await cliSession(ws, config, "Later work");
    await verifiedAgain(wb);
    restore();
    await verifyShows(wb, /TRUNCATED/);
  },
);

// A model's tool input with hidden characters, in a real VS Code: the approval dialog, the
// diff beside it and Step Details must show what will run (escaped and flagged), not what the
// characters make it look like. `touch PWNED #\r\x1b[2K    $ npm test` must not pass for
// `$ npm test`; a bidi override must not reorder a proposed file's text unseen.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Turn } from "../fakeAnthropic/scenario";
import { e2eTest } from "./e2eHarness";

const HOSTILE = "touch PWNED #\r\x1b[2K    $ npm test";
const SHOWN = "touch PWNED #\\x0d\\x1b[2K    $ npm test";
const done: Turn = { content: [{ type: "text", text: "All done." }] };

e2eTest(
  "hidden characters in a tool input are shown escaped and flagged in the approval dialog, the diff and Step Details",
  {
    scenario: {
      turns: [
        { content: [{ type: "tool_use", name: "run_command", input: { command: HOSTILE } }] },
        { content: [{ type: "tool_use", name: "write_file", input: { path: "notes.txt", content: "access: /* admin only \u202e } \u2066if (isAdmin)\u2069 \u2066 begin\n" } }] },
        done,
      ],
    },
  },
  async ({ wb, ws }) => {
    await wb.openSessionsView();
    await wb.runCommand("Agent Audit: Run Agent…");
    await wb.answerInputBox("Run the tests", /Run Agent/);

    const command = wb.dialog(/Agent wants to run run_command/);
    await command.waitFor({ timeout: 30_000 });
    const text = await command.innerText();
    assert.ok(text.includes(SHOWN), `the dialog does not show the command as it will run:\n${text}`);
    assert.match(text, /hidden control characters, shown escaped/);
    await wb.clickDialogButton(/Agent wants to run run_command/, "Reject");

    const write = wb.dialog(/Agent wants to run write_file/);
    await write.waitFor({ timeout: 30_000 });
    assert.match(await write.innerText(), /hidden control characters, shown escaped/);
    // The diff's proposed side shows the override as an escape, and its title says so.
    await wb.page.locator(".tab", { hasText: /notes\.txt: new file ↔ proposed by the agent \(hidden characters shown escaped\)/ }).waitFor({ timeout: 20_000 });
    await wb.page.locator(".editor-instance .view-lines", { hasText: "\\u202e" }).first().waitFor({ timeout: 20_000 });
    await wb.clickDialogButton(/Agent wants to run write_file/, "Reject");

    const session = wb.treeRow("Run the tests");
    await session.locator(".codicon-pass").waitFor({ timeout: 60_000 });
    assert.equal(fs.existsSync(path.join(ws, "PWNED")), false, "the rejected command ran");
    assert.equal(fs.existsSync(path.join(ws, "notes.txt")), false, "the rejected file was written");

    // The tree's label and Step Details show it escaped too, flagged.
    await wb.expand(session);
    await wb.expand(wb.treeRow(/^Step 1/));
    const row = wb.treeRow(/^run_command/);
    await row.waitFor({ timeout: 20_000 });
    assert.ok((await row.innerText()).includes("\\x1b[2K"), await row.innerText());
    await row.click();
    const view = wb.webview();
    await view.locator(".card.tool .badge.hidden-chars").first().waitFor({ timeout: 30_000 });
    const input = await view.locator(".card.tool details.input pre").first().innerText();
    assert.match(input, /\\(x1b|u001b)\[2K/);
    assert.ok(!input.includes("\x1b"), "the raw ESC reached the page");
  },
);

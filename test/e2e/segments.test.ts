// A trail with sealed segments in a real VS Code: the tree lists sessions from the catalog,
// an old session (in a sealed segment) and one spanning seals open in Step Details, and a
// sealed segment edited with sqlite3 is a finding of Verify Trail Integrity.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { TrailStore } from "../../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { sqlite3 } from "../helpers/sqliteCli";
import { e2eTest, eventually } from "./e2eHarness";

e2eTest(
  "a trail with sealed segments: old and spanning sessions in the tree and in Step Details; an edited segment is a finding",
  {
    scenario: { turns: [] },
    prepare: async (ws) => {
      const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"), { sealBytes: 30_000, signer: ed25519Signer(generateSigningKey()) });
      const add = async (task: string, steps: number, chunk: number) => {
        const events = sessionEvents({ task, steps, failures: 1, outputBytes: 900 });
        // A few events per commit, as a running agent writes them: seals fall inside sessions.
        const stored = await appendLinked(store, events, chunk);
        // Time passes between sessions: a seal's worker finishes (appends go on meanwhile).
        await store.flush();
        return stored;
      };
      await add("Oldest session, long sealed", 8, 100);
      for (let i = 0; i < 4; i++) await add(`Filler session ${i}`, 10, 100);
      const long = await add("Long session across seals", 60, 6);
      const sealOf = (seq: number) => store.seals.find((x) => x.first_seq <= seq && seq <= x.last_seq)?.segment_no ?? "active";
      assert.notEqual(sealOf(long[0].seq), sealOf(long[long.length - 1].seq), "the long session spans a seal");
      await add("Newest session", 3, 100);
      const seals = store.seals.length;
      await store.close();
      assert.ok(seals >= 4, `only ${seals} segments sealed`);
    },
  },
  async ({ wb, trailPath }) => {
    const segments = path.join(path.dirname(trailPath), "segments");
    assert.ok(fs.readdirSync(segments).length >= 4);
    await wb.openSessionsView();
    for (const task of ["Newest session", "Long session across seals", "Filler session 2", "Oldest session, long sealed"]) {
      await wb.treeRow(task).waitFor({ timeout: 30_000 });
    }
    // The oldest session lives in the first sealed segment only.
    const oldest = wb.treeRow("Oldest session, long sealed");
    assert.match((await oldest.innerText()) + ((await oldest.getAttribute("aria-label")) ?? ""), /8 steps/);
    await wb.expand(oldest);
    await wb.treeRow(/^Step 3(?!\d)/).click();
    const view = wb.webview();
    await view.locator("h2", { hasText: /^Step 3$/ }).waitFor({ timeout: 30_000 });
    await eventually(async () => (await view.locator("body").innerText()).includes("src/file3.ts"), "step 3's tool input, read from the sealed segment");

    // The session that spans seals reads as one: all its steps, the last one in Step Details.
    const long = wb.treeRow("Long session across seals");
    assert.match((await long.innerText()) + ((await long.getAttribute("aria-label")) ?? ""), /60 steps/);
    if ((await oldest.getAttribute("aria-expanded")) === "true") await oldest.locator(".monaco-tl-twistie").click();
    await wb.expand(long);
    await wb.treeRow(/^Step 1(?!\d)/).click();
    await view.locator("h2", { hasText: /^Step 1$/ }).waitFor({ timeout: 30_000 });
    await view.locator(".detail-head h2").click();
    await wb.page.keyboard.press("End");
    await view.locator("h2", { hasText: /^Step 60$/ }).waitFor({ timeout: 30_000 });
    await eventually(async () => (await view.locator("body").innerText()).includes("src/file60.ts"), "the last step, from the active segment");

    // Verification runs over every segment (in a worker): no finding; then one edited with sqlite3 is.
    await wb.runCommand("Agent Audit: Verify Trail Integrity");
    await wb.page.locator(".statusbar-item", { hasText: /Trail not authenticated|Trail verified/ }).waitFor({ timeout: 60_000 });
    const first = path.join(segments, "seg-000001.db");
    const guard = sqlite3(first, "SELECT sql FROM sqlite_master WHERE name = 'events_no_update';").stdout.trim();
    const r = sqlite3(first, `DROP TRIGGER events_no_update; UPDATE events SET content = replace(content, 'src/file3.ts', 'src/other.ts'); ${guard};`);
    assert.equal(r.status, 0, r.stderr);
    await wb.runCommand("Agent Audit: Verify Trail Integrity");
    await wb.page.locator('.monaco-list[aria-label="Integrity"] .monaco-list-row', { hasText: /SEGMENT_ALTERED|not the file that was sealed/ }).first().waitFor({ timeout: 60_000 });
    await wb.page.locator(".statusbar-item", { hasText: /trail finding/ }).waitFor({ timeout: 30_000 });
  },
);

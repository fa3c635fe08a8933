import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { TrailStore } from "../../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../helpers/bigSession";
import { e2eTest, eventually, RESULTS } from "./e2eHarness";

const DAY = 86_400_000;
const NEEDLE = "quixotic-frobnicator";

e2eTest(
  "1,000 sessions: grouped by day, and a filter typed in the title bar finds the one session whose tool output has a word; status and failure filters",
  {
    scenario: { turns: [] },
    prepare: async (ws) => {
      const now = Date.now();
      let at = now - 35 * DAY;
      const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"), { clock: () => new Date(at) });
      const batch = [];
      for (let i = 0; i < 500; i++) batch.push(...sessionEvents({ task: `Last month task ${i}`, steps: 1 }));
      await appendLinked(store, batch);
      at = now - 60_000;
      const today = [];
      for (let i = 0; i < 497; i++) today.push(...sessionEvents({ task: `Today task ${i}`, steps: 1, failures: i % 100 === 0 ? 1 : 0 }));
      await appendLinked(store, today);
      const needle = sessionEvents({ task: "The one with the word", steps: 1 });
      for (const e of needle) if (e.event_type === "tool_result") (e.content as Record<string, unknown>).output = `build log: ${NEEDLE} failed to start`;
      await appendLinked(store, needle);
      const cancelled = sessionEvents({ task: "Stopped halfway", steps: 1, end: false });
      cancelled.push({ ...cancelled[0], event_type: "session_cancelled", step_number: 1, content: { interrupted: { kind: "model_call", step: 1 } } });
      await appendLinked(store, cancelled);
      await appendLinked(store, sessionEvents({ task: "Still running", steps: 1, end: false }));
      await store.close();
    },
  },
  async ({ wb }) => {
    await wb.openSessionsView();
    const month = new Date(Date.now() - 35 * DAY).toLocaleString("en-US", { month: "long", year: "numeric" });
    const todayRow = wb.treeRow(/^Today/);
    await todayRow.waitFor({ timeout: 30_000 });
    assert.match((await todayRow.getAttribute("aria-label")) ?? "", /500 sessions/);
    assert.equal(await todayRow.getAttribute("aria-expanded"), "true");
    // Close Today to see the month below it.
    await todayRow.locator(".monaco-tl-twistie").click();
    const monthRow = wb.treeRow(month);
    await monthRow.waitFor({ timeout: 10_000 });
    assert.match((await monthRow.getAttribute("aria-label")) ?? "", /500 sessions/);
    assert.equal(await monthRow.getAttribute("aria-expanded"), "false", "older months are read when opened");

    const sessionRows = () => wb.tree().locator('.monaco-list-row[aria-level="2"]');
    let typedAt = 0;
    const filter = async (line: string) => {
      await wb.clickViewTitleAction("Filter Sessions…");
      const input = wb.page.locator(".quick-input-widget input");
      await input.waitFor({ state: "visible" });
      typedAt = Date.now();
      await input.fill(line);
      return input;
    };
    // Typing a word from one tool output: that session alone (the filter applies as typed).
    const input = await filter(NEEDLE);
    let shownAfterMs = 0;
    for (const deadline = Date.now() + 30_000; !shownAfterMs && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      if ((await sessionRows().count()) === 1 && (await sessionRows().first().innerText()).includes("The one with the word")) shownAfterMs = Date.now() - typedAt;
    }
    assert.ok(shownAfterMs, "the filter never showed the one session alone");
    await input.press("Enter");
    const header = wb.page.locator(".part.sidebar .pane-header", { hasText: "Sessions" }).first();
    await eventually(async () => (await header.innerText()).includes(`Filter: "${NEEDLE}"`), "the filter in the view's description");

    // Status and failures.
    await (await filter("status:cancelled")).press("Enter");
    await eventually(async () => (await sessionRows().count()) === 1 && (await sessionRows().first().innerText()).includes("Stopped halfway"), "the cancelled session");
    await (await filter("status:running")).press("Enter");
    await eventually(async () => (await sessionRows().count()) === 1 && (await sessionRows().first().innerText()).includes("Still running"), "the running session");
    await (await filter("has:failures")).press("Enter");
    await eventually(async () => (await sessionRows().count()) === 5, "the five sessions with a failed call");
    assert.deepEqual((await sessionRows().locator(".label-name").allInnerTexts()).sort(), ["Today task 0", "Today task 100", "Today task 200", "Today task 300", "Today task 400"]);

    // A filter that matches nothing says so (not the welcome text of an empty trail).
    await (await filter("zzq-no-such-word")).press("Enter");
    const message = wb.page.locator('[id="workbench.view.extension.agentAudit"] .message', { hasText: /No session matches the filter/ });
    await message.waitFor({ timeout: 20_000 });
    assert.equal(await wb.page.locator('[id="workbench.view.extension.agentAudit"]', { hasText: /No agent sessions recorded/ }).count(), 0, "the no-match state reads as an empty trail");

    // One click clears it.
    await wb.clickViewTitleAction("Clear Session Filter");
    await message.waitFor({ state: "detached", timeout: 20_000 }).catch(async () => assert.equal(await message.isVisible(), false, "the no-match message outlived the filter"));
    await eventually(async () => !(await header.innerText()).includes("Filter:"), "the filter cleared");
    await todayRow.waitFor();
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, "filter-figures.json"), JSON.stringify({ filter_by_word_shown_ms: shownAfterMs }, null, 2));
    console.log(`# filter figures ${JSON.stringify({ filter_by_word_shown_ms: shownAfterMs })}`);
  },
);

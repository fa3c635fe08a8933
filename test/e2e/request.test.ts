import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Turn } from "../fakeAnthropic/scenario";
import { e2eTest, RESULTS } from "./e2eHarness";

const STEPS = 50;
const turns: Turn[] = [];
for (let i = 0; i < STEPS; i++) turns.push({ content: [{ type: "tool_use", name: "read_file", input: { path: `notes/part${i}.txt` } }] });
turns.push({ content: [{ type: "text", text: "Read them all." }] });

e2eTest(
  "a request of 101 messages and about 1 MB renders in full in the Request section, a few messages at a time",
  {
    scenario: { turns },
    settings: { "agentAudit.maxIterations": STEPS + 5 },
    prepare: (ws) => {
      fs.mkdirSync(path.join(ws, "notes"));
      for (let i = 0; i < STEPS; i++) fs.writeFileSync(path.join(ws, "notes", `part${i}.txt`), `part ${i}: ${"all work and no play ".repeat(900)}`);
    },
  },
  async ({ wb }) => {
    await wb.openSessionsView();
    await wb.runCommand("Agent Audit: Run Agent…");
    await wb.answerInputBox("Read every part of the notes", /Run Agent/);
    const session = wb.treeRow("Read every part of the notes");
    await session.locator(".codicon-pass").waitFor({ timeout: 120_000 });
    await wb.expand(session);
    await wb.treeRow(/^Step 1(?!\d)/).click();
    const view = wb.webview();
    await view.locator("h2", { hasText: /^Step 1$/ }).waitFor({ timeout: 30_000 });
    await view.locator(".detail-head h2").click();
    await wb.page.keyboard.press("End");
    await view.locator("h2", { hasText: new RegExp(`^Step ${STEPS + 1}$`) }).waitFor({ timeout: 30_000 });
    // Watch the webview's main thread while the request renders.
    await view.locator("body").evaluate(() => {
      const w = window as unknown as { __longTasks: number[] };
      w.__longTasks = [];
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__longTasks.push(e.duration))).observe({ entryTypes: ["longtask"] });
    });
    const started = Date.now();
    await view.locator("details.request > summary").click();
    await view.locator(".msg").nth(2 * STEPS).waitFor({ timeout: 60_000 });
    const renderedMs = Date.now() - started;
    assert.equal(await view.locator(".msg").count(), 2 * STEPS + 1, "every message sent is shown");
    assert.equal(await view.locator(".block.source-tool").count(), STEPS, "each file's contents marked as from a tool");
    const bytes = await view.locator(".request-body").evaluate((b) => (b.textContent ?? "").length);
    assert.ok(bytes > 900_000, `the request shown is ${bytes} characters`);
    const longTasks = await view.locator("body").evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
    const figures = { request_messages: 2 * STEPS + 1, request_chars_shown: bytes, request_rendered_ms: renderedMs, webview_longest_task_ms: Math.round(Math.max(0, ...longTasks)) };
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, "request-figures.json"), JSON.stringify(figures, null, 2));
    console.log(`# request figures ${JSON.stringify(figures)}`);
  },
);

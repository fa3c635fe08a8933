// Live export: with agentAudit.otlp.endpoint set, a session run in VS Code reaches an OTLP
// endpoint (a loopback collector decoding with the official protos) while it runs — what it has
// completed, within a couple of seconds — and the session's own span when it ends.
import assert from "node:assert/strict";
import { OtlpCollector } from "../helpers/otlpCollector";
import { e2eTest, eventually } from "./e2eHarness";

const collector = new OtlpCollector();
let url = "";

e2eTest(
  "live OpenTelemetry export: a run's completed steps arrive at the configured endpoint while it runs (here: waiting for an approval), the rest when it ends, as GenAI spans without content, each once",
  {
    scenario: {
      turns: [
        { content: [{ type: "text", text: "Reading it." }, { type: "tool_use", name: "read_file", input: { path: "README.md" } }] },
        { content: [{ type: "text", text: "Fixing the typo." }, { type: "tool_use", name: "edit_file", input: { path: "src/greet.js", old_text: '"Helo, "', new_text: '"Hello, "' } }] },
        { content: [{ type: "text", text: "Done." }] },
      ],
    },
    prepare: async () => {
      url = await collector.start();
      return () => void collector.stop();
    },
    get settings() {
      return { "agentAudit.otlp.endpoint": url };
    },
  },
  async ({ wb }) => {
    await wb.openSessionsView();
    await wb.runCommand("Agent Audit: Run Agent…");
    await wb.answerInputBox("Fix the greeting for the team", /Run Agent/);
    // The run waits for the edit's approval: what it completed so far is already at the endpoint.
    await wb.dialog(/Agent wants to run edit_file/).waitFor({ timeout: 30_000 });
    await eventually(() => collector.spans.length >= 3, "the completed steps' spans at the endpoint during the run", 20_000);
    const during = collector.spans.map((s) => s.name).sort();
    assert.deepEqual(during, ["chat claude-sonnet-5", "chat claude-sonnet-5", "execute_tool read_file"], "both model calls and the read; not the edit waiting for approval, not the session");
    await wb.clickDialogButton(/Agent wants to run edit_file/, "Approve");
    await wb.treeRow("Fix the greeting for the team").locator(".codicon-pass").waitFor({ timeout: 60_000 });
    await eventually(() => collector.spans.some((s) => s.name.startsWith("invoke_agent ")), "the session's span at the endpoint", 30_000);
    const names = collector.spans.map((s) => s.name).sort();
    assert.deepEqual(names, ["chat claude-sonnet-5", "chat claude-sonnet-5", "chat claude-sonnet-5", "execute_tool edit_file", "execute_tool read_file", names.find((n) => n.startsWith("invoke_agent "))!].sort());
    assert.equal(new Set(collector.spans.map((s) => s.spanId)).size, collector.spans.length, "no span twice");
    const root = collector.spans.find((s) => s.name.startsWith("invoke_agent "))!;
    assert.ok(collector.spans.every((s) => s.traceId === root.traceId));
    assert.ok(collector.spans.filter((s) => s !== root).every((s) => s.parentSpanId === root.spanId));
    assert.ok(collector.spans.every((s) => s.attributes["agent_audit.task"] === undefined && s.attributes["gen_ai.tool.call.result"] === undefined), "no content unless opted in");
  },
);

// Live export: with agentAudit.otlp.endpoint set, a session run in VS Code reaches an OTLP
// endpoint (a loopback collector decoding with the official protos) once it ends.
import assert from "node:assert/strict";
import { OtlpCollector } from "../helpers/otlpCollector";
import { e2eTest, eventually } from "./e2eHarness";

const collector = new OtlpCollector();
let url = "";

e2eTest(
  "live OpenTelemetry export: a finished run arrives at the configured endpoint as GenAI spans, without content",
  {
    scenario: {
      turns: [
        { content: [{ type: "text", text: "Reading it." }, { type: "tool_use", name: "read_file", input: { path: "README.md" } }] },
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
    await wb.answerInputBox("Summarise the readme for the team", /Run Agent/);
    await wb.treeRow("Summarise the readme for the team").locator(".codicon-pass").waitFor({ timeout: 60_000 });
    await eventually(() => collector.spans.some((s) => s.name.startsWith("invoke_agent ")), "the session's spans at the endpoint", 30_000);
    const names = collector.spans.map((s) => s.name).sort();
    assert.deepEqual(names, ["chat claude-sonnet-5", "chat claude-sonnet-5", "execute_tool read_file", names.find((n) => n.startsWith("invoke_agent "))!].sort());
    const root = collector.spans.find((s) => s.name.startsWith("invoke_agent "))!;
    assert.ok(collector.spans.every((s) => s.traceId === root.traceId));
    assert.ok(collector.spans.every((s) => s.attributes["agent_audit.task"] === undefined && s.attributes["gen_ai.tool.call.result"] === undefined), "no content unless opted in");
  },
);

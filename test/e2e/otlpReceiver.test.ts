// The receiver in the extension: with agentAudit.otlp.receiver.enabled, an agent instrumented
// with the official OpenTelemetry SDK sends its spans to 127.0.0.1, and the session appears in
// the Sessions tree, marked with the agent, and opens in Step Details. Senders need the token
// the extension shows when the receiver is first enabled.
import * as net from "node:net";
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { e2eTest, eventually } from "./e2eHarness";

let port = 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

e2eTest(
  "the OpenTelemetry receiver: another agent's spans become a session in the tree, marked with the agent, that opens in Step Details",
  {
    scenario: { turns: [] },
    prepare: async () => {
      port = await freePort();
    },
    get settings() {
      return { "agentAudit.otlp.receiver.enabled": true, "agentAudit.otlp.receiver.port": port };
    },
  },
  async ({ wb }) => {
    await wb.openSessionsView();
    await eventually(async () => {
      // The receiver starts with the extension: retry the first span until it is up.
      const probe = await new Promise<boolean>((resolve) => net.connect(port, "127.0.0.1").once("connect", function (this: net.Socket) { this.end(); resolve(true); }).once("error", () => resolve(false)));
      return probe;
    }, "the receiver listening", 60_000);
    // Enabled the first time, it says what senders need: the token (kept in secret storage).
    const toast = wb.notification(/Authorization: Bearer/);
    await toast.waitFor({ timeout: 30_000 });
    const token = /Bearer ([A-Za-z0-9_-]{32,})/.exec(await toast.innerText())?.[1];
    if (!token) throw new Error(`no token in: ${await toast.innerText()}`);
    // Without it nothing is taken.
    const refused = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    if (refused.status !== 401) throw new Error(`a request without the token was answered ${refused.status}`);
    // The agent: spans as an instrumented agent emits them, sent as its SDK sends them, with the token.
    const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, headers: { Authorization: `Bearer ${token}` } });
    const provider = new TracerProvider({ resource: resourceFromAttributes({ "service.name": "copilot-chat" }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer("agent");
    const t0 = Date.now() - 30_000;
    const root = tracer.startSpan("invoke_agent GitHub Copilot", { kind: SpanKind.INTERNAL, startTime: t0, attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "GitHub Copilot", "gen_ai.agent.description": "Fix the failing test" } });
    const ctx = trace.setSpan(context.active(), root);
    const chat = tracer.startSpan("chat gpt-4o", { kind: SpanKind.CLIENT, startTime: t0 + 1000, attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 900, "gen_ai.usage.output_tokens": 50 } }, ctx);
    chat.end(t0 + 3000);
    const tool = tracer.startSpan("execute_tool run_in_terminal", { startTime: t0 + 4000, attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_in_terminal", "gen_ai.tool.call.id": "call_1", "error.type": "exit_code_1" } }, ctx);
    tool.setStatus({ code: SpanStatusCode.ERROR, message: "npm test failed" });
    tool.end(t0 + 6000);
    root.end(t0 + 8000);
    await provider.forceFlush();
    await provider.shutdown();

    const row = wb.treeRow("Fix the failing test");
    await row.waitFor({ timeout: 30_000 });
    await eventually(async () => /GitHub Copilot/.test(await row.innerText()), "the row names the agent it came from");
    await wb.expand(row);
    await wb.treeRow(/^Step 1(?!\d)/).click();
    const view = wb.webview();
    await view.locator("h2", { hasText: /^Step 1$/ }).waitFor({ timeout: 30_000 });
    await eventually(async () => {
      const text = await view.locator("body").innerText();
      return text.includes("run_in_terminal") && text.includes("npm test failed");
    }, "the failed tool call in Step Details");
    // Marked as received, not as our own agent's.
    await view.locator(".received", { hasText: /Recorded from GitHub Copilot over OpenTelemetry \(OTLP\): not by Agent Audit/ }).waitFor({ timeout: 10_000 });
  },
);

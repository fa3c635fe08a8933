// `npm run bench [-- --json]`: prints a table of figures; with --json, one JSON object on
// the last line. Benchmarks print; they never assert (targets are in the issues and README).
import { evidenceVerifyEventsPerSecond } from "./evidenceBench";
import { agentOverheadPerStep } from "./agentBench";
import { failuresQueryMs, replayOverheadMsPerStep } from "./debugBench";
import { llmCallRequestBytesAt, redactCostRatio, treeFigures } from "./liveBench";
import { benchMachine, runTrailBench } from "./trailBench";
import { runScaleBench } from "./scaleBench";
import { hookAddedMsPerToolCallEndToEnd, hookCommandMsPerToolCall, transcriptImportEventsPerSecond } from "./captureBench";
import { otlpExportEventsPerSecond, otlpLiveExportAddedMsPerStep, otlpReceiveSpansPerSecond } from "./otelBench";

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const log = (s: string) => process.stderr.write(s + "\n");
  log(`machine: ${benchMachine()}`);
  // `npm run bench -- --only scale`: just the trail-at-any-age figures (several minutes on their own).
  const only = process.argv[process.argv.indexOf("--only") + 1];
  if (process.argv.includes("--only") && only === "otel") {
    const figures = { ...(await otelFigures(log)) };
    for (const [k, v] of Object.entries(figures)) console.log(`${k}  ${v}`);
    if (json) console.log(JSON.stringify(figures));
    return;
  }
  if (process.argv.includes("--only") && only === "capture") {
    const figures = await captureFigures(log);
    for (const [k, v] of Object.entries(figures)) console.log(`${k}  ${v}`);
    if (json) console.log(JSON.stringify(figures));
    return;
  }
  if (process.argv.includes("--only") && only === "scale") {
    const figures = await runScaleBench(log);
    for (const [k, v] of Object.entries(figures)) console.log(`${k}  ${v}`);
    if (json) console.log(JSON.stringify(figures));
    return;
  }
  const figures: Record<string, number> = { ...(await runTrailBench(log)), ...(await runScaleBench(log)) };
  log("agent runner overhead per step…");
  await agentOverheadPerStep(5); // warm up the SDK and the redaction rules
  const agent = await agentOverheadPerStep(40);
  figures.agent_overhead_ms_per_step = Math.round(agent.overheadMs * 100) / 100;
  figures.agent_step_ms_instant_api = Math.round(agent.stepMs * 100) / 100;
  log("failures query on 100k events with 1,000 failures…");
  figures.failures_query_ms = Math.round((await failuresQueryMs()) * 10) / 10;
  log("replay overhead per step…");
  await replayOverheadMsPerStep(5);
  figures.replay_overhead_ms_per_step = Math.round((await replayOverheadMsPerStep(40)) * 100) / 100;
  log("request record at step 1,000 of a real session…");
  figures.llm_call_bytes_step_1000 = await llmCallRequestBytesAt(1000);
  log("redaction: last 1,000 of 10,000 events vs the first 1,000…");
  figures.redact_cost_ratio_last_vs_first_1000 = Math.round((await redactCostRatio()) * 100) / 100;
  log("tree: expand a 1,000-step session; cost of each appended event with it open…");
  const tree = await treeFigures();
  figures.tree_expand_1000_steps_ms = Math.round(tree.expandMs * 10) / 10;
  figures.append_update_cpu_ms_per_event = Math.round(tree.updateCpuMsPerEvent * 100) / 100;
  Object.assign(figures, await otelFigures(log));
  log("evidence: verifying a 2,000-step session's bundle");
  figures.evidence_verify_events_per_s = await evidenceVerifyEventsPerSecond();
  Object.assign(figures, await captureFigures(log));
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  console.log("figure".padEnd(width) + "  value");
  for (const [k, v] of Object.entries(figures)) console.log(k.padEnd(width) + "  " + v);
  if (json) console.log(JSON.stringify(figures));
}

async function otelFigures(log: (s: string) => void): Promise<Record<string, number>> {
  log("OpenTelemetry export to a loopback endpoint…");
  const otlp_export_events_per_s = Math.round(await otlpExportEventsPerSecond());
  log("OpenTelemetry receiver: spans received over OTLP/HTTP and recorded in the trail…");
  const otlp_receive_spans_per_s = Math.round(await otlpReceiveSpansPerSecond());
  log("OpenTelemetry live export: added time per step of a run…");
  const live = await otlpLiveExportAddedMsPerStep();
  log(`  ${live.exportsDuringRun} export requests landed inside the measured runs`);
  return {
    otlp_export_events_per_s,
    otlp_receive_spans_per_s,
    otlp_live_export_added_ms_per_step: Math.round(live.addedMs * 100) / 100,
    otlp_live_export_ms_per_export: Math.round(live.msPerExport * 10) / 10,
  };
}

async function captureFigures(log: (s: string) => void): Promise<Record<string, number>> {
  log("Claude Code hooks: PreToolUse + PostToolUse commands, spawn to exit…");
  const hook_added_ms_per_tool_call = Math.round(hookCommandMsPerToolCall() * 10) / 10;
  log("Claude Code hooks: added time per tool call of the real Claude Code, end to end (NaN: not provisioned)…");
  const e2e = await hookAddedMsPerToolCallEndToEnd();
  const hook_added_ms_per_tool_call_end_to_end = Math.round(e2e.ours * 10) / 10;
  const claude_empty_hook_ms_per_tool_call = Math.round(e2e.emptyHook * 10) / 10;
  log("Claude Code transcript import: events written per second…");
  const transcript_import_events_per_s = Math.round(await transcriptImportEventsPerSecond());
  return { hook_added_ms_per_tool_call, hook_added_ms_per_tool_call_end_to_end, claude_empty_hook_ms_per_tool_call, transcript_import_events_per_s };
}

main().catch((err) => {
  console.error(`bench failed: ${err?.stack ?? err}`);
  process.exit(1);
});

import * as fs from "node:fs";
import * as path from "node:path";
import { SecretRedactor } from "../src/agent/secretRedactor";
import { SessionsTreeModel } from "../src/extension/sessionsTreeModel";
import { toHeader, toStepSummaries } from "../src/extension/stepDetailsModel";
import { StoreTrailSource } from "../src/extension/trailSource";
import { canonicalJson } from "../src/trail/integrity/canonicalJson";
import { sessionEvents as trailSessionEvents } from "../src/trail/reading/trailQueries";
import { TrailStore } from "../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../test/helpers/bigSession";
import { benchDir, benchSession, median } from "./benchRun";

/** Figures of issue #16 (live updates, request records, redaction over uptime). */

/** Size of the request record (content.request, canonical JSON) of step `steps` of a real session. */
export async function llmCallRequestBytesAt(steps: number): Promise<number> {
  return benchSession("request", steps, (store, outcome) => {
    const llm = trailSessionEvents(store.database, outcome.session_id, { eventTypes: ["llm_call"] });
    if (llm.length !== steps) throw new Error(`expected ${steps} model calls, got ${llm.length}`);
    return Buffer.byteLength(canonicalJson(JSON.parse(llm[steps - 1].content).request));
  });
}

/** Redaction time of the last 1,000 of `n` events over the first 1,000, in one process. */
export async function redactCostRatio(n = 10_000): Promise<number> {
  const r = new SecretRedactor();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const event = { tool_name: "run_command", input: { command: `npm test -- file${i}` }, output: `line ${i}: all good\n`.repeat(20), outcome: "success" };
    const t = performance.now();
    await r.redact(event);
    times.push(performance.now() - t);
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return sum(times.slice(-1000)) / sum(times.slice(0, 1000));
}

/**
 * With a trail holding a 1,000-step session (about 4,000 events, 2 KB outputs) and a 5,000-event one, opened
 * read-only as the extension opens it: the time to list sessions and expand the big one to
 * its first steps (the session's pages, then the first page's step rows), cold, median of 5.
 * Then, with that session open in the tree and in Step Details, what each event another
 * process appends costs the reader: catching up, the change, the tree update and the new
 * step summaries (CPU ms per event).
 */
export async function treeFigures(): Promise<{ expandMs: number; updateCpuMsPerEvent: number }> {
  const dir = benchDir("tree");
  const trail = path.join(dir, "trail.db");
  try {
    const { store: writer } = await TrailStore.open(trail);
    for (let i = 0; i < 20; i++) await appendLinked(writer, sessionEvents({ task: `small ${i}`, steps: 3 }));
    await appendLinked(writer, sessionEvents({ sessionId: "big", task: "big", steps: 1000, outputBytes: 2000 }));
    // 1 + 1,250 model calls + 1,875 calls × (call, result) = 5,001 events.
    await appendLinked(writer, sessionEvents({ sessionId: "big5k", task: "big5k", steps: 1250, outputBytes: 2000, end: false }));
    await writer.flush();
    const { store: reader } = await TrailStore.open(trail, { readOnly: true });
    const expand: number[] = [];
    let model!: SessionsTreeModel;
    let source!: StoreTrailSource;
    for (let round = 0; round < 5; round++) {
      source = new StoreTrailSource("bench", "bench", () => reader);
      source.baseline();
      model = new SessionsTreeModel(() => [source]);
      const t = performance.now();
      // The first paint: the day groups, and the sessions of the open ones (all are today's).
      const groups = model.roots();
      const roots = groups.flatMap((g) => model.children(g));
      for (const r of [...groups, ...roots]) model.view(r);
      const big = roots.find((r) => r.kind === "session" && r.sessionId === "big")!;
      const pages = model.children(big);
      for (const p of pages) model.view(p);
      for (const s of model.children(pages[0])) model.view(s);
      expand.push(performance.now() - t);
    }
    // The 5,000-event session is expanded and open in Step Details: its summaries are built once.
    model.children(model.roots().flatMap((g) => model.children(g)).find((r) => r.kind === "session" && r.sessionId === "big5k")!);
    toStepSummaries(model.parsed("bench", "big5k")!);
    const more = sessionEvents({ sessionId: "big5k", task: "big5k", steps: 1280, outputBytes: 2000, end: false }).slice(-100);
    let cpu = 0;
    for (const e of more) {
      await writer.append(e);
      const before = process.cpuUsage();
      await reader.refresh();
      const change = source.update();
      if (change) {
        const update = model.apply(change);
        const touched = update.touched.get("bench\nbig5k");
        const parsed = model.parsed("bench", "big5k")!;
        toHeader(parsed.summary);
        if (touched) toStepSummaries(parsed, touched);
      }
      const used = process.cpuUsage(before);
      cpu += (used.user + used.system) / 1000;
    }
    await reader.close();
    await writer.close();
    return { expandMs: median(expand), updateCpuMsPerEvent: cpu / more.length };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

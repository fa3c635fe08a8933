import * as fs from "node:fs";
import * as path from "node:path";
import { spanIdFor, traceIdFor } from "../src/otel/genaiMapping";
import type { GenAiSpan } from "../src/otel/genaiMapping";
import { deliverSessions } from "../src/otel/otlpDelivery";
import { toReadableSpans } from "../src/otel/otlpExport";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import * as http from "node:http";
import { stagingFor } from "../src/otel/otlpStaging";
import { OtlpIngest } from "../src/otel/otlpIngest";
import { OtlpReceiver } from "../src/otel/otlpReceiver";
import { SecretRedactor } from "../src/agent/secretRedactor";
import { filePinKeeper } from "../src/trail/trust/pinKeeper";
import { TrailStore } from "../src/trail/store/trailStore";
import { TrustStore } from "../src/trail/trust/trustStore";
import { appendLinked, sessionEvents } from "../test/helpers/bigSession";
import { OtlpCollector } from "../test/helpers/otlpCollector";
import { LiveDelivery, LiveExportSchedule } from "../src/otel/liveExport";
import { benchDir, benchSession, median } from "./benchRun";

/**
 * Trail events exported per second as OTLP spans (protobuf, the official exporter) to a
 * loopback endpoint that decodes them: 300 runner-shaped sessions (~5,000 events), each run
 * with a fresh cursor so everything is sent; median of three after a warm-up.
 */
export async function otlpExportEventsPerSecond(): Promise<number> {
  const dir = benchDir("otel");
  const collector = new OtlpCollector();
  const url = await collector.start();
  try {
    const { store } = await TrailStore.open(path.join(dir, ".agent-audit", "trail.db"));
    for (let i = 0; i < 300; i++) await appendLinked(store, sessionEvents({ task: `otel ${i}`, steps: 6, failures: 1 }));
    const events = store.head.seq;
    const rates: number[] = [];
    for (let round = 0; round < 4; round++) {
      const t = performance.now();
      const r = await deliverSessions({ store, target: { endpoint: url }, select: { all: true }, cursorDir: path.join(dir, `cursor-${round}`), service: { name: "bench", version: "0" } });
      const s = (performance.now() - t) / 1000;
      if (r.sessions !== 300) throw new Error(`exported ${r.sessions} sessions`);
      if (round > 0) rates.push(events / s);
    }
    await store.close();
    return median(rates);
  } finally {
    await collector.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Spans per second received over OTLP/HTTP (protobuf, from the official exporter) and durably
 * recorded in the trail (redacted, staged, then assembled into sessions and fsync'd, as \`agent-audit collect\` does, with its options): 200 traces of 26
 * spans sent in batches of 512; the clock stops when the last session is in the trail. Median
 * of three on fresh trails, after a warm-up.
 */
export async function otlpReceiveSpansPerSecond(): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round < 4; round++) {
    const dir = benchDir("otel-rx");
    // As `agent-audit collect` opens it (openTrailForWriting): signed checkpoints, the anchor
    // and the pin kept in the user's config folder (here a fresh one beside the trail).
    const trust = new TrustStore(path.join(dir, "config"));
    const { store } = await TrailStore.open(path.join(dir, ".agent-audit", "trail.db"), {
      signer: trust.signer(),
      anchorDir: trust.anchorsDir,
      pins: filePinKeeper(trust.pins),
    });
    const ingest = new OtlpIngest({ store, staging: stagingFor(path.join(dir, ".agent-audit", "trail.db"), path.join(dir, "config")), quietMs: 100 });
    ingest.start();
    // As `agent-audit collect` runs it: every request redacted before it is staged.
    const redactor = new SecretRedactor();
    const receiver = new OtlpReceiver({ ingest, port: 0, redact: (v) => redactor.redact(v) });
    const url = await receiver.start();
    try {
      const spans: GenAiSpan[] = [];
      const t0 = Date.now() - 3_600_000;
      for (let trace = 0; trace < 200; trace++) {
        const traceId = traceIdFor(`bench-${round}`, `s${trace}`);
        const root = spanIdFor(`bench-${round}`, `root${trace}`);
        spans.push({ traceId, spanId: root, name: "invoke_agent bench", kind: "INTERNAL", startMs: t0, endMs: t0 + 60_000, attributes: { "gen_ai.operation.name": "invoke_agent" }, status: { code: "OK" }, events: [] });
        for (let i = 0; i < 25; i++) {
          const chat = i % 2 === 0;
          spans.push({
            traceId, spanId: spanIdFor(`bench-${round}`, `t${trace}-${i}`), parentSpanId: root, name: chat ? "chat m" : "execute_tool read_file", kind: chat ? "CLIENT" : "INTERNAL",
            startMs: t0 + i * 1000, endMs: t0 + i * 1000 + 500,
            attributes: chat ? { "gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100 } : { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_file", "gen_ai.tool.call.id": `c${i}` },
            status: { code: "UNSET" }, events: [],
          });
        }
      }
      // Requests encoded beforehand by the official serializer, so the figure is the receiver's.
      const readable = toReadableSpans(spans, { name: "bench-agent", version: "0" });
      const bodies: Uint8Array[] = [];
      for (let i = 0; i < readable.length; i += 512) bodies.push(ProtobufTraceSerializer.serializeRequest(readable.slice(i, i + 512))!);
      const t = performance.now();
      for (const body of bodies) await postProtobuf(`${url}/v1/traces`, body);
      await ingest.flush();
      const s = (performance.now() - t) / 1000;
      if (store.head.seq < 200 * 27) throw new Error(`only ${store.head.seq} events were recorded`);
      if (round > 0) rates.push(spans.length / s);
    } finally {
      await receiver.stop();
      await ingest.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return median(rates);
}

function postProtobuf(url: string, body: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { "content-type": "application/x-protobuf" } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * What the extension's live export adds to each step of a run, in ms: the same real session
 * (the SDK against the local API streaming each answer over ~60 ms; 60 steps of a model call and
 * a file read) with and without live export — the extension's schedule (an export at most every
 * 2 s while the trail changes) sending what is complete, running session included, to a
 * loopback endpoint that decodes every request. The median over nine pairs of runs (after a
 * warm-up pair) of (wall with − wall without) / steps; which of a pair runs first alternates.
 * `exportsDuringRun` says how many export requests landed inside the measured runs (so the
 * figure includes real exports); `msPerExport`, the median wall time of one export (reading the
 * changed sessions, mapping, encoding, the HTTP round trip), the most it could hold up a step.
 */
export async function otlpLiveExportAddedMsPerStep(): Promise<{ addedMs: number; exportsDuringRun: number; msPerExport: number }> {
  const steps = 60;
  const collector = new OtlpCollector();
  const url = await collector.start();
  const cursorDir = benchDir("otel-live-cursor");
  const added: number[] = [];
  const exportMs: number[] = [];
  let exportsDuringRun = 0;
  try {
    for (let round = 0; round < 10; round++) {
      const wall: Record<string, number> = {};
      // Alternated, and in turn first: neither mode gets the warmer disk or heap every time.
      for (const mode of round % 2 ? (["on", "off"] as const) : (["off", "on"] as const)) {
        wall[mode] = await benchSession(`otel-live-${mode}`, steps, (_store, _outcome, ms) => ms, {
          eventDelayMs: 5,
          attach: (store) => {
            if (mode === "off") return async () => undefined;
            const live = new LiveDelivery();
            const s = new LiveExportSchedule(
              async () => {
                const t = performance.now();
                await live.deliver({ store, target: { endpoint: url }, cursorDir, service: { name: "agent-audit-trail", version: "bench" } });
                if (round > 0) exportMs.push(performance.now() - t);
              },
              (err) => process.stderr.write(`live export failed: ${(err as Error).message}\n`),
            );
            const sub = store.onDidAppend(() => s.changed());
            const before = collector.requests.length;
            return async () => {
              if (round > 0) exportsDuringRun += collector.requests.length - before;
              sub.dispose();
              await s.dispose();
            };
          },
        });
      }
      if (round > 0) added.push((wall.on - wall.off) / steps);
    }
  } finally {
    await collector.stop();
    fs.rmSync(cursorDir, { recursive: true, force: true });
  }
  return { addedMs: median(added), exportsDuringRun, msPerExport: median(exportMs) };
}

import * as fs from "node:fs";
import * as path from "node:path";
import { deliverSessions } from "../src/otel/otlpDelivery";
import { TrailStore } from "../src/trail/trailStore";
import { appendLinked, sessionEvents } from "../test/helpers/bigSession";
import { OtlpCollector } from "../test/helpers/otlpCollector";
import { benchDir, median } from "./benchRun";

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

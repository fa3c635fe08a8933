// Opens a trail in a fresh process (cold: engine load included) the way the extension does
// for its first paint, or verifies it, and reports time and memory. Used by scaleBench.ts.
import * as fs from "node:fs";
import { TrailReader } from "../src/trail/reading/trailReader";
import { TrailStore } from "../src/trail/store/trailStore";
import { verifyTrail } from "../src/trail/integrity/verifyTrail";

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  const t0 = performance.now();
  const { store } = await TrailStore.open(file, { readOnly: true });
  const openMs = performance.now() - t0;
  if (mode === "open") {
    const t1 = performance.now();
    const sessions = new TrailReader(store).listSessions();
    const listMs = performance.now() - t1;
    const rssMb = process.memoryUsage().rss / 1048576;
    process.stdout.write(JSON.stringify({ openMs, listMs, rssMb, sessions: sessions.length }) + "\n");
  } else {
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t1 = performance.now();
    const report = verifyTrail(store.database, { sql: store.sqlEngine, segmentsDir: store.segmentsDir });
    const verifyMs = performance.now() - t1;
    clearInterval(sample);
    // verifyTrail is synchronous: the interval cannot sample during it, so the RSS high-water
    // mark comes from the kernel (VmHWM), which sees every page ever resident.
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;
    if (!report.valid) throw new Error(`trail invalid: ${JSON.stringify(report.findings[0])}`);
    process.stdout.write(JSON.stringify({ verifyMs, peakRssMb: Math.max(hwm, peak / 1048576), events: report.events }) + "\n");
  }
  await store.close();
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + "\n");
  process.exit(1);
});

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { EventInput } from "../src/trail/store/eventTypes";
import { ed25519Signer, generateSigningKey } from "../src/trail/trust/signing";
import { DEFAULT_SEAL_BYTES, TrailStore } from "../src/trail/store/trailStore";
import { appendLinked, sessionEvents } from "../test/helpers/bigSession";
import { benchDir, median } from "./benchRun";

const signer = ed25519Signer(generateSigningKey());
const MB = 1048576;

/** How big the trail is on disk: sealed segments, trail.db and its journal. */
function trailBytes(file: string): number {
  const dir = path.dirname(file);
  const seg = path.join(dir, "segments");
  // A seal's worker writes its temp file meanwhile (appends go on during a seal): only finished files count.
  const segs = fs.existsSync(seg) ? fs.readdirSync(seg).filter((f) => f.endsWith(".db")).reduce((n, f) => n + (fs.statSync(path.join(seg, f), { throwIfNoEntry: false })?.size ?? 0), 0) : 0;
  return segs + [file, file.replace(/\.db$/, ".journal")].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

/**
 * A trail of `bytes` built through the real store with production options (default seal
 * size, checkpoints signed): sessions of runner-shaped events averaging ~3 KB, a few failing.
 * Returns the seal times the store logged.
 */
async function build(file: string, bytes: number, log: (s: string) => void): Promise<{ sealMs: number[]; events: number; bytes: number }> {
  const sealMs: number[] = [];
  const { store } = await TrailStore.open(file, { signer, log: (m) => { const t = / in (\d+) ms\b/.exec(m); if (t && m.includes("sealed segment")) sealMs.push(Number(t[1])); } });
  let n = 0;
  for (let size = 0; size < bytes; size = trailBytes(file)) {
    for (let i = 0; i < 20; i++) await appendLinked(store, sessionEvents({ task: `scale session ${n++}: refactor module ${n % 97}`, steps: 60, failures: 3, outputBytes: 6500 }));
    log(`  ${Math.round(trailBytes(file) / MB)} MB…`);
  }
  await store.close();
  const { store: ro } = await TrailStore.open(file, { readOnly: true });
  const events = ro.head.seq;
  await ro.close();
  return { sealMs, events, bytes: trailBytes(file) };
}

/** A copy to measure on: trail.db and journal copied, sealed segments (never written again) hard-linked. */
function linkCopy(file: string, name: string): string {
  const from = path.dirname(file);
  const to = path.join(path.dirname(path.dirname(from)), name, ".agent-audit");
  fs.mkdirSync(path.join(to, "segments"), { recursive: true });
  for (const f of ["trail.db", "trail.journal"]) if (fs.existsSync(path.join(from, f))) fs.copyFileSync(path.join(from, f), path.join(to, f));
  for (const f of fs.readdirSync(path.join(from, "segments"))) fs.linkSync(path.join(from, "segments", f), path.join(to, "segments", f));
  return path.join(to, "trail.db");
}

function child(mode: "open" | "verify", file: string): Record<string, number> {
  const out = execFileSync(process.execPath, [path.join(__dirname, "scaleChild.js"), mode, file], { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** A ~3 KB tool result, as the agent-like run appends. */
function stepEvent(i: number): EventInput {
  return { session_id: "run", agent_id: "bench-agent", event_type: "tool_result", step_number: i, content: { tool_name: "read_file", outcome: "success", output: `line ${i}\n`.padEnd(3000, "x") } };
}

/**
 * The longest event-loop block during an agent-like run with production options: steps of four
 * appends, then a pause longer than the idle delay (the model thinking), twelve times. The
 * active segment starts just under the seal size, so the run pays for a seal as well as for
 * the idle snapshots of a full-size active segment.
 */
async function maxLoopBlock(file: string): Promise<{ maxMs: number; sealed: boolean }> {
  const { store } = await TrailStore.open(file, { signer });
  let i = 0;
  const limit = DEFAULT_SEAL_BYTES;
  while (store.activeSegmentBytes < limit - 40_000) {
    const wave: Promise<unknown>[] = [];
    for (let k = 0; k < 50 && store.activeSegmentBytes + k * 3100 < limit - 40_000; k++) wave.push(store.append(stepEvent(i++)));
    if (!wave.length) break;
    await Promise.all(wave);
  }
  await store.flush();
  const sealsBefore = store.seals.length;
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  for (let step = 0; step < 12; step++) {
    for (let k = 0; k < 4; k++) await store.append(stepEvent(i++));
    await new Promise((r) => setTimeout(r, 1300));
  }
  h.disable();
  const sealed = store.seals.length > sealsBefore;
  await store.close();
  return { maxMs: h.max / 1e6, sealed };
}

/** Serial appends (300, µs each) on a fresh copy of `file` (or a new trail when undefined), median of five after a warm-up. */
async function serialUs(dir: string, file: string | undefined, name: string): Promise<number> {
  const runs: number[] = [];
  for (let round = 0; round < 6; round++) {
    const at = file ? linkCopy(file, `${name}-${round}`) : path.join(dir, `${name}-${round}`, ".agent-audit", "trail.db");
    const { store } = await TrailStore.open(at, { signer });
    const t = performance.now();
    for (let k = 0; k < 300; k++) await store.append(stepEvent(k));
    const us = ((performance.now() - t) / 300) * 1000;
    await store.close();
    fs.rmSync(path.dirname(path.dirname(at)), { recursive: true, force: true });
    if (round > 0) runs.push(us);
  }
  return median(runs);
}

export async function runScaleBench(log: (s: string) => void): Promise<Record<string, number>> {
  const dir = benchDir("scale");
  const out: Record<string, number> = {};
  try {
    for (const [label, bytes] of [["420mb", 420 * MB], ["1gb", 1024 * MB]] as const) {
      log(`building a ${label} trail through the store (production options)…`);
      const file = path.join(dir, `trail-${label}`, ".agent-audit", "trail.db");
      const built = await build(file, bytes, log);
      log(`  ${built.events} events, ${Math.round(built.bytes / MB)} MB, ${built.sealMs.length} seals`);
      const opens = [0, 1, 2].map(() => child("open", file));
      const open = { openMs: median(opens.map((o) => o.openMs)), listMs: median(opens.map((o) => o.listMs)), rssMb: median(opens.map((o) => o.rssMb)) };
      out[`rss_open_${label}_mb`] = Math.round(open.rssMb);
      out[`sessions_list_${label}_ms`] = Math.round(open.listMs * 10) / 10;
      log(`event loop during an agent-like run on the ${label} trail (a seal included)…`);
      const block = await maxLoopBlock(linkCopy(file, `loop-${label}`));
      if (label === "420mb") {
        out.open_420mb_ms = Math.round(open.openMs);
        out.max_loop_block_during_run_ms = Math.round(block.maxMs);
        out.seal_ms = median(built.sealMs);
        log("serial append cost at 420 MB vs an empty trail…");
        const empty = await serialUs(dir, undefined, "empty");
        const full = await serialUs(dir, file, "serial-420");
        out.append_serial_cost_ratio_420mb_vs_empty = Math.round((full / empty) * 100) / 100;
        log("verify at 420 MB…");
        out.verify_420mb_ms = Math.round(child("verify", file).verifyMs);
      } else {
        out.max_loop_block_1gb_ms = Math.round(block.maxMs);
        log("verify at 1 GB (peak RSS)…");
        const v = child("verify", file);
        out.verify_1gb_ms = Math.round(v.verifyMs);
        out.verify_rss_1gb_mb = Math.round(v.peakRssMb);
      }
      if (!block.sealed) log(`  note: no seal happened during the ${label} run`);
      fs.rmSync(path.join(dir, `trail-${label}`), { recursive: true, force: true });
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EventInput } from "../src/trail/store/eventTypes";
import { encodeRecord } from "../src/trail/store/journalFile";
import { ed25519Signer, generateSigningKey } from "../src/trail/trust/signing";
import { TrailStore } from "../src/trail/store/trailStore";
import { benchDir, median } from "./benchRun";

/** Checkpoints as in real use: signed every 100 events. */
const signer = ed25519Signer(generateSigningKey());

/** A tool_result event with a ~500-byte payload, like a small file read. */
export function toolEvent(i: number): EventInput {
  return {
    session_id: `bench-${Math.floor(i / 500)}`,
    agent_id: "bench-agent",
    user_id: "bench",
    event_type: "tool_result",
    step_number: i % 500,
    model_id: "claude-bench",
    content: {
      tool_name: "read_file",
      outcome: "success",
      execution_time_ms: 3,
      input: { path: `src/module${i % 97}.ts` },
      output: `export const value${i} = ${i};\n`.padEnd(480, "/"),
    },
  };
}

async function appendSerial(store: TrailStore, n: number, from: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await store.append(toolEvent(from + i));
  return (performance.now() - t) / 1000;
}

async function appendBurst(store: TrailStore, n: number, from: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i += 100) {
    const wave: Promise<unknown>[] = [];
    for (let j = 0; j < 100 && i + j < n; j++) wave.push(store.append(toolEvent(from + i + j)));
    await Promise.all(wave);
  }
  return (performance.now() - t) / 1000;
}

/** The disk's limit for our workload: the same journal lines, one fdatasync each. */
function rawFsync(dir: string, n: number): number {
  const ev = toolEvent(1);
  const line = Buffer.from(
    encodeRecord({
      e: {
        seq: 1, event_id: "00000000-0000-4000-8000-000000000000", session_id: ev.session_id, agent_id: ev.agent_id!,
        user_id: ev.user_id!, timestamp: new Date().toISOString(), event_type: ev.event_type, step_number: 1,
        parent_event_id: null, model_id: ev.model_id!, system_prompt_hash: null, agent_version: null,
        content: JSON.stringify(ev.content), prev_hash: "0".repeat(64), hash: "f".repeat(64),
      },
    }),
  );
  const file = path.join(dir, "raw.bin");
  const fd = fs.openSync(file, "w");
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    fs.writeSync(fd, line);
    fs.fdatasyncSync(fd);
  }
  const s = (performance.now() - t) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return n / s;
}

async function fillTo(store: TrailStore, total: number): Promise<void> {
  const have = store.head.seq;
  await appendBurst(store, total - have, have);
  await store.flush();
}

/** A copy of a closed trail (database, journal, sealed segments) in a folder of its own, to measure on. */
function copyTrail(file: string, name: string): string {
  const to = path.join(path.dirname(path.dirname(file)), name, "trail.db");
  fs.mkdirSync(path.dirname(to), { recursive: true });
  for (const f of [file, file.replace(/\.db$/, ".journal")]) if (fs.existsSync(f)) fs.copyFileSync(f, path.join(path.dirname(to), path.basename(f)));
  // Sealed segments are never written again: linked, not copied.
  const segments = path.join(path.dirname(file), "segments");
  if (fs.existsSync(segments)) {
    fs.mkdirSync(path.join(path.dirname(to), "segments"), { recursive: true });
    for (const f of fs.readdirSync(segments)) fs.linkSync(path.join(segments, f), path.join(path.dirname(to), "segments", f));
  }
  return to;
}

/**
 * Per-append cost (µs) on a trail holding `size` events, burst and serial, with the options
 * users run with (idle snapshot after 1 s, checkpoints signed). Each measurement runs on a
 * fresh copy of the same trail, so the trail does not grow from one to the next, and the
 * figure is the median of five.
 */
async function costAt(dir: string, size: number): Promise<{ burstUs: number; serialUs: number; trail: string }> {
  const file = path.join(dir, `cost-${size}`, "trail.db");
  const { store } = await TrailStore.open(file, { signer });
  await fillTo(store, size);
  await store.close();
  const burst: number[] = [];
  const serial: number[] = [];
  for (let round = 0; round < 6; round++) {
    const b = await TrailStore.open(copyTrail(file, `cost-${size}-burst-${round}`), { signer });
    const bs = await appendBurst(b.store, 1000, size);
    await b.store.close();
    const s = await TrailStore.open(copyTrail(file, `cost-${size}-serial-${round}`), { signer });
    const ss = await appendSerial(s.store, 300, size);
    await s.store.close();
    if (round === 0) continue; // warm-up
    burst.push((bs / 1000) * 1e6);
    serial.push((ss / 300) * 1e6);
  }
  return { burstUs: median(burst), serialUs: median(serial), trail: file };
}

/**
 * The longest the event loop is blocked while an agent runs on a trail of `file`'s size, with
 * production options: steps of a few appends, then a pause longer than the idle delay (the
 * model thinking), five times. What blocks is whatever the store does on the main thread,
 * the idle snapshot above all.
 */
async function maxLoopBlockDuringRun(file: string): Promise<number> {
  const { monitorEventLoopDelay } = await import("node:perf_hooks");
  const { store } = await TrailStore.open(copyTrail(file, "loop-block"), { signer });
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let seq = store.head.seq;
  for (let step = 0; step < 5; step++) {
    for (let i = 0; i < 4; i++) await store.append(toolEvent(seq++));
    await new Promise((r) => setTimeout(r, 1500));
  }
  h.disable();
  await store.close();
  return h.max / 1e6;
}

export interface TrailFigures {
  raw_fsync_eps: number;
  append_serial_eps: number;
  append_burst_eps: number;
  append_burst_eps_unsigned: number;
  checkpoint_burst_overhead_pct: number;
  append_cost_ratio_100k_vs_1k: number;
  append_serial_cost_ratio_100k_vs_1k: number;
  open_100k_ms: number;
  verify_100k_ms: number;
  /** Building the RFC 9162 Merkle tree over the same 100k events and taking its root. */
  merkle_root_100k_ms: number;
  rss_open_100k_mb: number;
  trail_bytes_per_event: number;
  snapshot_100k_ms: number;
  /** Longest event-loop block during an agent-like run (appends, pauses past the idle delay). */
  max_loop_block_100k_ms: number;
}

export async function runTrailBench(log: (s: string) => void): Promise<TrailFigures> {
  const dir = benchDir("store");
  try {
    log("raw fsync baseline…");
    const raw = rawFsync(dir, 3000);
    log("serial appends on fresh trails (checkpoints signed every 100 events), median of five…");
    const serialRuns: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { store } = await TrailStore.open(path.join(dir, `fresh-${i}`, "trail.db"), { signer });
      const secs = await appendSerial(store, 1500, 0);
      await store.close();
      if (i > 0) serialRuns.push(secs); // the first warms up
    }
    const serialS = median(serialRuns);
    log("burst appends, and the checkpoint overhead: the same burst on fresh trails with and without signing, median of five…");
    // Alternating runs on identical fresh trails, so disk noise and trail size do not
    // masquerade as signing cost. append_burst_eps is the signed (real) setup.
    const burstOn = async (name: string, withSigner: boolean) => {
      const s = await TrailStore.open(path.join(dir, name, "trail.db"), withSigner ? { signer } : {});
      await appendBurst(s.store, 2000, 0);
      const secs = await appendBurst(s.store, 20_000, 2000);
      await s.store.close();
      return secs;
    };
    const signedRuns: number[] = [];
    const unsignedRuns: number[] = [];
    for (let i = 0; i < 5; i++) {
      unsignedRuns.push(await burstOn(`unsigned-${i}`, false));
      signedRuns.push(await burstOn(`signed-${i}`, true));
    }
    const signedS = median(signedRuns);
    const unsignedS = median(unsignedRuns);

    log("per-append cost at 1k and 100k events…");
    const small = await costAt(dir, 1000);
    const large = await costAt(dir, 100_000);
    log("event loop blocked during an agent-like run on the 100k trail…");
    const loopBlock = await maxLoopBlockDuringRun(large.trail);

    log("snapshot, open and verify at 100k events…");
    const bigFile = path.join(dir, "cost-100000", "trail.db");
    const big = await TrailStore.open(bigFile);
    // Make the snapshot the 100k point: force a rewrite and time it.
    await big.store.append(toolEvent(1));
    const ts = performance.now();
    await big.store.flush();
    const snapshotMs = performance.now() - ts;
    const events = big.store.head.seq;
    await big.store.close();
    const child = path.join(__dirname, "openChild.js");
    const out = JSON.parse(execFileSync(process.execPath, [child, bigFile], { encoding: "utf8" }).trim().split("\n").pop()!);
    // The whole trail on disk: the active segment and every sealed one.
    const segDir = path.join(path.dirname(bigFile), "segments");
    const bytes = fs.statSync(bigFile).size + (fs.existsSync(segDir) ? fs.readdirSync(segDir).reduce((n, f) => n + fs.statSync(path.join(segDir, f)).size, 0) : 0);
    return {
      raw_fsync_eps: Math.round(raw),
      append_serial_eps: Math.round(1500 / serialS),
      append_burst_eps: Math.round(20_000 / signedS),
      append_burst_eps_unsigned: Math.round(20_000 / unsignedS),
      checkpoint_burst_overhead_pct: Math.round((signedS / unsignedS - 1) * 1000) / 10,
      append_cost_ratio_100k_vs_1k: round2(large.burstUs / small.burstUs),
      append_serial_cost_ratio_100k_vs_1k: round2(large.serialUs / small.serialUs),
      open_100k_ms: Math.round(out.openMs),
      verify_100k_ms: Math.round(out.verifyMs),
      merkle_root_100k_ms: Math.round(out.merkleMs),
      rss_open_100k_mb: Math.round(out.rssMb),
      trail_bytes_per_event: Math.round(bytes / events),
      snapshot_100k_ms: Math.round(snapshotMs),
      max_loop_block_100k_ms: Math.round(loopBlock),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export const benchMachine = () => `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}, node ${process.version}`;

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EventInput } from "../src/trail/eventTypes";
import { encodeRecord } from "../src/trail/journalFile";
import { ed25519Signer, generateSigningKey } from "../src/trail/signing";
import { TrailStore } from "../src/trail/trailStore";

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

/** Per-append cost (µs) on a trail already holding `size` events, burst and serial. */
async function costAt(dir: string, size: number): Promise<{ burstUs: number; serialUs: number }> {
  const file = path.join(dir, `cost-${size}`, "trail.db");
  let { store } = await TrailStore.open(file, { signer });
  await fillTo(store, size);
  await store.close();
  ({ store } = await TrailStore.open(file, { idleSnapshotMs: 60_000, signer }));
  await appendBurst(store, 2000, size); // warm up
  const burst = await appendBurst(store, 10_000, size + 2000);
  const serial = await appendSerial(store, 2000, size + 12_000);
  await store.close();
  return { burstUs: (burst / 10_000) * 1e6, serialUs: (serial / 2000) * 1e6 };
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
}

export async function runTrailBench(log: (s: string) => void): Promise<TrailFigures> {
  const dir = fs.mkdtempSync(path.join(process.cwd(), ".bench-"));
  try {
    log("raw fsync baseline…");
    const raw = rawFsync(dir, 3000);
    log("serial and burst appends on a fresh trail (checkpoints signed every 100 events)…");
    const { store } = await TrailStore.open(path.join(dir, "fresh", "trail.db"), { signer });
    await appendSerial(store, 300, 0); // warm up
    const serialS = await appendSerial(store, 3000, 300);
    await store.close();
    log("burst appends, and the checkpoint overhead: the same burst on fresh trails with and without signing…");
    // Alternating runs on identical fresh trails, best of five each, so disk noise and trail
    // size do not masquerade as signing cost. append_burst_eps is the signed (real) setup.
    const burstOn = async (name: string, withSigner: boolean) => {
      const s = await TrailStore.open(path.join(dir, name, "trail.db"), withSigner ? { signer } : {});
      await appendBurst(s.store, 2000, 0);
      const secs = await appendBurst(s.store, 20_000, 2000);
      await s.store.close();
      return secs;
    };
    let signedBest = Infinity;
    let unsignedS = Infinity;
    for (let i = 0; i < 5; i++) {
      unsignedS = Math.min(unsignedS, await burstOn(`unsigned-${i}`, false));
      signedBest = Math.min(signedBest, await burstOn(`signed-${i}`, true));
    }

    log("per-append cost at 1k and 100k events…");
    const small = await costAt(dir, 1000);
    const large = await costAt(dir, 100_000);

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
    const bytes = fs.statSync(bigFile).size;
    return {
      raw_fsync_eps: Math.round(raw),
      append_serial_eps: Math.round(3000 / serialS),
      append_burst_eps: Math.round(20_000 / signedBest),
      append_burst_eps_unsigned: Math.round(20_000 / unsignedS),
      checkpoint_burst_overhead_pct: Math.round((signedBest / unsignedS - 1) * 1000) / 10,
      append_cost_ratio_100k_vs_1k: round2(large.burstUs / small.burstUs),
      append_serial_cost_ratio_100k_vs_1k: round2(large.serialUs / small.serialUs),
      open_100k_ms: Math.round(out.openMs),
      verify_100k_ms: Math.round(out.verifyMs),
      merkle_root_100k_ms: Math.round(out.merkleMs),
      rss_open_100k_mb: Math.round(out.rssMb),
      trail_bytes_per_event: Math.round(bytes / events),
      snapshot_100k_ms: Math.round(snapshotMs),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export const benchMachine = () => `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}, node ${process.version}`;

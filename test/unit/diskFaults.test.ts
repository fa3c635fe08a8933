// A disk that fills up in the middle of a run: the append that met the
// fault fails with one clear message, leaves the writer as it was before it, and the appends
// after the fault clears succeed, with signed checkpoints, in the same process. Nothing
// acknowledged is missing after a reopen. (A small tmpfs needs root; CI runs as root.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { TrailError } from "../../src/trail/store/trailErrors";
import { TrailStore } from "../../src/trail/store/trailStore";
import type { StoredEvent } from "../../src/trail/store/eventTypes";
import { verifyTrail } from "../../src/trail/integrity/verifyTrail";
import { sqlite3 } from "../helpers/sqliteCli";

const canMount = process.platform === "linux" && process.getuid?.() === 0;
const skip = canMount ? false : "needs root to mount a small tmpfs";

/** A tmpfs of `size` mounted for the test (unmounted after). */
function smallDisk(t: { after(fn: () => void): void }, size: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aat-disk-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  assert.equal(r.status, 0, String(r.stderr));
  t.after(() => {
    spawnSync("umount", ["-l", dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fills the disk to the last byte; returns the filler to delete. */
function fill(dir: string): string {
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
  }
  // The last partial chunk too.
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(512, 1));
  } catch {
    /* full */
  }
  fs.closeSync(fd);
  return filler;
}

const event = (i: number, tag: string) => ({ session_id: `s-${tag}`, event_type: "tool_result", step_number: i, content: { tool_name: "run_command", outcome: "success", output: "o".repeat(300), i } });

async function appendsAfterAFault(t: { after(fn: () => void): void }, fault: (dir: string) => { clear: () => void; message: RegExp }, sealBytes?: number): Promise<void> {
  const dir = smallDisk(t, "4m");
  const trailPath = path.join(dir, ".agent-audit", "trail.db");
  const signer = ed25519Signer(generateSigningKey());
  const { store } = await TrailStore.open(trailPath, { signer, checkpointEvery: 5, log: () => undefined, ...(sealBytes ? { sealBytes } : {}) });
  const acked: StoredEvent[] = [];
  for (let i = 0; i < 20; i++) acked.push(await store.append(event(i, "before")));
  const { clear, message } = fault(dir);
  // Appends meet the fault: each fails with one clear line, nothing half-done stays behind.
  let failed = 0;
  for (let i = 0; i < 40; i++) {
    try {
      acked.push(await store.append(event(i, "during")));
    } catch (err) {
      failed++;
      assert.ok(err instanceof TrailError, `not a TrailError: ${String(err)}`);
      assert.match((err as Error).message, message);
      assert.doesNotMatch((err as Error).message, /\n/, "one line");
    }
  }
  assert.ok(failed > 0, "the fault never reached an append");
  clear();
  // The same process goes on: every append succeeds, checkpoints included.
  for (let i = 0; i < 60; i++) acked.push(await store.append(event(i, "after")));
  assert.ok(await store.checkpointNow(), "a checkpoint is signed after the fault");
  await store.close();
  const { store: ro } = await TrailStore.open(trailPath, { readOnly: true });
  try {
    const report = verifyTrail(ro.database, { sql: ro.sqlEngine, segmentsDir: ro.segmentsDir, trustedKeys: [signer.key] });
    assert.deepEqual(report.findings.filter((f) => f.severity === "error"), []);
    // Without our code: every acknowledged event, as acknowledged, in the segments or trail.db.
    const stored = new Map<number, string>();
    const segs = fs.existsSync(ro.segmentsDir) ? fs.readdirSync(ro.segmentsDir).filter((f) => /^seg-\d+\.db$/.test(f)).map((f) => path.join(ro.segmentsDir, f)) : [];
    for (const f of [...segs, trailPath]) {
      for (const line of sqlite3(f, "SELECT seq || '|' || hash FROM events;").stdout.trim().split("\n").filter(Boolean)) {
        const [seq, hash] = line.split("|");
        stored.set(Number(seq), hash);
      }
    }
    for (const e of acked) assert.equal(stored.get(e.seq), e.hash, `acknowledged seq ${e.seq} is missing or differs`);
    assert.ok(ro.head.seq >= acked.length);
  } finally {
    await ro.close();
  }
}

test("disk full during appends: each failed append says the disk is full; once space is freed, every later append and checkpoint succeeds in the same process", { skip, timeout: 60_000 }, async (t) => {
  await appendsAfterAFault(t, (dir) => {
    const filler = fill(dir);
    return { clear: () => fs.rmSync(filler), message: /disk .*full|no space/i };
  });
});

test("disk full while segments are being sealed and trail.db rewritten: once space is freed, appends, seals and checkpoints go on, nothing acknowledged is missing", { skip, timeout: 60_000 }, async (t) => {
  // Small segments: a seal (segment file, trail.db replaced) is due every few appends.
  await appendsAfterAFault(
    t,
    (dir) => {
      const filler = fill(dir);
      return { clear: () => fs.rmSync(filler), message: /disk .*full|no space/i };
    },
    8_000,
  );
});

// `verify` while an agent appends (the extension verifies after every run; a user runs verify
// while an agent works): a live trail must never produce a finding that a quiet one would not.
// The writer signs checkpoints and advances the anchor and pin outside the workspace as it
// goes, as the CLI and the extension do; verification reads them too.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";
import { verifyAtLocation, verifyOpenTrail } from "../../src/trail/integrity/verifyAtLocation";
import { startAppender } from "../helpers/childAppender";
import { tempDir } from "../helpers/tempDir";

test("verify racing a writer 100 times (fresh opens, and a view's store that catches up) reports no finding", { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const trustDir = path.join(dir, "config");
  const trailPath = path.join(dir, "ws", ".agent-audit", "trail.db");
  const env = { AAT_TRUST_DIR: trustDir, AAT_SEAL_BYTES: "200000", AAT_APPEND_PAUSE_MS: "1" };
  const writer = startAppender(trailPath, 1_000_000, "live", "serial", 0, env);
  await writer.firstAck;
  const trust = new TrustStore(trustDir);
  const problems: string[] = [];
  // As the extension's Integrity view does: one read-only store, kept open, verified again.
  const { store: view, report: viewOpen } = await TrailStore.open(trailPath, { readOnly: true, allowAlteredSchema: true });
  try {
    for (let round = 0; round < 100; round++) {
      // Each round starts once the writer has moved on since the last one.
      const seen = writer.acks.length;
      let writerEnded: string | undefined;
      void writer.exited.then((e) => (writerEnded = `writer ended (${e.code ?? e.signal}): ${e.stderr}`));
      while (writer.acks.length === seen) {
        if (writerEnded) assert.fail(writerEnded);
        await new Promise((r) => setTimeout(r, 5));
      }
      const t0 = Date.now();
      const located = round % 2 ? await verifyOpenTrail(view, viewOpen, trust) : await verifyAtLocation(trailPath, trust);
      if (process.env.AAT_DEBUG_ROUNDS) console.error(`round ${round} ${Date.now() - t0} ms, writer at ${writer.acks.length}`);
      const errors = located.report.findings.filter((f) => f.severity === "error");
      if (errors.length) problems.push(`round ${round}: ${errors.map((f) => `${f.category}: ${f.message}`).join("; ")}`);
    }
  } finally {
    await view.close();
    // Stopped before the test's folder is removed.
    writer.child.kill("SIGKILL");
    await writer.exited;
  }
  assert.deepEqual(problems, []);
});

test("a reader catching up while a writer swaps trail.db and its journal between the reader's two looks does not fall behind", async (t) => {
  const dir = tempDir(t);
  const trailPath = path.join(dir, "ws", ".agent-audit", "trail.db");
  const first = startAppender(trailPath, 30, "before", "serial");
  assert.equal((await first.exited).code, 0);
  const { store: view } = await TrailStore.open(trailPath, { readOnly: true, allowAlteredSchema: true });
  // The reader has looked at trail.db (unchanged) and is about to look at the journal when a
  // writer appends, rewrites trail.db and starts a new journal from its head: made certain here
  // by running that writer inside the reader's look at the journal. Under load (a verify
  // racing an agent) the same happens by timing, and verify reported the events as removed.
  const journal = `${trailPath.slice(0, -".db".length)}.journal`;
  // The module object itself (an `import *` binding is read-only); the store's reads go through it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeFs = require("node:fs") as typeof fs;
  const statSync = nodeFs.statSync;
  let armed = true;
  (nodeFs as { statSync: unknown }).statSync = function (this: unknown, ...args: Parameters<typeof fs.statSync>) {
    if (armed && args[0] === journal) {
      armed = false;
      const r = spawnSync(process.execPath, [path.join(__dirname, "../helpers/appenderChild.js"), trailPath, "40", "during", "serial"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
    return statSync.apply(this, args as never);
  } as typeof fs.statSync;
  try {
    await view.refresh();
    assert.ok(!armed, "the writer ran inside the reader's look");
    assert.equal(view.head.seq, 70, "the reader holds every event written before it looked");
  } finally {
    (nodeFs as { statSync: unknown }).statSync = statSync;
    await view.close();
  }
});

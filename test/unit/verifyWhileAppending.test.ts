// `verify` while an agent appends (the extension verifies after every run; a user runs verify
// while an agent works): a live trail must never produce a finding that a quiet one would not.
// The writer signs checkpoints and advances the anchor and pin outside the workspace as it
// goes, as the CLI and the extension do; verification reads them too.
import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { TrailStore } from "../../src/trail/trailStore";
import { TrustStore } from "../../src/trail/trustStore";
import { verifyAtLocation, verifyOpenTrail } from "../../src/trail/verifyAtLocation";
import { startAppender } from "../helpers/childAppender";
import { tempDir } from "../helpers/tempDir";

test("verify racing a writer 50 times (fresh opens, and a view's store that catches up) reports no finding", { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const trustDir = path.join(dir, "config");
  const trailPath = path.join(dir, "ws", ".agent-audit", "trail.db");
  const env = { AAT_TRUST_DIR: trustDir, AAT_SEAL_BYTES: "200000" };
  const writer = startAppender(trailPath, 1_000_000, "live", "serial", 0, env);
  await writer.firstAck;
  const trust = new TrustStore(trustDir);
  const problems: string[] = [];
  // As the extension's Integrity view does: one read-only store, kept open, verified again.
  const { store: view, report: viewOpen } = await TrailStore.open(trailPath, { readOnly: true, allowAlteredSchema: true });
  try {
    for (let round = 0; round < 50; round++) {
      // Each round starts once the writer has moved on since the last one.
      const seen = writer.acks.length;
      while (writer.acks.length === seen) await new Promise((r) => setTimeout(r, 5));
      const located = round % 2 ? await verifyOpenTrail(view, viewOpen, trust) : await verifyAtLocation(trailPath, trust);
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

// Findings an auditor can place: the README's table lists every finding code the verifier can
// print, and an altered blob names the events that use it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { runScenario } from "../helpers/agentHarness";
import { verifyTrail } from "../../src/trail/integrity/verifyTrail";
import { loadSqlEngine } from "../../src/trail/store/sqlEngine";
import { TrailStore } from "../../src/trail/store/trailStore";

const ROOT = path.resolve(__dirname, "..", "..", "..");

test("the README's table of findings lists every finding code the verifier can print, and nothing else", () => {
  const source = fs.readFileSync(path.join(ROOT, "src", "trail", "integrity", "verifyChain.ts"), "utf8");
  // The union's members, one per line: `  | "CODE" // what it means`.
  const codes = [...source.matchAll(/^ {2}\| "([A-Z_]+)"/gm)].map((m) => m[1]).sort();
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("| Finding | Means |"));
  const rows = table.slice(0, table.indexOf("\n\n"));
  const listed = [...rows.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]).sort();
  assert.ok(codes.length >= 15, codes.join(", "));
  assert.deepEqual([...new Set(listed)], codes);
});

test("an altered blob is reported with the seqs of the events that use it", async (t) => {
  const r = await runScenario(t, { turns: [{ content: [{ type: "text", text: "hello" }] }] });
  const file = r.store.path;
  await r.store.close();
  const hash = spawnSync("sqlite3", [file, "SELECT hash FROM blobs WHERE kind = 'system_prompt' LIMIT 1;"], { encoding: "utf8" }).stdout.trim();
  assert.match(hash, /^[0-9a-f]{64}$/);
  const edit = spawnSync("sqlite3", [file], { input: `DROP TRIGGER IF EXISTS blobs_no_update; UPDATE blobs SET body = body || ' (edited)' WHERE hash = '${hash}';`, encoding: "utf8" });
  assert.equal(edit.status, 0, edit.stderr);
  const { store } = await TrailStore.open(file, { readOnly: true, allowAlteredSchema: true });
  const report = verifyTrail(store.database, { sql: await loadSqlEngine() });
  await store.close();
  const blob = report.findings.find((f) => f.category === "BLOB_MISMATCH");
  assert.ok(blob, JSON.stringify(report.findings.map((f) => f.category)));
  assert.ok(blob.seq !== undefined && blob.seq >= 1, `the finding names its events: ${blob.message}`);
  assert.match(blob.message, /used by \d+ events?, seq \d+/);
});

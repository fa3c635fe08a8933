// Getting the CLI: the package `npm run pack:cli` makes installs into an empty prefix with an
// empty HOME and nothing downloaded (--offline), and its `agent-audit` runs: --version, and
// verify on a trail written and signed with the user's key.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { filePinKeeper } from "../../src/trail/trust/pinKeeper";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";
import { tempDir } from "../helpers/tempDir";

const ROOT = path.resolve(__dirname, "..", "..", "..");

test("the packed CLI installs into an empty prefix offline, and its agent-audit runs --version and verify", { timeout: 180_000 }, async (t) => {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")));
  const packs = tempDir(t, "aat-pack-");
  const tgz = execFileSync(process.execPath, [path.join(ROOT, "scripts", "packCli.mjs"), packs], { env: cleanEnv, encoding: "utf8" }).trim();
  assert.ok(fs.existsSync(tgz), tgz);
  const prefix = tempDir(t, "aat-prefix-");
  const home = tempDir(t, "aat-home-");
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: home };
  const installed = spawnSync("npm", ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", tgz], { env, encoding: "utf8" });
  assert.equal(installed.status, 0, installed.stdout + installed.stderr);
  const bin = path.join(prefix, "bin", "agent-audit");
  const version = spawnSync(bin, ["--version"], { env, encoding: "utf8" });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), `agent-audit ${JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version}`);

  const config = path.join(home, ".config", "agent-audit");
  const ws = tempDir(t, "aat-pack-ws-");
  const trust = new TrustStore(config);
  const { store } = await TrailStore.open(path.join(ws, ".agent-audit", "trail.db"), { signer: trust.signer(), anchorDir: trust.anchorsDir, pins: filePinKeeper(trust.pins) });
  await store.append({ session_id: "s", event_type: "session_start", content: { task: "packed" } });
  await store.append({ session_id: "s", event_type: "session_end", content: { final_text: "done" } });
  await store.close();
  const verify = spawnSync(bin, ["verify", "--workspace", ws], { env: { ...env, AGENT_AUDIT_CONFIG_DIR: config }, encoding: "utf8" });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /valid and authenticated/i);
});

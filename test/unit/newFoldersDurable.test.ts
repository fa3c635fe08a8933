// Power loss on a new folder: a brand-new trail's folders (.agent-audit/, the trust store, its
// pins/ and anchors/, the key's folder) are fsync'd into their parents, as strace shows, before
// the first event is acknowledged; without that, on a file system with strict POSIX semantics,
// acknowledged events can vanish with the folder that holds them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tempDir";

test("every folder a new trail and trust store create is fsync'd into its parent before the first event is acknowledged", { timeout: 60_000 }, (t) => {
  const dir = tempDir(t);
  const ws = path.join(dir, "ws");
  fs.mkdirSync(ws);
  const config = path.join(dir, "config");
  const script = path.join(dir, "first.js");
  const out = path.resolve(__dirname, "..", "..");
  fs.writeFileSync(
    script,
    `const { TrailStore } = require(${JSON.stringify(path.join(out, "src/trail/store/trailStore.js"))});
const { TrustStore } = require(${JSON.stringify(path.join(out, "src/trail/trust/trustStore.js"))});
const { filePinKeeper } = require(${JSON.stringify(path.join(out, "src/trail/trust/pinKeeper.js"))});
(async () => {
  const trust = new TrustStore(${JSON.stringify(config)});
  const { store } = await TrailStore.open(${JSON.stringify(path.join(ws, ".agent-audit", "trail.db"))}, { signer: trust.signer(), anchorDir: trust.anchorsDir, pins: filePinKeeper(trust.pins) });
  await store.append({ session_id: "s", event_type: "session_start", content: { task: "first" } });
  process.stdout.write("ACKED\\n");
  await store.append({ session_id: "s", event_type: "session_end", content: {} });
  await store.close();
})();`,
  );
  const log = path.join(dir, "strace.log");
  const r = spawnSync("strace", ["-f", "-qq", "-o", log, "-e", "trace=mkdir,mkdirat,openat,fsync,fdatasync,write", process.execPath, script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const lines = fs.readFileSync(log, "utf8").split("\n");
  const acked = lines.findIndex((l) => /write\(1, "ACKED/.test(l));
  assert.ok(acked > 0, "the first append was acknowledged");
  // Folders made, then: an fd opened on each one's parent and fsync'd after the mkdir.
  const made = lines.flatMap((l, i) => {
    const m = /mkdir(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*\)\s+= 0$/.exec(l);
    return m ? [{ dir: m[1], at: i }] : [];
  });
  const wanted = [path.join(ws, ".agent-audit"), config, path.join(config, "pins"), path.join(config, "anchors")];
  for (const w of wanted) assert.ok(made.some((m) => m.dir === w), `${w} was created (made: ${made.map((m) => m.dir).join(", ")})`);
  const unsynced: string[] = [];
  for (const m of made) {
    const parent = path.dirname(m.dir);
    const synced = lines.some((l, i) => {
      if (i <= m.at) return false;
      const open = /openat\(AT_FDCWD, "([^"]+)", [^)]*\)\s+= (\d+)$/.exec(l.replace(/^\d+ +/, ""));
      if (!open || open[1] !== parent) return false;
      const pid = l.split(/ +/)[0];
      return lines.slice(i + 1).some((k) => k.startsWith(`${pid} `) && new RegExp(`f(?:data)?sync\\(${open[2]}\\)\\s+= 0`).test(k));
    });
    const syncedBeforeAck = synced && lines.slice(m.at, m.at < acked ? acked : lines.length).some((l) => l.includes(`"${parent}"`));
    if (!synced || (m.at < acked && !syncedBeforeAck)) unsynced.push(m.dir);
  }
  assert.deepEqual(unsynced, [], "folders whose creation was not made durable");
  t.diagnostic(`folders created: ${made.length}, fsync'd into their parents: ${made.length - unsynced.length}`);
});

// `npm run pack:cli`: the command line as an npm package of its own, with no dependencies —
// dist/cli.js is a bundle needing only Node's built-in modules, beside its workers, the SQLite
// engine (WASM) and the OTLP .proto files. `npm install -g ./agent-audit-cli-<version>.tgz`
// then gives a working `agent-audit` on a machine with nothing else, and downloads nothing.
// (The extension's package.json lists the libraries the bundles were built from; installing
// it as a CLI would fetch ~480 packages that nothing runs.)
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const stage = path.join(root, ".pack", "cli");
const dist = path.join(root, "dist");
const files = ["cli.js", "sealWorker.js", "verifyWorker.js", "verify-bundle.js", "sql-wasm.wasm"];
for (const f of files) {
  if (!fs.existsSync(path.join(dist, f))) throw new Error(`dist/${f} is missing: run "npm run build" first`);
}
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(path.join(stage, "dist"), { recursive: true });
for (const f of files) fs.copyFileSync(path.join(dist, f), path.join(stage, "dist", f));
fs.cpSync(path.join(dist, "otlp-protos"), path.join(stage, "dist", "otlp-protos"), { recursive: true });
for (const f of ["README.md", "LICENSE"]) fs.copyFileSync(path.join(root, f), path.join(stage, f));
const cli = {
  name: "agent-audit-cli",
  version: pkg.version,
  description: "The agent-audit command line of Agent Audit Trail: run agents with a tamper-evident audit trail, inspect and verify it, check evidence bundles.",
  license: pkg.license,
  bin: { "agent-audit": "dist/cli.js" },
  engines: { node: ">=20" },
  files: ["dist", "README.md", "LICENSE"],
};
fs.writeFileSync(path.join(stage, "package.json"), JSON.stringify(cli, null, 2) + "\n");
// A clean environment: run from inside npm, npm_config_* of the outer run would steer this one.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")));
// Where the .tgz goes: the first argument, else the repository's root.
const dest = path.resolve(process.argv[2] ?? root);
const out = execFileSync("npm", ["pack", "--pack-destination", dest, "--silent"], { cwd: stage, env, encoding: "utf8" }).trim().split("\n").at(-1);
process.stdout.write(`${path.join(dest, out)}\n`);

// Builds what ships: the CLI (dist/cli.js) and, once it exists, the extension host bundle
// (dist/extension.js, CommonJS, `vscode` external), plus the sql.js WASM file next to them
// (loaded from disk by src/trail/sqlEngine.ts, never fetched). `--watch` rebuilds on change.
import * as esbuild from "esbuild";
import * as fs from "node:fs";

const watch = process.argv.includes("--watch");
const common = {
  bundle: true,
  platform: "node",
  target: "node18",
  format: "cjs",
  sourcemap: true,
  logLevel: "warning",
  // @secretlint ships ES modules only; bundling turns them into CommonJS.
  mainFields: ["module", "main"],
};

const builds = [
  { ...common, entryPoints: ["src/cli/cli.ts"], outfile: "dist/cli.js", banner: { js: "#!/usr/bin/env node" } },
];
if (fs.existsSync("src/extension/extension.ts")) {
  builds.push({ ...common, entryPoints: ["src/extension/extension.ts"], outfile: "dist/extension.js", external: ["vscode"] });
}

fs.mkdirSync("dist", { recursive: true });
fs.copyFileSync("node_modules/sql.js/dist/sql-wasm.wasm", "dist/sql-wasm.wasm");

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync("dist/cli.js", 0o755);
}

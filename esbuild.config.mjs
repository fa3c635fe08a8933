// Builds what ships: the CLI (dist/cli.js), the extension host bundle (dist/extension.js,
// CommonJS, `vscode` external), the webview bundle (dist/webview/), and the sql.js WASM file
// (loaded from disk by src/trail/store/sqlEngine.ts, never fetched). `--watch` rebuilds on change.
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
  // The standalone evidence verifier copied into every bundle: Node's crypto only, no source
  // map and not minified, so an auditor can read the one file that decides.
  {
    ...common,
    entryPoints: ["src/trail/evidence/verifyBundleEntry.ts"],
    outfile: "dist/verify-bundle.js",
    sourcemap: false,
    banner: { js: "#!/usr/bin/env node\n// Agent Audit Trail evidence verifier: node verify-bundle.js [bundle folder] --key VKEY [--anchor FILE]. Uses Node's built-in crypto only." },
  },
];
builds.push(
  { ...common, entryPoints: ["src/extension/extension.ts"], outfile: "dist/extension.js", external: ["vscode"] },
  // Verification in a worker thread: it reads every sealed segment (src/trail/integrity/verifyOffThread.ts).
  { ...common, entryPoints: ["src/trail/integrity/verifyWorker.ts"], outfile: "dist/verifyWorker.js" },
  // A seal's file write, hash and catalog in a worker thread (src/trail/store/sealJob.ts).
  { ...common, entryPoints: ["src/trail/store/sealWorker.ts"], outfile: "dist/sealWorker.js" },
  // The webview runs in a browser sandbox: its own bundle, no Node.
  { entryPoints: ["src/webview/stepDetails.ts"], outfile: "dist/webview/stepDetails.js", bundle: true, platform: "browser", format: "iife", target: "es2022", sourcemap: true, logLevel: "warning" },
);

fs.mkdirSync("dist/webview", { recursive: true });
// The official OTLP proto definitions, read at run time to decode what the receiver is sent.
fs.cpSync("node_modules/@opentelemetry/otlp-grpc-exporter-base/build/protos", "dist/otlp-protos", { recursive: true });
fs.copyFileSync("node_modules/sql.js/dist/sql-wasm.wasm", "dist/sql-wasm.wasm");
// Everything the webview may load lives in dist/webview (its only local resource root).
fs.copyFileSync("media/stepDetails.css", "dist/webview/stepDetails.css");
fs.copyFileSync("node_modules/@vscode/codicons/dist/codicon.css", "dist/webview/codicon.css");
fs.copyFileSync("node_modules/@vscode/codicons/dist/codicon.ttf", "dist/webview/codicon.ttf");

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync("dist/cli.js", 0o755);
}

import * as fs from "node:fs";
import * as path from "node:path";
import initSqlJs from "sql.js";
import type { SqlJsStatic } from "sql.js";

let engine: Promise<SqlJsStatic> | undefined;

/**
 * Where sql-wasm.wasm lives: next to the bundle (dist/, copied by the build) when running
 * bundled, else in node_modules when running from compiled sources (tests, bench).
 * The file is always read from disk; nothing is fetched.
 */
export function sqlWasmPath(): string {
  const beside = path.join(__dirname, "sql-wasm.wasm");
  if (fs.existsSync(beside)) return beside;
  try {
    // Built at run time so the bundler leaves it alone (the bundle uses the copy beside it).
    return require.resolve(["sql.js", "dist", "sql-wasm.wasm"].join("/"));
  } catch {
    throw new Error(`The SQLite engine (sql-wasm.wasm) is missing from ${__dirname}; reinstall Agent Audit Trail`);
  }
}

/** The sql.js engine, loaded once per process. */
export function loadSqlEngine(): Promise<SqlJsStatic> {
  engine ??= (async () => {
    const wasmFile = sqlWasmPath();
    let wasmBinary: ArrayBuffer;
    try {
      const bytes = fs.readFileSync(wasmFile);
      wasmBinary = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    } catch (err) {
      throw new Error(`Cannot load SQLite engine: ${wasmFile} is missing or unreadable (${String(err)}); reinstall the extension`);
    }
    return initSqlJs({ wasmBinary });
  })();
  return engine;
}

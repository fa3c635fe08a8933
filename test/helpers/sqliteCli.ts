import { spawnSync } from "node:child_process";

/** Runs SQL through Debian's `sqlite3` CLI, the way a user without our code would. */
export function sqlite3(dbFile: string, sql: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("sqlite3", ["-batch", dbFile], { input: sql, encoding: "utf8" });
  if (r.error) throw new Error(`sqlite3 CLI not available (apt-get install sqlite3): ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

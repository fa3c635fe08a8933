import type { Database, SqlJsStatic } from "sql.js";
import { SCHEMA_SQL } from "./schema";

/**
 * The trail's SQL comes from the file: its views (`sessions`), generated columns (`tool_name`,
 * `outcome`…), triggers and indexes are whatever the file says. An edited view can hide a
 * session and still "verify", so the schema itself is checked: every object in sqlite_master
 * must be exactly (whitespace aside) what this version's schema creates, and nothing more.
 * Readers refuse to query a file that fails this; verify reports it object by object.
 */
export interface SchemaDifference {
  type: string;
  name: string;
  problem: "altered" | "missing" | "unexpected";
}

const references = new WeakMap<SqlJsStatic, Map<string, { type: string; sql: string }>>();

function objectsOf(db: Database): Map<string, { type: string; sql: string }> {
  const rows = db.exec("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")[0]?.values ?? [];
  return new Map(rows.map(([type, name, sql]) => [String(name), { type: String(type), sql: String(sql ?? "").replace(/\s+/g, " ").trim() }]));
}

/** How `db`'s schema differs from the one this version creates; empty when it is intact. */
export function schemaDifferences(db: Database, sql: SqlJsStatic): SchemaDifference[] {
  let ref = references.get(sql);
  if (!ref) {
    const fresh = new sql.Database();
    fresh.exec(SCHEMA_SQL);
    ref = objectsOf(fresh);
    fresh.close();
    references.set(sql, ref);
  }
  const actual = objectsOf(db);
  const out: SchemaDifference[] = [];
  for (const [name, want] of ref) {
    const got = actual.get(name);
    if (!got) out.push({ type: want.type, name, problem: "missing" });
    else if (got.type !== want.type || got.sql !== want.sql) out.push({ type: want.type, name, problem: "altered" });
  }
  for (const [name, got] of actual) if (!ref.has(name)) out.push({ type: got.type, name, problem: "unexpected" });
  return out;
}

/** "view sessions (altered), trigger x (missing)". */
export function describeDifferences(diffs: SchemaDifference[]): string {
  return diffs.map((d) => `${d.type} ${d.name} (${d.problem})`).join(", ");
}

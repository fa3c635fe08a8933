import type { Database, SqlJsStatic } from "sql.js";
import { schemaDifferences } from "../store/schemaCheck";
import type { Finding } from "./verifyChain";

/** The schema stage, for one segment: the append-only triggers, views and columns as this version defines them, and SQLite's own structural check. */
export function checkStructure(db: Database, sql: SqlJsStatic, label: string, add: (f: Finding) => void): void {
  const schema = schemaDifferences(db, sql);
  const triggers = schema.filter((d) => d.type === "trigger");
  if (triggers.length) {
    add({ category: "TRIGGERS_MISSING", severity: "error", message: `${label}append-only triggers dropped or altered: ${triggers.map((d) => d.name).join(", ")}` });
  }
  for (const d of schema.filter((x) => x.type !== "trigger")) {
    add({ category: "SCHEMA_ALTERED", severity: "error", message: `${label}${d.type} ${d.name} is ${d.problem === "altered" ? "not as this version's schema defines it" : d.problem === "missing" ? "missing" : "not part of the schema"}: queries through it could show something other than the events` });
  }
  const quick = db.exec("PRAGMA quick_check")[0]?.values.map((r) => String(r[0])) ?? [];
  if (quick.length !== 1 || quick[0] !== "ok") {
    add({ category: "CORRUPT", severity: "error", message: `${label}SQLite reports damage: ${quick.slice(0, 3).join("; ")}` });
  }
}

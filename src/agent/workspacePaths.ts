import * as fs from "node:fs";
import * as path from "node:path";
import { ToolError } from "./toolError";

/**
 * Resolves a path the model gave against the workspace root and refuses anything that
 * ends up outside it: `..`, absolute paths elsewhere, and symlinks (anywhere along the
 * path) that point out. Returns the real absolute path and the path relative to the root.
 */
export function resolveInWorkspace(root: string, requested: string): { abs: string; rel: string } {
  if (typeof requested !== "string" || requested.length === 0) {
    throw new ToolError("invalid_input", "path must be a non-empty string");
  }
  if (requested.includes("\0")) throw new ToolError("invalid_input", "path contains a NUL byte");
  const realRoot = fs.realpathSync(root);
  const lexical = path.resolve(realRoot, requested);
  if (!isInside(realRoot, lexical)) {
    throw new ToolError("permission", `${requested} is outside the workspace`, { path: requested, workspace: realRoot });
  }
  // Follow symlinks on the longest part of the path that exists: a link inside the
  // workspace may point anywhere.
  let existing = lexical;
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    rest.unshift(path.basename(existing));
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  let real: string;
  try {
    real = path.join(fs.realpathSync(existing), ...rest);
  } catch {
    real = lexical;
  }
  if (!isInside(realRoot, real)) {
    throw new ToolError("permission", `${requested} leads outside the workspace through a symbolic link`, {
      path: requested,
      resolved: real,
    });
  }
  const rel = path.relative(realRoot, real) || ".";
  if (rel.split(path.sep)[0] === TRAIL_FOLDER) {
    // The agent must not be able to read or rewrite its own audit trail through file tools.
    throw new ToolError("permission", `${requested} is inside the audit trail folder (${TRAIL_FOLDER}/), which tools may not touch`, {
      path: requested,
    });
  }
  return { abs: real, rel };
}

/** The workspace folder that holds the trail; off-limits to tools. */
export const TRAIL_FOLDER = ".agent-audit";

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

import * as fs from "node:fs";
import * as path from "node:path";
import { isTrailFolder } from "../workspacePaths";

/** Folders no tool descends into: version control, dependencies, and our own trail. */
const SKIPPED = new Set([".git", "node_modules", ".agent-audit", ".hg", ".svn"]);

/**
 * Files under `root` as workspace-relative paths with forward slashes, in a stable order.
 * Symbolic links are not followed (they could lead outside the workspace).
 */
export function* walkFiles(root: string, signal?: AbortSignal, limit = 50_000): Generator<string> {
  const stack: string[] = [""];
  let count = 0;
  while (stack.length) {
    if (signal?.aborted) return;
    const rel = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? 1 : -1)); // reversed: the stack pops them in order
    const dirs: string[] = [];
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIPPED.has(e.name) && !(rel === "" && isTrailFolder(e.name))) dirs.push(child);
      } else if (e.isFile()) {
        if (++count > limit) return;
        yield child;
      }
    }
    stack.push(...dirs);
  }
}

import * as fs from "node:fs";
import * as path from "node:path";
import { ToolError } from "./toolError";

/**
 * Resolves a path the model gave against the workspace root and refuses anything that
 * ends up outside it: `..`, absolute paths elsewhere, and symbolic links anywhere along the
 * path that point out or point nowhere. Every existing component is checked with `lstat`
 * (not `existsSync`, which follows links: a dangling link `notes.txt -> ~/.ssh/x` looked like
 * a new file inside and was written through). Returns the real absolute path and the path
 * relative to the root.
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
  const parts = path.relative(realRoot, lexical).split(path.sep).filter(Boolean);
  let real = realRoot;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(real, parts[i]);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(next);
    } catch {
      // From here on nothing exists: the rest is created as plain folders and a plain file.
      real = path.join(next, ...parts.slice(i + 1));
      break;
    }
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = fs.realpathSync(next);
      } catch {
        throw new ToolError("permission", `${requested} goes through a symbolic link whose target does not exist (${parts.slice(0, i + 1).join("/")} -> ${readLink(next)}); links are followed only to existing places inside the workspace`, {
          path: requested,
          link: parts.slice(0, i + 1).join("/"),
        });
      }
      if (!isInside(realRoot, target)) {
        throw new ToolError("permission", `${requested} leads outside the workspace through a symbolic link`, { path: requested, resolved: target });
      }
      real = target;
    } else {
      real = next;
    }
  }
  const rel = path.relative(realRoot, real) || ".";
  if (isTrailFolder(rel)) {
    // The agent must not be able to read or rewrite its own audit trail through file tools.
    throw new ToolError("permission", `${requested} is inside the audit trail folder (${TRAIL_FOLDER}/), which tools may not touch`, {
      path: requested,
    });
  }
  return { abs: real, rel };
}

/** The workspace folder that holds the trail; off-limits to tools. */
export const TRAIL_FOLDER = ".agent-audit";

/**
 * True when a workspace-relative path is in the trail folder. Compared without regard to case
 * or Unicode normalization, as case-insensitive file systems (macOS, Windows) do: there
 * `.AGENT-AUDIT/trail.db` is the trail. On a case-sensitive system this refuses a few more
 * names than it must, which is the safe side.
 */
export function isTrailFolder(rel: string): boolean {
  const first = rel.split(/[\\/]/)[0];
  return fold(first) === fold(TRAIL_FOLDER);
}

/** Where the agents we record read their hooks (workspace-relative); changed only by the user. */
const HOOK_CONFIGURATIONS = [".claude/settings.json", ".claude/settings.local.json", ".gemini/settings.json", ".cursor/hooks.json", ".codex/hooks.json"];

/** True for a workspace-relative path of a hook configuration (or under .github/hooks/), compared as isTrailFolder does. */
export function isHookConfiguration(rel: string): boolean {
  const parts = rel.split(/[\\/]/).map(fold);
  const joined = parts.join("/");
  return HOOK_CONFIGURATIONS.includes(joined) || (parts[0] === ".github" && parts[1] === "hooks");
}

function fold(s: string): string {
  // Trailing dots and spaces are dropped by Windows ("name." is "name").
  return s.normalize("NFC").toLowerCase().replace(/[. ]+$/, "");
}

function readLink(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return "?";
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

// O_NOFOLLOW makes open fail (ELOOP) when the last component became a link after the check.
// Windows has no such flag; there the lstat checks above and after the open stand alone.
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/**
 * Writes `content` to a file that `resolveInWorkspace` returned, without following a link that
 * appears between the check and the write, and refuses files with other hard links (one of
 * them may be outside the workspace). `mustExist` is for edits. Returns whether the file existed.
 */
export function writeInWorkspace(root: string, resolved: { abs: string; rel: string }, content: string | ((old: string) => string), mustExist = false): { existed: boolean } {
  const { abs, rel } = resolved;
  if (isHookConfiguration(rel)) {
    // An agent that rewrites these switches off the recording of itself or of another agent.
    throw new ToolError("permission", `${rel} is a hook configuration that records an agent's actions; tools may not change it`, { path: rel });
  }
  if (!mustExist) fs.mkdirSync(path.dirname(abs), { recursive: true });
  let fd: number;
  let existed = true;
  try {
    fd = fs.openSync(abs, fs.constants.O_RDWR | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw linkAppeared(rel);
    if (code !== "ENOENT" || mustExist) throw err;
    existed = false;
    try {
      fd = fs.openSync(abs, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o666);
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === "ELOOP" || (err2 as NodeJS.ErrnoException).code === "EEXIST") throw linkAppeared(rel);
      throw err2;
    }
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new ToolError("invalid_input", `${rel} is not a regular file`, { path: rel });
    if (st.nlink > 1) {
      throw new ToolError("permission", `${rel} has ${st.nlink} hard links; one of them may be outside the workspace, so the agent does not write it`, { path: rel, links: st.nlink });
    }
    // What was opened must still be the file at that place inside the workspace: a folder on
    // the way may have been swapped for a link since the check.
    const parentReal = fs.realpathSync(path.dirname(abs));
    const now = fs.lstatSync(path.join(parentReal, path.basename(abs)));
    if (!isInside(fs.realpathSync(root), parentReal) || now.ino !== st.ino || now.dev !== st.dev) {
      if (!existed) fs.rmSync(path.join(parentReal, path.basename(abs)), { force: true });
      throw linkAppeared(rel);
    }
    const text = typeof content === "function" ? content(fs.readFileSync(fd, "utf8")) : content;
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, text, 0, "utf8");
    return { existed };
  } finally {
    fs.closeSync(fd);
  }
}

function linkAppeared(rel: string): ToolError {
  return new ToolError("permission", `${rel} changed into a symbolic link (or moved) while it was being written; nothing was written`, { path: rel });
}

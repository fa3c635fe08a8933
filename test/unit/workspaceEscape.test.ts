// The agent's file tools against a hostile workspace: every way a cloned repository (or the
// model) could make a write land outside the workspace, or reach the audit trail. Each attack
// counts its tries and escapes; an escape is a file outside the workspace that changed.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { ToolError } from "../../src/agent/toolError";
import { editFileTool, listDirectoryTool, readFileTool, searchTextTool, writeFileTool } from "../../src/agent/tools/fileTools";
import type { ToolContext } from "../../src/agent/tools/toolDefinition";
import { isTrailFolder, resolveInWorkspace, writeInWorkspace } from "../../src/agent/workspacePaths";
import { tempDir } from "../helpers/tempDir";

function setup(t: Parameters<typeof tempDir>[0]) {
  const base = tempDir(t, "aat-escape-");
  const ws = path.join(base, "ws");
  const outside = path.join(base, "outside");
  fs.mkdirSync(path.join(ws, "src"), { recursive: true });
  fs.mkdirSync(path.join(ws, ".agent-audit"));
  fs.writeFileSync(path.join(ws, ".agent-audit", "trail.db"), "TRAIL");
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "secret.txt"), "ORIGINAL");
  const ctx: ToolContext = { root: ws, signal: new AbortController().signal, maxOutputBytes: 65536 };
  return { ws, outside, ctx };
}

/** Everything under `dir`, with contents: what must not change. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)}=${e.isFile() ? fs.readFileSync(p, "utf8") : "<link>"}`);
    }
  };
  walk(dir);
  return out.join("\n");
}

async function refused(run: () => Promise<unknown> | unknown): Promise<ToolError> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof ToolError, `expected a ToolError, got ${String(err)}`);
    return err;
  }
  assert.fail("the tool ran");
}

const posix = process.platform !== "win32";

test("symbolic links cannot carry a write outside the workspace: dangling, intermediate, swapped during the write, and hard links", { skip: !posix && "symlinks need privileges on Windows" }, async (t) => {
  const { ws, outside, ctx } = setup(t);
  const before = snapshot(outside);
  let tries = 0;
  const attempt = async (what: string, run: () => Promise<unknown> | unknown, type = "permission") => {
    tries++;
    const err = await refused(run);
    assert.equal(err.type, type, `${what}: ${err.message}`);
    assert.equal(snapshot(outside), before, `${what}: something outside the workspace changed`);
  };

  // A link to a file outside that does not exist yet: existsSync said "new file inside".
  fs.symlinkSync(path.join(outside, "authorized_keys"), path.join(ws, "notes.txt"));
  await attempt("dangling link, write_file", () => writeFileTool.run({ path: "notes.txt", content: "ssh-ed25519 AAAA attacker" }, ctx));
  assert.equal(fs.existsSync(path.join(outside, "authorized_keys")), false);
  // A dangling link to a place *inside* (relative) is still refused: its target is not there.
  fs.symlinkSync("does/not/exist.txt", path.join(ws, "later.txt"));
  await attempt("dangling link inside, write_file", () => writeFileTool.run({ path: "later.txt", content: "x" }, ctx));

  // A link to an existing file outside.
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(ws, "secret-link.txt"));
  await attempt("link to an outside file, write_file", () => writeFileTool.run({ path: "secret-link.txt", content: "PWNED" }, ctx));
  await attempt("link to an outside file, edit_file", () => editFileTool.run({ path: "secret-link.txt", old_text: "ORIGINAL", new_text: "PWNED" }, ctx));
  await attempt("link to an outside file, read_file", () => readFileTool.run({ path: "secret-link.txt" }, ctx));

  // A link in an intermediate folder, pointing out; and one pointing at a folder that is missing.
  fs.symlinkSync(outside, path.join(ws, "vendor"));
  await attempt("intermediate link to an outside folder", () => writeFileTool.run({ path: "vendor/new.txt", content: "x" }, ctx));
  await attempt("intermediate link, deeper new path", () => writeFileTool.run({ path: "vendor/a/b/c.txt", content: "x" }, ctx));
  fs.symlinkSync(path.join(outside, "not-yet"), path.join(ws, "build"));
  await attempt("intermediate dangling link", () => writeFileTool.run({ path: "build/out.js", content: "x" }, ctx));
  assert.equal(fs.existsSync(path.join(outside, "not-yet")), false);
  await attempt("listing through a link", () => listDirectoryTool.run({ path: "vendor" }, ctx));

  // The check passes, then the file is swapped for a link before the write (a race).
  fs.writeFileSync(path.join(ws, "race.txt"), "inside");
  const checked = resolveInWorkspace(ws, "race.txt");
  fs.rmSync(path.join(ws, "race.txt"));
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(ws, "race.txt"));
  await attempt("final link swapped in after the check", () => writeInWorkspace(ws, checked, "PWNED"));
  // ... and a folder on the way swapped for a link after the check.
  fs.mkdirSync(path.join(ws, "gen"));
  const checkedDeep = resolveInWorkspace(ws, "gen/file.txt");
  fs.rmSync(path.join(ws, "gen"), { recursive: true });
  fs.symlinkSync(outside, path.join(ws, "gen"));
  await attempt("intermediate folder swapped for a link after the check", () => writeInWorkspace(ws, checkedDeep, "PWNED"));
  assert.equal(fs.existsSync(path.join(outside, "file.txt")), false, "no file was left outside");

  // A hard link to a file outside: same inode, so a write would change the outside file.
  fs.linkSync(path.join(outside, "secret.txt"), path.join(ws, "hard.txt"));
  await attempt("hard link, write_file", () => writeFileTool.run({ path: "hard.txt", content: "PWNED" }, ctx));
  await attempt("hard link, edit_file", () => editFileTool.run({ path: "hard.txt", old_text: "ORIGINAL", new_text: "PWNED" }, ctx));

  // Links that stay inside keep working.
  fs.writeFileSync(path.join(ws, "src", "real.txt"), "real");
  fs.symlinkSync(path.join(ws, "src"), path.join(ws, "src-link"));
  assert.match(String(await writeFileTool.run({ path: "src-link/real.txt", content: "changed" }, ctx)), /Replaced src\/real\.txt/);
  assert.equal(fs.readFileSync(path.join(ws, "src", "real.txt"), "utf8"), "changed");
  assert.match(String(await writeFileTool.run({ path: "src/new/deep.txt", content: "new" }, ctx)), /Created src\/new\/deep\.txt/);
  t.diagnostic(`symlink and hard-link attacks tried: ${tries}, escapes: 0`);
});

test("the trail folder is off-limits under any spelling a case-insensitive file system accepts", async (t) => {
  const { ws, ctx } = setup(t);
  const spellings = [".agent-audit/trail.db", ".AGENT-AUDIT/trail.db", ".Agent-Audit/trail.db", "./.agent-audit/../.agent-audit/trail.db", ".agent-audit./trail.db", "src/../.AGENT-audit/trail.db"];
  for (const p of spellings) {
    const err = await refused(() => writeFileTool.run({ path: p, content: "FORGED" }, ctx));
    assert.equal(err.type, "permission", p);
    assert.match(err.message, /audit trail folder/, p);
  }
  assert.equal(fs.readFileSync(path.join(ws, ".agent-audit", "trail.db"), "utf8"), "TRAIL");
  assert.equal(isTrailFolder("src/.agent-audit"), false, "only the workspace's own trail folder");
  assert.equal(isTrailFolder(".agent-audit-notes"), false);
  if (posix) {
    fs.symlinkSync(path.join(ws, ".agent-audit"), path.join(ws, "logs"));
    assert.equal((await refused(() => readFileTool.run({ path: "logs/trail.db" }, ctx))).type, "permission", "a link into the trail folder");
  }
  // Search and listing do not show it either.
  fs.writeFileSync(path.join(ws, ".agent-audit", "notes.txt"), "needle");
  assert.match(String(await searchTextTool.run({ query: "needle" }, ctx)), /No matches/);
  t.diagnostic(`trail-folder spellings tried: ${spellings.length + (posix ? 1 : 0)}, escapes: 0`);
});

test("search_text: a catastrophic pattern from the model runs in linear time; unsupported syntax is a clear invalid_input", async (t) => {
  const { ws, ctx } = setup(t);
  fs.writeFileSync(path.join(ws, "src", "long.txt"), `${"a".repeat(50_000)}b\n`.repeat(4));
  const patterns = ["(a+)+$", "(a|aa)+$", "(a*)*c", "^(([a-z])+.)+[A-Z]([a-z])+$", "(x+x+)+y"];
  for (const query of patterns) {
    // With a backtracking engine the first of these alone takes longer than the universe's age;
    // here it returns. (No timing is asserted: that it returns at all is the point.)
    const out = String(await searchTextTool.run({ query, regex: true }, ctx));
    assert.match(out, /No matches|src\/long\.txt/, query);
  }
  const err = await refused(() => searchTextTool.run({ query: "(a)\\1", regex: true }, ctx));
  assert.equal(err.type, "invalid_input");
  assert.match(err.message, /RE2 syntax/);
  assert.match(String(await searchTextTool.run({ query: "gr[e]+t", regex: true }, { ...ctx, root: ws })), /No matches|:/);
  t.diagnostic(`catastrophic patterns tried: ${patterns.length}, hangs: 0`);
});

import * as fs from "node:fs";
import { RE2JS } from "re2js";
import * as path from "node:path";
import { toolErrorFromFs, ToolError } from "../toolError";
import { isTrailFolder, resolveInWorkspace, writeInWorkspace } from "../workspacePaths";
import { globToRegExp } from "./glob";
import type { ToolDefinition } from "./toolDefinition";
import { HARD_OUTPUT_CEILING } from "./toolDefinition";
import { walkFiles } from "./walkWorkspace";

const MAX_MATCHES = 200;
const MAX_SEARCH_FILE_BYTES = 2 * 1024 * 1024;
/** A search that takes longer than this ends with a `timeout` error rather than running on. */
export const SEARCH_TIME_LIMIT_MS = 20_000;

export const readFileTool: ToolDefinition<{ path: string; start_line?: number; end_line?: number }> = {
  name: "read_file",
  description: "Read a text file in the workspace. Optionally only lines start_line..end_line (1-based, inclusive).",
  kind: "read",
  input_schema: {
    type: "object",
    properties: {
      path: { type: "string", description: "File path, relative to the workspace root" },
      start_line: { type: "integer", minimum: 1, description: "First line to return (1-based)" },
      end_line: { type: "integer", minimum: 1, description: "Last line to return (inclusive)" },
    },
    required: ["path"],
    additionalProperties: false,
  },
  async run(input, ctx) {
    const { abs, rel } = resolveInWorkspace(ctx.root, input.path);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(abs);
    } catch (err) {
      throw toolErrorFromFs(err, rel);
    }
    if (stat.isDirectory()) throw new ToolError("invalid_input", `${rel} is a directory; use list_directory`, { path: rel });
    if (stat.size > HARD_OUTPUT_CEILING && input.start_line === undefined) {
      throw new ToolError("output_limit", `${rel} is ${stat.size} bytes; read it in parts with start_line and end_line`, {
        path: rel,
        size: stat.size,
      });
    }
    let text: string;
    try {
      text = fs.readFileSync(abs, "utf8");
    } catch (err) {
      throw toolErrorFromFs(err, rel);
    }
    if (input.start_line === undefined && input.end_line === undefined) return text;
    const lines = text.split("\n");
    const start = input.start_line ?? 1;
    const end = Math.min(input.end_line ?? lines.length, lines.length);
    if (start > lines.length) {
      throw new ToolError("invalid_input", `${rel} has ${lines.length} lines; start_line ${start} is past the end`, { path: rel, lines: lines.length });
    }
    if (end < start) throw new ToolError("invalid_input", `end_line ${end} is before start_line ${start}`);
    return lines.slice(start - 1, end).join("\n");
  },
  summarize: (input) => `read ${input.path}${input.start_line ? ` lines ${input.start_line}–${input.end_line ?? "end"}` : ""}`,
};

export const listDirectoryTool: ToolDefinition<{ path: string }> = {
  name: "list_directory",
  description: "List the entries of a folder in the workspace (folders end with /).",
  kind: "read",
  input_schema: {
    type: "object",
    properties: { path: { type: "string", description: "Folder path, relative to the workspace root ('.' for the root)" } },
    required: ["path"],
    additionalProperties: false,
  },
  async run(input, ctx) {
    const { abs, rel } = resolveInWorkspace(ctx.root, input.path);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (err) {
      throw toolErrorFromFs(err, rel);
    }
    const names = entries
      .filter((e) => !(rel === "." && isTrailFolder(e.name)))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
      .sort();
    return names.length ? names.join("\n") : `(${rel} is empty)`;
  },
  summarize: (input) => `list ${input.path}`,
};

export const findFilesTool: ToolDefinition<{ pattern: string }> = {
  name: "find_files",
  description: "Find files in the workspace whose path matches a glob pattern, e.g. **/*.ts or src/*.json.",
  kind: "read",
  input_schema: {
    type: "object",
    properties: { pattern: { type: "string", description: "Glob pattern relative to the workspace root" } },
    required: ["pattern"],
    additionalProperties: false,
  },
  async run(input, ctx) {
    if (input.pattern.startsWith("/") || input.pattern.split("/").includes("..")) {
      throw new ToolError("permission", `pattern ${input.pattern} reaches outside the workspace`, { pattern: input.pattern });
    }
    const re = globToRegExp(input.pattern);
    const found: string[] = [];
    for (const file of walkFiles(ctx.root, ctx.signal)) {
      if (re.test(file)) found.push(file);
      if (found.length >= 1000) break;
    }
    return found.length ? found.join("\n") : `No files match ${input.pattern}`;
  },
  summarize: (input) => `find files matching ${input.pattern}`,
};

export const searchTextTool: ToolDefinition<{ query: string; glob?: string; regex?: boolean }> = {
  name: "search_text",
  description: "Search the workspace's text files for a string (or a regular expression when regex is true). Returns path:line: text matches.",
  kind: "read",
  input_schema: {
    type: "object",
    properties: {
      query: { type: "string", description: "Text to find (case-sensitive)" },
      glob: { type: "string", description: "Only search files matching this glob" },
      regex: { type: "boolean", description: "Treat query as a regular expression (RE2 syntax: no backreferences or lookaround)" },
    },
    required: ["query"],
    additionalProperties: false,
  },
  async run(input, ctx) {
    let matcher: (line: string) => boolean;
    if (input.regex) {
      // RE2 semantics (linear time in the input, whatever the pattern): a backtracking engine
      // on the extension host let one catastrophic pattern from the model freeze every
      // extension, and no cancel can interrupt a running RegExp.
      let re: RE2JS;
      try {
        re = RE2JS.compile(input.query);
      } catch (err) {
        throw new ToolError("invalid_input", `query is not a valid regular expression (RE2 syntax: no backreferences or lookaround): ${(err as Error).message}`);
      }
      matcher = (l) => re.test(l);
    } else {
      if (!input.query) throw new ToolError("invalid_input", "query must not be empty");
      matcher = (l) => l.includes(input.query);
    }
    const fileFilter = input.glob ? globToRegExp(input.glob) : undefined;
    const out: string[] = [];
    const started = performance.now();
    let lastYield = started;
    for (const file of walkFiles(ctx.root, ctx.signal)) {
      // Give the event loop a turn now and then (cancellation, the UI), and stop at the limit.
      const now = performance.now();
      if (now - lastYield > 50) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
        if (ctx.signal.aborted) throw new ToolError("cancelled", "search cancelled");
      }
      if (now - started > SEARCH_TIME_LIMIT_MS) {
        throw new ToolError("timeout", `search stopped after ${SEARCH_TIME_LIMIT_MS / 1000} s with ${out.length} matches so far; narrow it with glob`, { matches_so_far: out.length });
      }
      if (fileFilter && !fileFilter.test(file)) continue;
      const abs = path.join(ctx.root, file);
      let buf: Buffer;
      try {
        if (fs.statSync(abs).size > MAX_SEARCH_FILE_BYTES) continue;
        buf = fs.readFileSync(abs);
      } catch {
        continue;
      }
      if (buf.subarray(0, 8000).includes(0)) continue; // binary
      const lines = buf.toString("utf8").split("\n");
      for (let i = 0; i < lines.length && out.length < MAX_MATCHES; i++) {
        if (matcher(lines[i])) out.push(`${file}:${i + 1}: ${lines[i].trim().slice(0, 200)}`);
      }
      if (out.length >= MAX_MATCHES) {
        out.push(`[stopped after ${MAX_MATCHES} matches]`);
        break;
      }
    }
    return out.length ? out.join("\n") : `No matches for ${JSON.stringify(input.query)}`;
  },
  summarize: (input) => `search for ${JSON.stringify(input.query)}${input.glob ? ` in ${input.glob}` : ""}`,
};

export const writeFileTool: ToolDefinition<{ path: string; content: string }> = {
  name: "write_file",
  description: "Create or replace a file in the workspace with the given content.",
  kind: "write",
  input_schema: {
    type: "object",
    properties: {
      path: { type: "string", description: "File path, relative to the workspace root" },
      content: { type: "string", description: "The whole new content of the file" },
    },
    required: ["path", "content"],
    additionalProperties: false,
  },
  async run(input, ctx) {
    const target = resolveInWorkspace(ctx.root, input.path);
    let existed: boolean;
    try {
      ({ existed } = writeInWorkspace(ctx.root, target, input.content));
    } catch (err) {
      throw toolErrorFromFs(err, target.rel);
    }
    return `${existed ? "Replaced" : "Created"} ${target.rel} (${Buffer.byteLength(input.content)} bytes)`;
  },
  preview: (input, ctx) => {
    const { abs, rel } = resolveInWorkspace(ctx.root, input.path);
    let before: string | null = null;
    try {
      before = fs.readFileSync(abs, "utf8");
    } catch {
      /* a new file */
    }
    return { path: rel, before, after: input.content };
  },
  summarize: (input) => {
    const lines = input.content.split("\n");
    const preview = lines.slice(0, 20).map((l) => `+ ${l}`).join("\n");
    return `write ${input.path} (${lines.length} lines)\n${preview}${lines.length > 20 ? "\n+ …" : ""}`;
  },
};

export const editFileTool: ToolDefinition<{ path: string; old_text: string; new_text: string }> = {
  name: "edit_file",
  description: "Replace one exact snippet of a file with new text. old_text must occur exactly once in the file.",
  kind: "write",
  input_schema: {
    type: "object",
    properties: {
      path: { type: "string", description: "File path, relative to the workspace root" },
      old_text: { type: "string", description: "The exact text to replace; must occur exactly once" },
      new_text: { type: "string", description: "The replacement text" },
    },
    required: ["path", "old_text", "new_text"],
    additionalProperties: false,
  },
  async run(input, ctx) {
    const { abs, rel } = resolveInWorkspace(ctx.root, input.path);
    if (!input.old_text) throw new ToolError("invalid_input", "old_text must not be empty");
    let text: string;
    try {
      text = fs.readFileSync(abs, "utf8");
    } catch (err) {
      throw toolErrorFromFs(err, rel);
    }
    const first = text.indexOf(input.old_text);
    if (first < 0) {
      throw new ToolError("not_found", `old_text does not occur in ${rel}; read the file and copy the snippet exactly`, { path: rel });
    }
    const count = text.split(input.old_text).length - 1;
    if (count > 1) {
      throw new ToolError("invalid_input", `old_text occurs ${count} times in ${rel}; include more surrounding text so it is unique`, {
        path: rel,
        occurrences: count,
      });
    }
    const updated = text.slice(0, first) + input.new_text + text.slice(first + input.old_text.length);
    try {
      // The file is re-read through the opened descriptor: if it changed since, nothing is written.
      writeInWorkspace(ctx.root, { abs, rel }, (now) => {
        if (now !== text) throw new ToolError("invalid_input", `${rel} changed while it was being edited; read it again`, { path: rel });
        return updated;
      }, true);
    } catch (err) {
      throw toolErrorFromFs(err, rel);
    }
    const line = text.slice(0, first).split("\n").length;
    return `Edited ${rel} at line ${line}`;
  },
  preview: (input, ctx) => {
    const { abs, rel } = resolveInWorkspace(ctx.root, input.path);
    const before = fs.readFileSync(abs, "utf8");
    const at = before.indexOf(input.old_text);
    if (!input.old_text || at < 0 || before.indexOf(input.old_text, at + 1) >= 0) return undefined;
    return { path: rel, before, after: before.slice(0, at) + input.new_text + before.slice(at + input.old_text.length) };
  },
  summarize: (input, ctx) => {
    let where = "";
    try {
      const text = fs.readFileSync(resolveInWorkspace(ctx.root, input.path).abs, "utf8");
      const at = text.indexOf(input.old_text);
      if (at >= 0) where = ` at line ${text.slice(0, at).split("\n").length}`;
    } catch {
      /* the summary is best effort; the run reports the real error */
    }
    const minus = input.old_text.split("\n").map((l) => `- ${l}`).join("\n");
    const plus = input.new_text.split("\n").map((l) => `+ ${l}`).join("\n");
    return `edit ${input.path}${where}\n${minus}\n${plus}`;
  },
};

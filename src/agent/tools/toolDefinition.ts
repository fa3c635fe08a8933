import type { InputSchema } from "../inputSchema";
import type { LimitedOutput } from "../outputLimit";

export interface ToolContext {
  /** The workspace root every path is confined to. */
  root: string;
  signal: AbortSignal;
  /** Output larger than this is truncated for the model (default 64 KB). */
  maxOutputBytes: number;
  /** Extra environment variable names passed to commands (beyond the fixed allowlist). */
  commandEnv?: readonly string[];
}

/** Whether a tool only looks (auto-approved by default) or changes things (asks by default). */
export type ToolKind = "read" | "write" | "execute";

export interface ToolDefinition<I = Record<string, unknown>> {
  name: string;
  description: string;
  input_schema: InputSchema;
  kind: ToolKind;
  /** Runs the tool; throws ToolError on failure. */
  run(input: I, ctx: ToolContext): Promise<string | LimitedOutput>;
  /** A readable account of what it would do, for approval prompts. */
  summarize(input: I, ctx: ToolContext): string;
  /** For tools that change a file: the whole change, so an approval can show it in a diff editor. */
  preview?(input: I, ctx: ToolContext): FileChange | undefined;
}

/** A file's whole content before (null: the file is new) and after a proposed change. */
export interface FileChange {
  /** Workspace-relative path. */
  path: string;
  before: string | null;
  after: string;
}

/** Hard ceiling on what a tool may read or collect at all, whatever the model asks. */
export const HARD_OUTPUT_CEILING = 10 * 1024 * 1024;

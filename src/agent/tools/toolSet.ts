import { editFileTool, findFilesTool, listDirectoryTool, readFileTool, searchTextTool, writeFileTool } from "./fileTools";
import { runCommandTool } from "./runCommandTool";
import type { ToolDefinition, ToolKind } from "./toolDefinition";

/** Every workspace tool the agent can use, by name. */
export function workspaceTools(): Map<string, ToolDefinition> {
  const tools = [readFileTool, listDirectoryTool, findFilesTool, searchTextTool, writeFileTool, editFileTool, runCommandTool];
  return new Map(tools.map((t) => [t.name, t as unknown as ToolDefinition]));
}

export type ApprovalPolicy = "auto" | "ask" | "deny";

/** Default policy: tools that only look run; tools that change files or run commands ask. */
export function defaultPolicy(kind: ToolKind): ApprovalPolicy {
  return kind === "read" ? "auto" : "ask";
}

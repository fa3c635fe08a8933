/** Error types for failed tool calls; people filter the trail on these. */
export type ToolErrorType =
  | "invalid_input" // fails the tool's schema, or the model sent malformed JSON
  | "unknown_tool"
  | "permission" // outside the workspace, or denied by policy
  | "not_found"
  | "timeout"
  | "command_failed" // non-zero exit; exit code, stdout and stderr in detail
  | "output_limit"
  | "approval_rejected"
  | "cancelled"
  | "internal";

/** A tool failure the model is told about (as an is_error tool result) and the trail records. */
export class ToolError extends Error {
  constructor(
    readonly type: ToolErrorType,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ToolError";
  }
}

/** Maps an fs error to what the model and the user need to know. */
export function toolErrorFromFs(err: unknown, displayPath: string): ToolError {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof ToolError) return e;
  switch (e?.code) {
    case "ENOENT":
      return new ToolError("not_found", `${displayPath} does not exist`, { path: displayPath });
    case "EISDIR":
      return new ToolError("invalid_input", `${displayPath} is a directory, not a file`, { path: displayPath });
    case "ENOTDIR":
      return new ToolError("invalid_input", `${displayPath} is not a directory`, { path: displayPath });
    case "EACCES":
    case "EPERM":
      return new ToolError("permission", `The OS refused access to ${displayPath}`, { path: displayPath });
    default:
      return new ToolError("internal", `${displayPath}: ${e?.message ?? String(err)}`, { path: displayPath, code: e?.code });
  }
}

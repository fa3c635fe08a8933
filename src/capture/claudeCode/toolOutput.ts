/**
 * A Claude Code tool's result in the shapes the trail's views read: `output` as text (what a
 * listing shows and `output_sha256` covers) beside Claude Code's structured `tool_response`,
 * and a failure as `error: {type, message, detail}` with a command's exit code and output in
 * `detail`, as our own run_command records them.
 */
export function outputText(response: unknown, modelSaw: string | undefined): string {
  if (typeof response === "string") return response;
  if (response && typeof response === "object") {
    const r = response as Record<string, unknown>;
    // Bash: stdout and stderr apart.
    if (typeof r.stdout === "string") return typeof r.stderr === "string" && r.stderr ? `${r.stdout}${r.stdout && !r.stdout.endsWith("\n") ? "\n" : ""}${r.stderr}` : r.stdout;
    // Read: the file's text.
    const file = r.file as Record<string, unknown> | undefined;
    if (file && typeof file === "object" && typeof file.content === "string") return file.content;
  }
  if (modelSaw !== undefined) return modelSaw;
  return response === undefined || response === null ? "" : JSON.stringify(response);
}

/**
 * A failed tool call's error. Claude Code reports a failed command as "Exit code N" and, on the
 * lines after it, what the command printed (stdout and stderr interleaved as they were
 * printed: it does not keep them apart for a failure), so the exit code is read from there and the rest is kept whole as stderr.
 */
export function bashFailure(tool: string, error: string, interrupted: boolean): { type: string; message: string; detail: Record<string, unknown> } {
  const text = error.replace(/^Error: /, "");
  const m = /^Exit code (-?\d+)(?:\n([\s\S]*))?$/.exec(text);
  if (m) {
    const code = Number(m[1]);
    return { type: "command_failed", message: `${tool}: the command exited with code ${code}`, detail: { exit_code: code, stderr: m[2] ?? "", streams: "stdout and stderr interleaved, as Claude Code reports a failed command" } };
  }
  if (interrupted) return { type: "cancelled", message: text || `${tool} was interrupted`, detail: {} };
  return { type: "tool_error", message: text || `${tool} failed`, detail: {} };
}

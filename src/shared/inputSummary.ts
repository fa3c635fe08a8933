import { revealHidden } from "./hiddenText";

/** A short account of a tool input: the path, the command, the pattern. */
export function inputSummary(toolName: string | null, input: unknown, max = 60): string {
  const i = (input ?? {}) as Record<string, unknown>;
  let s: string;
  switch (toolName) {
    case "run_command":
      s = `$ ${String(i.command ?? "")}`;
      break;
    case "find_files":
      s = String(i.pattern ?? "");
      break;
    case "search_text":
      s = `${JSON.stringify(i.query ?? "")}${i.glob ? ` in ${i.glob}` : ""}`;
      break;
    default:
      s = typeof i.path === "string" ? `${i.path}${i.start_line ? `:${i.start_line}-${i.end_line ?? ""}` : ""}` : JSON.stringify(input ?? null);
  }
  // One line, its hidden characters escaped: a summary stands for the input in labels and lists.
  s = revealHidden(s.split("\n")[0]).text;
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

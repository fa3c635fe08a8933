import * as readline from "node:readline";
import type { ApprovalDecision, ApprovalHandler } from "../agent/agentTypes";
import { approvalDisplay, revealHidden } from "../shared/hiddenText";

/**
 * Asks on the terminal: [y]es, [n]o, or [e]dit the input as JSON. One reader serves the
 * whole run, so answers piped in ahead of time are not lost between questions.
 */
export function terminalApproval(
  approverId: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): { approve: ApprovalHandler; close(): void } {
  const rl = readline.createInterface({ input, terminal: false });
  const lines: string[] = [];
  let waiter: ((line: string | undefined) => void) | undefined;
  let ended = false;
  rl.on("line", (l) => (waiter ? (waiter(l), (waiter = undefined)) : lines.push(l)));
  rl.on("close", () => {
    ended = true;
    waiter?.(undefined);
  });
  const nextLine = (prompt: string, signal: AbortSignal) =>
    new Promise<string | undefined>((resolve, reject) => {
      output.write(prompt);
      if (lines.length) return resolve(lines.shift()!.trim());
      if (ended) return resolve(undefined);
      const onAbort = () => {
        waiter = undefined;
        reject(new Error("cancelled"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      waiter = (l) => {
        signal.removeEventListener("abort", onAbort);
        resolve(l?.trim());
      };
    });

  const approve: ApprovalHandler = async (req) => {
    // Written with its hidden characters escaped whatever the stream: a `\r` or an ANSI
    // sequence in the input must not make the prompt show something other than what runs.
    const shown = approvalDisplay(req.summary, req.input);
    const notice = shown.notice ? `  ${shown.notice}\n` : "";
    output.write(`\n  ${revealHidden(req.tool_name).text} wants to run (step ${req.step}):\n${notice}${indent(shown.text, "    ")}\n`);
    for (;;) {
      const a = (await nextLine("  Approve? [y]es / [n]o / [e]dit input: ", req.signal))?.toLowerCase();
      if (a === undefined) {
        output.write("\n  (no more input: rejected)\n");
        return { decision: "rejected", approver_id: approverId, reason: "no answer (input closed)" } satisfies ApprovalDecision;
      }
      if (a === "y" || a === "yes") return { decision: "approved", approver_id: approverId };
      if (a === "n" || a === "no") return { decision: "rejected", approver_id: approverId };
      if (a === "e" || a === "edit") {
        output.write(`  Current input: ${revealHidden(JSON.stringify(req.input)).text}\n`);
        const text = await nextLine("  New input as JSON on one line: ", req.signal);
        try {
          const edited = JSON.parse(text ?? "");
          if (typeof edited !== "object" || edited === null || Array.isArray(edited)) throw new Error("not an object");
          return { decision: "edited", approver_id: approverId, input: edited };
        } catch (err) {
          output.write(`  That is not a JSON object (${(err as Error).message}); try again.\n`);
        }
      }
    }
  };
  return { approve, close: () => rl.close() };
}

function indent(text: string, pad: string): string {
  return text.split("\n").map((l) => pad + l).join("\n");
}

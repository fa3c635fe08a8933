// The evidence-bundle fixture the attack tests share: a trail with two interleaved sessions,
// bundles of one session and of a range, the owner's key as an auditor is given it, and ways to
// change a bundle the way someone between owner and auditor would.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { signNote } from "../../src/trail/integrity/signedNote";
import { ed25519Signer } from "../../src/trail/trust/signing";
import { filePinKeeper } from "../../src/trail/trust/pinKeeper";
import { TrailStore } from "../../src/trail/store/trailStore";
import { TrustStore } from "../../src/trail/trust/trustStore";
import { runCli } from "../helpers/cliRunner";
import { tempDir } from "../helpers/tempDir";

export interface Made {
  ws: string;
  config: string;
  bundle: string;
  range: string;
  anchor: string;
  ownerKey: string;
  ownerPem: string;
}

/**
 * Session A (7 events: a tool that fails with exit 3, the model's admission, its end) written
 * while session B appends in between, so A's span holds B's events; a file name with U+FFFD in
 * a tool output. Bundles of A (with the anchor kept after the first checkpoint) and of a range.
 */
export async function made(t: Parameters<typeof tempDir>[0]): Promise<Made> {
  const config = tempDir(t, "aat-ev-cfg-");
  const ws = tempDir(t, "aat-ev-ws-");
  const trust = new TrustStore(config);
  const trailPath = path.join(ws, ".agent-audit", "trail.db");
  const open = async () => (await TrailStore.open(trailPath, { signer: trust.signer(), anchorDir: trust.anchorsDir, pins: filePinKeeper(trust.pins), checkpointEvery: 3 })).store;
  let store = await open();
  const a = (event_type: string, content: Record<string, unknown>) => store.append({ session_id: "session-a", agent_id: "agent-audit", event_type, content });
  const b = (event_type: string, content: Record<string, unknown>) => store.append({ session_id: "session-b", agent_id: "agent-audit", event_type, content });
  await a("session_start", { task: "tidy the build" });
  await b("session_start", { task: "another agent's work" });
  await a("tool_call", { tool_name: "list_directory", input: { path: "." } });
  await a("tool_result", { tool_name: "list_directory", outcome: "success", output: "r\ufffdsum\u00e9.txt\nREADME.md" });
  await store.close();
  // The head an auditor keeps from before (a ticket, a commit): the anchor printed here.
  const anchor = path.join(tempDir(t, "aat-ev-anchor-"), "anchor.json");
  const printed = await runCli(["checkpoint", "--print", "--workspace", ws], config);
  assert.equal(printed.code, 0, printed.out);
  fs.writeFileSync(anchor, printed.out);
  store = await open();
  await b("tool_call", { tool_name: "read_file", input: { path: "secret-plans.md" } });
  await a("tool_call", { tool_name: "run_command", input: { command: "make deploy" } });
  await a("tool_result", { tool_name: "run_command", outcome: "error", exit_code: 3, stderr: "deploy failed: permission denied" });
  await a("llm_call", { response: { text: "The deploy failed: I ran it without approval." } });
  await b("session_end", { outcome: "completed" });
  await a("session_end", { outcome: "failed" });
  await store.close();
  const out = tempDir(t, "aat-ev-out-");
  const bundle = path.join(out, "a");
  const r = await runCli(["evidence", "session-a", "--out", bundle, "--workspace", ws], config);
  assert.equal(r.code, 0, r.out);
  const range = path.join(out, "range");
  assert.equal((await runCli(["evidence", "--from", "2", "--to", "6", "--out", range, "--workspace", ws], config)).code, 0);
  const ownerKey = /give it to the auditor[^\n]*\n {2}(\S+)/.exec(r.out)![1];
  return { ws, config, bundle, range, anchor, ownerKey, ownerPem: fs.readFileSync(path.join(config, "signing-key.pem"), "utf8") };
}

/** The bundle's own verifier, from a bare copy: no project, no trail. */
export function standalone(bundle: string, args: string[]): { code: number | null; out: string } {
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), "aat-auditor-"));
  fs.cpSync(bundle, bare, { recursive: true });
  const r = spawnSync(process.execPath, ["verify-bundle.js", ".", ...args], { cwd: bare, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  fs.rmSync(bare, { recursive: true, force: true });
  return { code: r.status, out: r.stdout + r.stderr };
}

export function copyOf(t: Parameters<typeof tempDir>[0], bundle: string): string {
  const copy = path.join(tempDir(t, "aat-ev-copy-"), "b");
  fs.cpSync(bundle, copy, { recursive: true });
  return copy;
}

export const readJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "proofs.json"), "utf8"));
export const writeJson = (dir: string, p: unknown) => fs.writeFileSync(path.join(dir, "proofs.json"), JSON.stringify(p, null, 2));
export const lines = (dir: string) => fs.readFileSync(path.join(dir, "events.jsonl"), "utf8").split("\n").slice(0, -1);

/** Re-signs checkpoint.txt's text, changed by `edit`, with `pem`: isolates parsing from signing. */
export function resign(dir: string, pem: string, edit: (text: string) => string, name?: string): void {
  const note = fs.readFileSync(path.join(dir, "checkpoint.txt"), "utf8");
  const text = edit(note.slice(0, note.lastIndexOf("\n\n") + 1));
  const origin = name ?? text.split("\n")[0];
  fs.writeFileSync(path.join(dir, "checkpoint.txt"), signNote(text, origin, ed25519Signer(pem)));
}

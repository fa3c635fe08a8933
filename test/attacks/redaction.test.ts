// What the trail must not give away of a secret the redactor hid: not the secret in the
// forms that slipped through (mid-line assignments, Authorization headers, curl -u, URL
// userinfo, base64 of a known token format, an OTLP bytesValue), and not a digest of the
// unredacted text, from which a short password is recovered by hashing a few guesses.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { CLI } from "../helpers/cliRunner";
import { cli, fakeApi, sessionEvents, userAndWorkspace } from "./modelRun";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const GITHUB_TOKEN = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5";
const AWS_KEY = "AKIAQ3EGRT5YBVWJ4X2N";
const BEARER = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/** Every file under the workspace's .agent-audit as one text: what anyone with the trail can read. */
function trailBytes(ws: string): string {
  const dir = path.join(ws, ".agent-audit");
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(fs.readFileSync(p).toString("latin1"));
    }
  };
  walk(dir);
  return out.join("\n");
}

test("a redacted password cannot be recovered from the digest of the output it was in", async (t) => {
  const { env, ws } = userAndWorkspace(t);
  fs.writeFileSync(path.join(ws, ".env"), "DB_USER=app\nDB_PASSWORD=Summer2024!\n");
  const api = await fakeApi(t, {
    turns: [
      { content: [{ type: "tool_use", name: "read_file", input: { path: ".env" } }] },
      { content: [{ type: "text", text: "Read it." }] },
    ],
  });
  const run = await cli(["run", "Check the database settings", "--workspace", ws, "--approve", "all"], { ...env, ...api.env });
  assert.equal(run.code, 0, run.stderr);
  const result = (await sessionEvents(ws, env)).find((e) => e.event_type === "tool_result")!.content;
  assert.match(result.output, /DB_PASSWORD=\[REDACTED:[a-z-]+\]/);
  assert.ok(!trailBytes(ws).includes("Summer2024!"));
  // The attacker's five guesses, hashed into the recorded output where the marker is.
  const marker = /\[REDACTED:[a-z-]+\]/.exec(result.output)![0];
  const guesses = ["Password1", "Summer2023!", "Welcome1!", "Summer2024!", "Winter2024!"];
  const hit = guesses.find((g) => sha256(result.output.replace(marker, g)) === result.output_sha256);
  assert.equal(hit, undefined, `output_sha256 gives the password away: ${hit}`);
  // The digest is of what the trail keeps (after redaction): anyone can check it, it reveals nothing.
  assert.equal(result.output_sha256, sha256(result.output));
});

test("secrets in the forms that slipped through are redacted in tool inputs, outputs and the model's text", async (t) => {
  const { env, ws } = userAndWorkspace(t);
  const b64Github = Buffer.from(`GITHUB_TOKEN=${GITHUB_TOKEN}\n`).toString("base64");
  const b64Aws = Buffer.from(`[default]\naws_access_key_id = ${AWS_KEY}\n`).toString("base64");
  const b64GithubAlone = Buffer.from(GITHUB_TOKEN).toString("base64");
  fs.writeFileSync(
    path.join(ws, "notes.txt"),
    [
      "Connect with password=hunter2secret now, then",
      `the proxy logged Authorization: Bearer ${BEARER} for it`,
      "git clone https://bob:Tr0ub4dor3xyz@git.example.com/repo.git",
      `secret in the CI config: ${b64Github}`,
      `kube secret data: ${b64Aws}`,
      `token b64: ${b64GithubAlone}`,
    ].join("\n") + "\n",
  );
  const api = await fakeApi(t, {
    turns: [
      {
        content: [
          { type: "text", text: "I will log in with passwd=Pa55word2024x after reading." },
          { type: "tool_use", name: "read_file", input: { path: "notes.txt" } },
          { type: "tool_use", name: "run_command", input: { command: "echo curl -u alice:S3cretPass99 https://example.com" } },
          { type: "tool_use", name: "run_command", input: { command: `echo "curl -H 'Authorization: Bearer ${BEARER}' https://api.example.com"` } },
        ],
      },
      { content: [{ type: "text", text: "Done." }] },
    ],
  });
  const run = await cli(["run", "Read the notes", "--workspace", ws, "--approve", "all"], { ...env, ...api.env });
  assert.equal(run.code, 0, run.stderr);
  const trail = trailBytes(ws) + JSON.stringify(await sessionEvents(ws, env));
  const leaked = Object.entries({
    "mid-line password=": "hunter2secret",
    "mid-line passwd= in the model's text": "Pa55word2024x",
    "Authorization: Bearer": BEARER,
    "curl -u user:pass": "S3cretPass99",
    "https://user:pass@host": "Tr0ub4dor3xyz",
    "base64 of a GitHub token line": b64Github,
    "base64 of an AWS credentials file": b64Aws,
    "base64 of a GitHub token": b64GithubAlone,
  }).filter(([, secret]) => trail.includes(secret)).map(([form]) => form);
  assert.deepEqual(leaked, []);
  // What is around a secret stays readable.
  assert.match(trail, /Connect with password=\[REDACTED:[a-z-]+\] now/);
});

test("an OTLP bytesValue holding a token is redacted before it is staged or recorded", async (t) => {
  const { env, ws } = userAndWorkspace(t);
  const token = "collect-test-token-0123456789";
  const child = spawn(process.execPath, [CLI, "collect", "--port", "0", "--token", token, "--workspace", ws], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => void (child.exitCode === null && child.kill("SIGKILL")));
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      const m = /Receiving OTLP\/HTTP on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", () => reject(new Error(`collect exited: ${out}`)));
  });
  const bytes = Buffer.from(`Authorization: token ${GITHUB_TOKEN}`).toString("base64");
  const now = BigInt(Date.now()) * 1_000_000n;
  const span = {
    traceId: "4".repeat(32), spanId: "5".repeat(16), name: "execute_tool fetch", kind: 1,
    startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1000n),
    attributes: [
      { key: "gen_ai.operation.name", value: { stringValue: "execute_tool" } },
      { key: "gen_ai.tool.name", value: { stringValue: "fetch" } },
      { key: "http.request.header.blob", value: { bytesValue: bytes } },
    ],
  };
  const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "other-agent" } }] }, scopeSpans: [{ spans: [span] }] }] });
  const res = await fetch(`${url}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
  assert.equal(res.status, 200, await res.text());
  child.kill("SIGINT");
  await new Promise((r) => child.once("exit", r));
  const trail = trailBytes(ws);
  assert.ok(!trail.includes(bytes), "the bytesValue is in the trail or staging as sent");
  assert.ok(!trail.includes(GITHUB_TOKEN));
  assert.match(trail, /\[REDACTED:base64-[a-z-]+\]/, "the attribute is recorded, with the marker in its place");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { createRequire } from "node:module";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { secretLintProfiler } from "../../src/agent/secretlintProfilerOff";
import { SecretRedactor } from "../../src/agent/secretRedactor";
import { redactionMarkers } from "../../src/agent/toolExecution";

test("generic secret assignments and secrets used as object keys are redacted", async () => {
  const r = new SecretRedactor();
  const samples: [string, string][] = [
    ["DB_PASSWORD=Tr0ub4dor&3\nDB_HOST=localhost", "Tr0ub4dor&3"],
    ['const config = { password: "hunter2-and-more" };', "hunter2-and-more"],
    ['{"api_key": "9f8e7d6c5b4a39281706"}', "9f8e7d6c5b4a39281706"],
    ["  client_secret: q8Zr!vW2pLm4\n", "q8Zr!vW2pLm4"],
    ["export GITLAB_TOKEN=glpat-abcdefghij1234567890", "glpat-abcdefghij1234567890"],
    ["mysql -u root --password=S3cr3t!pass db", "S3cr3t!pass"],
    ["curl --token 77f1c0ffee55d00d https://x", "77f1c0ffee55d00d"],
    ["secret := 'aB3$kk9!qq'", "aB3$kk9!qq"],
  ];
  for (const [text, secret] of samples) {
    const out = await r.redact({ text });
    assert.ok(!out.text.includes(secret), `not redacted: ${text} → ${out.text}`);
    assert.match(out.text, /\[REDACTED:[a-z0-9-]+\]/);
  }
  const key = `sk-ant-api03-${"Zq7".repeat(31)}AA`;
  const asKey = await r.redact({ headers: { [key]: "value", plain: "x" } });
  assert.ok(!JSON.stringify(asKey).includes(key), "a secret used as an object key stays in the record");
  assert.equal(asKey.headers.plain, "x");
});

test("ordinary code is left alone by the generic rules", async () => {
  const r = new SecretRedactor();
  const code = [
    "function login(password: string, token?: string) {",
    "  const secret = process.env.APP_SECRET;",
    "  const apiKey = config.apiKey;",
    "  if (!password) throw new Error('password is required');",
    "  token = getToken(user);",
    '  const passwordField = "password";',
    "  password: Optional[str] = None",
    "  SECRET_KEY = os.environ['SECRET_KEY']",
    '  "password": "Password must be at least 8 characters"',
    "  access_key: ${AWS_ACCESS_KEY}",
    "  db_password: <your password here>",
    "  --password $DB_PASS",
    "  token_count = 1200",
    "  secret: TOKEN_PLACEHOLDER_NAME",
    "}",
  ].join("\n");
  const out = await r.redact({ code });
  assert.equal(out.code, code, "a line of ordinary code was redacted");
  assert.deepEqual(redactionMarkers(out), []);
});

test("redaction keeps no per-call state: a long-lived process does not slow down or grow", async () => {
  // secretlint's profiler kept a mark per rule run (in its list and Node's performance
  // timeline) and scanned them on each one: cost and memory grew with the process's uptime.
  const coreDir = path.dirname(require.resolve("@secretlint/core/package.json"));
  const coresProfiler = createRequire(path.join(coreDir, "index.js")).resolve("@secretlint/profiler");
  assert.equal(coresProfiler, require.resolve("@secretlint/profiler"), "core must use the profiler instance we silence");
  const r = new SecretRedactor();
  await r.redact({ warm: "up the rules once with enough text" });
  const marks = () => performance.getEntriesByType("mark").length;
  const before = { marks: marks(), entries: (await secretLintProfiler.getEntries()).length };
  for (let i = 0; i < 2000; i++) {
    await r.redact({ output: `line ${i} of a tool's output, long enough to be scanned by every rule`, input: { path: `src/f${i}.ts` } });
  }
  assert.equal(marks(), before.marks, "performance marks accumulate");
  assert.equal((await secretLintProfiler.getEntries()).length, before.entries, "profiler entries accumulate");
});

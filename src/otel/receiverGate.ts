import { timingSafeEqual } from "node:crypto";
import type * as http from "node:http";

/**
 * What a request must be before the receiver reads its body. A browser sends a CORS-simple POST
 * (text/plain, form-urlencoded, multipart; always with an `Origin`) from any page without
 * asking, and a DNS-rebound name reaches 127.0.0.1 with a foreign `Host`: none of them is an
 * OTLP exporter, so each is refused before anything of it is read.
 */
export type OtlpEncoding = "protobuf" | "json";

export interface Refusal {
  status: number;
  message: string;
}

/** The encoding of an exact OTLP/HTTP media type (parameters parsed; a JSON charset must be UTF-8), else undefined. */
export function otlpEncoding(contentType: string | undefined): OtlpEncoding | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(";");
  const media = type.trim().toLowerCase();
  const encoding = media === "application/x-protobuf" ? "protobuf" : media === "application/json" ? "json" : undefined;
  if (!encoding) return undefined;
  for (const p of params) {
    const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*$/.exec(p);
    if (!m) return undefined;
    const value = m[2].replace(/^"|"$/g, "").toLowerCase();
    if (m[1].toLowerCase() === "charset" && value !== "utf-8" && value !== "utf8") return undefined;
  }
  return encoding;
}

/** The Host values that name this receiver: its loopback address and port, nothing a DNS name could be rebound to. */
export function allowedHosts(port: number): Set<string> {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  if (port === 80) for (const h of ["127.0.0.1", "localhost"]) hosts.add(h);
  return hosts;
}

/** Why a request may not be taken, or undefined when its headers are those of an OTLP exporter on this machine. */
export function refusal(req: http.IncomingMessage, o: { hosts: Set<string>; token?: string }): Refusal | undefined {
  if (req.headers.origin !== undefined) return { status: 403, message: "requests from web pages are refused (an Origin header was sent): OTLP exporters do not send one" };
  const host = String(req.headers.host ?? "").toLowerCase();
  if (!o.hosts.has(host)) return { status: 403, message: `the Host "${host.slice(0, 80)}" is not this receiver's address (${[...o.hosts][0]})` };
  const kind = req.url === "/v1/traces" ? "traces" : req.url === "/v1/logs" ? "logs" : undefined;
  if (!kind) return { status: 404, message: `no such endpoint ${String(req.url).slice(0, 80)} (this receiver takes /v1/traces and /v1/logs)` };
  if (req.method !== "POST") return { status: 405, message: "OTLP/HTTP requests are POST" };
  if (o.token !== undefined && !sameToken(req.headers.authorization, `Bearer ${o.token}`)) return { status: 401, message: "a bearer token is required (Authorization: Bearer <token>; see agent-audit collect's output)" };
  if (!otlpEncoding(req.headers["content-type"])) {
    return { status: 415, message: `unsupported content type "${String(req.headers["content-type"] ?? "").slice(0, 80)}" (OTLP/HTTP is application/x-protobuf or application/json)` };
  }
  return undefined;
}

function sameToken(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? "");
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Deeper than this, a request is refused: OTLP's own nesting is about ten levels, and the trail's JSON functions stop at 1,000. */
export const MAX_REQUEST_DEPTH = 64;

/** The nesting depth of JSON text, counted without parsing it (a 100,000-deep body costs one pass). */
export function jsonTextDepth(text: Buffer | string, stopAt = Infinity): number {
  const s = typeof text === "string" ? Buffer.from(text) : text;
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
      if (max > stopAt) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The nesting depth of a decoded value, without recursion. */
export function valueDepth(v: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (!x || typeof x !== "object") continue;
    if (d + 1 > max) max = d + 1;
    if (max > stopAt) return max;
    for (const k in x as Record<string, unknown>) stack.push([(x as Record<string, unknown>)[k], d + 1]);
  }
  return max;
}

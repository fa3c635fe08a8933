import * as fs from "node:fs";
import * as path from "node:path";
import protobuf from "protobufjs";
import type { OtlpEncoding } from "./receiverGate";
import { jsonTextDepth, MAX_REQUEST_DEPTH, valueDepth } from "./receiverGate";

/**
 * OTLP/HTTP request bodies (protobuf or JSON) as plain records. Protobuf is decoded with the
 * official OTLP proto definitions (opentelemetry-proto), shipped beside the bundle in
 * dist/otlp-protos (copied at build time from @opentelemetry/otlp-grpc-exporter-base).
 */
export type AttrMap = Record<string, unknown>;

export interface ReceivedSpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind number (1 INTERNAL, 3 CLIENT…). */
  kind: number;
  startMs: number;
  endMs: number;
  attributes: AttrMap;
  status: { code: number; message: string };
  events: { name: string; timeMs: number; attributes: AttrMap }[];
  resource: AttrMap;
  scope: string;
  /** The span exactly as received (OTLP/JSON form), kept as a blob in the trail. */
  raw: unknown;
}

export interface ReceivedLogRecord {
  timeMs: number;
  body: unknown;
  attributes: AttrMap;
  resource: AttrMap;
  scope: string;
  traceId: string;
  spanId: string;
  raw: unknown;
}

/** A body that is not an OTLP request of the expected kind. */
export class OtlpDecodeError extends Error {}

let types: { traces: protobuf.Type; logs: protobuf.Type } | undefined;

function protoDir(): string {
  const beside = path.join(__dirname, "otlp-protos");
  if (fs.existsSync(beside)) return beside;
  return path.join(path.dirname(require.resolve(["@opentelemetry", "otlp-grpc-exporter-base", "package.json"].join("/"))), "build", "protos");
}

function protoTypes(): { traces: protobuf.Type; logs: protobuf.Type } {
  if (!types) {
    const dir = protoDir();
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(dir, target);
    root.loadSync(["opentelemetry/proto/collector/trace/v1/trace_service.proto", "opentelemetry/proto/collector/logs/v1/logs_service.proto"], { keepCase: false });
    types = {
      traces: root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"),
      logs: root.lookupType("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"),
    };
  }
  return types;
}

/**
 * The request as OTLP/JSON-shaped objects (ids as hex), from either encoding; throws
 * OtlpDecodeError, also for a request nested deeper than MAX_REQUEST_DEPTH (checked before
 * anything recursive touches it: a 400, never a stack overflow answered 503).
 */
export function requestObject(body: Buffer, encoding: OtlpEncoding, kind: "traces" | "logs"): Record<string, unknown> {
  const tooDeep = () => new OtlpDecodeError(`the request is nested deeper than ${MAX_REQUEST_DEPTH} levels`);
  if (encoding === "protobuf") {
    const type = protoTypes()[kind];
    let obj: Record<string, unknown>;
    try {
      obj = type.toObject(type.decode(body), { longs: String, enums: Number, bytes: String, defaults: false }) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof RangeError) throw tooDeep();
      throw new OtlpDecodeError(`not an OTLP ${kind} protobuf request: ${(err as Error).message}`);
    }
    if (valueDepth(obj, MAX_REQUEST_DEPTH) > MAX_REQUEST_DEPTH) throw tooDeep();
    return hexIds(obj) as Record<string, unknown>;
  }
  if (jsonTextDepth(body, MAX_REQUEST_DEPTH) > MAX_REQUEST_DEPTH) throw tooDeep();
  try {
    const obj = JSON.parse(body.toString("utf8")) as unknown;
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new Error("not an object");
    return obj as Record<string, unknown>;
  } catch (err) {
    throw new OtlpDecodeError(`not OTLP/JSON: ${(err as Error).message}`);
  }
}

/** protobufjs gives bytes as base64; OTLP/JSON (and our records) use hex ids. */
function hexIds(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => hexIds(x));
  if (v && typeof v === "object") {
    // In place: the object is protobufjs's fresh plain copy of the request (requestObject).
    const o = v as Record<string, unknown>;
    for (const k in o) o[k] = hexIds(o[k], k);
    return o;
  }
  if (typeof v === "string" && ID_KEYS.has(key)) return Buffer.from(v, "base64").toString("hex");
  return v;
}
const ID_KEYS = new Set(["traceId", "spanId", "parentSpanId"]);

function anyValue(v: unknown): unknown {
  if (!v || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  if ("stringValue" in o) return String(o.stringValue);
  if ("intValue" in o) return Number(o.intValue);
  if ("doubleValue" in o) return Number(o.doubleValue);
  if ("boolValue" in o) return Boolean(o.boolValue);
  if ("arrayValue" in o) return (((o.arrayValue as { values?: unknown[] }) ?? {}).values ?? []).map(anyValue);
  if ("kvlistValue" in o) return attrMap(((o.kvlistValue as { values?: unknown[] }) ?? {}).values);
  if ("bytesValue" in o) return String(o.bytesValue);
  return undefined;
}

function attrMap(list: unknown): AttrMap {
  if (!Array.isArray(list)) return {};
  const out: AttrMap = {};
  for (const a of list as { key?: unknown; value?: unknown }[]) if (typeof a?.key === "string") out[a.key] = anyValue(a.value);
  return out;
}

const nanosToMs = (v: unknown): number => {
  if (typeof v !== "string" && typeof v !== "number") return NaN;
  try {
    return Number(BigInt(String(v).split(".")[0] || "0") / 1000n) / 1000;
  } catch {
    // Not a whole number of nanoseconds: no time (a 400 for a span or log record).
    return NaN;
  }
};

function list(v: unknown, what: string): Record<string, unknown>[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${what} is not a list`);
  return v as Record<string, unknown>[];
}

const hexId = (v: unknown, len: number, what: string): string => {
  const s = typeof v === "string" ? v.toLowerCase() : "";
  if (s && !new RegExp(`^[0-9a-f]{${len}}$`).test(s)) throw new OtlpDecodeError(`${what} "${s.slice(0, 40)}" is not ${len} hex digits`);
  return s;
};

/**
 * Every record of a request with its resource's attributes and its scope's name: the walk
 * traces and logs share (`resourceSpans` → `scopeSpans` → `spans`, and the same for logs;
 * the pre-1.0 `instrumentationLibrary*` names too).
 */
function* records(
  req: Record<string, unknown>,
  keys: { resource: string; scope: string; oldScope: string; records: string },
): Generator<{ record: Record<string, unknown>; resource: AttrMap; scope: string }> {
  for (const r of list(req[keys.resource], keys.resource)) {
    const resource = attrMap((r.resource as { attributes?: unknown } | undefined)?.attributes);
    for (const sc of list(r[keys.scope] ?? r[keys.oldScope], keys.scope)) {
      const scope = String(((sc.scope ?? sc.instrumentationLibrary) as { name?: unknown } | undefined)?.name ?? "");
      for (const record of list(sc[keys.records], keys.records)) yield { record, resource, scope };
    }
  }
}

/** Spans of a traces request object (from requestObject); throws OtlpDecodeError when it is malformed. */
export function tracesOf(req: Record<string, unknown>): ReceivedSpanRecord[] {
  const out: ReceivedSpanRecord[] = [];
  for (const { record: s, resource, scope } of records(req, { resource: "resourceSpans", scope: "scopeSpans", oldScope: "instrumentationLibrarySpans", records: "spans" })) {
    const traceId = hexId(s.traceId, 32, "traceId");
    const spanId = hexId(s.spanId, 16, "spanId");
    if (!traceId || !spanId) throw new OtlpDecodeError("a span has no traceId or spanId");
    const startMs = nanosToMs(s.startTimeUnixNano);
    const endMs = nanosToMs(s.endTimeUnixNano ?? s.startTimeUnixNano);
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) throw new OtlpDecodeError(`span ${spanId}: bad start or end time`);
    const status = (s.status ?? {}) as { code?: unknown; message?: unknown };
    out.push({
      traceId,
      spanId,
      parentSpanId: hexId(s.parentSpanId, 16, "parentSpanId"),
      name: String(s.name ?? ""),
      kind: typeof s.kind === "number" ? s.kind : Number(String(s.kind ?? "").replace(/^SPAN_KIND_/, "") === "CLIENT" ? 3 : 1),
      startMs,
      endMs,
      attributes: attrMap(s.attributes),
      status: { code: typeof status.code === "number" ? status.code : status.code === "STATUS_CODE_ERROR" ? 2 : status.code === "STATUS_CODE_OK" ? 1 : 0, message: String(status.message ?? "") },
      events: list(s.events, "events").map((e) => ({ name: String(e.name ?? ""), timeMs: nanosToMs(e.timeUnixNano), attributes: attrMap(e.attributes) })),
      resource,
      scope,
      raw: s,
    });
  }
  return out;
}

/** Log records of a logs request object (from requestObject); throws OtlpDecodeError when it is malformed. */
export function logsOf(req: Record<string, unknown>): ReceivedLogRecord[] {
  const out: ReceivedLogRecord[] = [];
  for (const { record: l, resource, scope } of records(req, { resource: "resourceLogs", scope: "scopeLogs", oldScope: "instrumentationLibraryLogs", records: "logRecords" })) {
    const timeMs = nanosToMs(l.timeUnixNano && String(l.timeUnixNano) !== "0" ? l.timeUnixNano : l.observedTimeUnixNano);
    if (!Number.isFinite(timeMs)) throw new OtlpDecodeError("a log record has no time");
    out.push({ timeMs, body: anyValue(l.body), attributes: attrMap(l.attributes), resource, scope, traceId: hexId(l.traceId, 32, "traceId"), spanId: hexId(l.spanId, 16, "spanId"), raw: l });
  }
  return out;
}

import { SpanKind, SpanStatusCode, TraceFlags } from "@opentelemetry/api";
import type { HrTime } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { GenAiSpan } from "./genaiMapping";
import { SEMCONV_SCHEMA_URL } from "./genaiMapping";

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface OtlpTarget {
  /** The traces URL, or a base URL to which `/v1/traces` is added (as OTEL_EXPORTER_OTLP_ENDPOINT). */
  endpoint: string;
  headers?: Record<string, string>;
  protocol?: OtlpProtocol;
  timeoutMillis?: number;
}

/** What the backend said, in words a user can act on. */
export class OtlpExportError extends Error {
  constructor(
    message: string,
    /** Retrying later may succeed (a dead endpoint, 429, 5xx); false for 401/403/404 and the like. */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The traces URL for an endpoint as users give it: a full `/v1/traces` URL, or the collector's base URL. */
export function tracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new OtlpExportError(`"${endpoint}" is not a URL (for example http://localhost:4318)`, false);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new OtlpExportError(`${endpoint}: OTLP/HTTP needs an http:// or https:// URL`, false);
  return /\/v1\/traces\/?$/.test(url.pathname) ? url.toString() : `${url.toString().replace(/\/$/, "")}/v1/traces`;
}

function hr(msTime: number): HrTime {
  const s = Math.floor(msTime / 1000);
  return [s, Math.round((msTime - s * 1000) * 1e6)];
}

const KIND = { INTERNAL: SpanKind.INTERNAL, CLIENT: SpanKind.CLIENT } as const;
const STATUS = { UNSET: SpanStatusCode.UNSET, OK: SpanStatusCode.OK, ERROR: SpanStatusCode.ERROR } as const;

/** Our spans as the SDK's finished spans, for its exporters (ids and times as the trail says, not generated). */
export function toReadableSpans(spans: GenAiSpan[], service: { name: string; version: string }): ReadableSpan[] {
  const resource = resourceFromAttributes({ "service.name": service.name, "service.version": service.version });
  const scope = { name: "agent-audit-trail", version: service.version, schemaUrl: SEMCONV_SCHEMA_URL };
  return spans.map((s) => {
    const context = { traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED };
    const end = Math.max(s.endMs, s.startMs);
    return {
      name: s.name,
      kind: KIND[s.kind],
      spanContext: () => context,
      parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED } : undefined,
      startTime: hr(s.startMs),
      endTime: hr(end),
      duration: hr(end - s.startMs),
      status: s.status.message ? { code: STATUS[s.status.code], message: s.status.message } : { code: STATUS[s.status.code] },
      attributes: s.attributes,
      links: [],
      events: s.events.map((e) => ({ name: e.name, time: hr(e.timeMs), attributes: e.attributes })),
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}

/**
 * Sends finished spans with the official OTLP/HTTP exporter (protobuf by default, or JSON).
 * Resolves when the backend accepted them; rejects with an OtlpExportError saying what went
 * wrong (unreachable, 401, …) and whether trying again later can help.
 */
export async function exportSpans(spans: ReadableSpan[], target: OtlpTarget): Promise<void> {
  if (!spans.length) return;
  const config = { url: tracesUrl(target.endpoint), headers: target.headers ?? {}, timeoutMillis: target.timeoutMillis ?? 10_000 };
  const exporter = target.protocol === "http/json" ? new JsonTraceExporter(config) : new ProtoTraceExporter(config);
  try {
    await new Promise<void>((resolve, reject) => {
      exporter.export(spans, (r) => {
        if (r.code === ExportResultCode.SUCCESS) resolve();
        else reject(describe(r.error, config.url));
      });
    });
  } finally {
    await exporter.shutdown().catch(() => undefined);
  }
}

function describe(err: Error | undefined, url: string): OtlpExportError {
  const e = err as (Error & { code?: number | string; data?: string }) | undefined;
  const status = typeof e?.code === "number" ? e.code : Number(/\b([45]\d\d)\b/.exec(e?.message ?? "")?.[1] ?? NaN);
  if (status === 401 || status === 403) {
    return new OtlpExportError(`${url} refused the spans (HTTP ${status}): the credentials are missing or wrong — check the Authorization header (--header "Authorization=…")`, false);
  }
  if (status === 404) return new OtlpExportError(`${url} answered 404: this is not an OTLP/HTTP traces endpoint (a collector listens on /v1/traces, usually port 4318)`, false);
  if (Number.isFinite(status) && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new OtlpExportError(`${url} rejected the spans (HTTP ${status})${e?.data ? `: ${String(e.data).slice(0, 200)}` : ""}`, false);
  }
  const reason = e?.message ?? "no answer";
  return new OtlpExportError(`could not deliver to ${url} (${reason}); nothing is lost, the spans go on the next export`, true);
}

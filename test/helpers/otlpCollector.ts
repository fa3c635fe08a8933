import * as http from "node:http";
import * as path from "node:path";
import * as zlib from "node:zlib";
import protobuf from "protobufjs";

/**
 * A loopback OTLP/HTTP traces endpoint for tests. Protobuf requests are decoded with the
 * official OTLP proto definitions (opentelemetry-proto, as shipped in
 * @opentelemetry/otlp-grpc-exporter-base), JSON ones as OTLP/JSON; both end up as the same
 * plain spans (ids as hex) so a test checks what a real backend would store.
 */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
  scope: { name: string; version: string; schemaUrl: string };
}

const PROTOS = path.dirname(require.resolve("@opentelemetry/otlp-grpc-exporter-base/package.json"));

let requestType: protobuf.Type | undefined;
function traceRequestType(): protobuf.Type {
  if (!requestType) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(PROTOS, "build", "protos", target);
    root.loadSync("opentelemetry/proto/collector/trace/v1/trace_service.proto", { keepCase: false });
    requestType = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
  }
  return requestType;
}

function anyValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return Number(v.doubleValue);
  if ("boolValue" in v) return v.boolValue;
  if ("arrayValue" in v) return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
  return v;
}

function attrs(list: { key: string; value: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, anyValue(a.value)]));
}

const hex = (v: unknown): string => (typeof v === "string" ? (/^[0-9a-f]*$/i.test(v) ? v.toLowerCase() : Buffer.from(v, "base64").toString("hex")) : v ? Buffer.from(v as Uint8Array).toString("hex") : "");

/** An OTLP ExportTraceServiceRequest (as protobufjs or JSON objects give it) as plain spans. */
export function spansOf(request: Record<string, unknown>): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (request.resourceSpans as Record<string, unknown>[] | undefined) ?? []) {
    const resource = attrs((rs.resource as { attributes?: [] } | undefined)?.attributes);
    for (const ss of (rs.scopeSpans as Record<string, unknown>[] | undefined) ?? []) {
      const scope = (ss.scope ?? {}) as { name?: string; version?: string };
      for (const s of (ss.spans as Record<string, unknown>[] | undefined) ?? []) {
        const status = (s.status ?? {}) as { code?: number | string; message?: string };
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: String(s.name),
          kind: typeof s.kind === "string" ? ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT"].indexOf(s.kind) : Number(s.kind ?? 0),
          startTimeUnixNano: BigInt(String(s.startTimeUnixNano ?? 0)),
          endTimeUnixNano: BigInt(String(s.endTimeUnixNano ?? 0)),
          attributes: attrs(s.attributes as []),
          status: { code: typeof status.code === "string" ? ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"].indexOf(status.code) : Number(status.code ?? 0), message: status.message ?? "" },
          events: ((s.events as Record<string, unknown>[] | undefined) ?? []).map((e) => ({ name: String(e.name), attributes: attrs(e.attributes as []) })),
          resource,
          scope: { name: scope.name ?? "", version: scope.version ?? "", schemaUrl: String(ss.schemaUrl ?? "") },
        });
      }
    }
  }
  return out;
}

export class OtlpCollector {
  readonly spans: ReceivedSpan[] = [];
  readonly requests: { contentType: string; authorization?: string }[] = [];
  /** Answer with this status instead of accepting (401 to test credentials). */
  respondWith: number | undefined;
  private server: http.Server | undefined;
  port = 0;

  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") body = zlib.gunzipSync(body);
        const contentType = String(req.headers["content-type"] ?? "");
        this.requests.push({ contentType, authorization: req.headers.authorization });
        if (req.url !== "/v1/traces") return void res.writeHead(404).end();
        if (this.respondWith) return void res.writeHead(this.respondWith).end();
        try {
          const decoded = contentType.includes("protobuf")
            ? (traceRequestType().toObject(traceRequestType().decode(body), { longs: String, enums: Number, bytes: String, defaults: false }) as Record<string, unknown>)
            : (JSON.parse(body.toString("utf8")) as Record<string, unknown>);
          this.spans.push(...spansOf(decoded));
          res.writeHead(200, { "content-type": contentType.includes("protobuf") ? "application/x-protobuf" : "application/json" }).end(contentType.includes("protobuf") ? Buffer.alloc(0) : "{}");
        } catch (err) {
          res.writeHead(400).end(String(err));
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
    this.server = undefined;
  }
}

import * as http from "node:http";
import * as zlib from "node:zlib";
import { logsOf, OtlpDecodeError, requestObject, tracesOf } from "./otlpDecode";
import type { ReceivedLogRecord, ReceivedSpanRecord } from "./otlpDecode";
import type { OtlpIngest } from "./otlpIngest";
import { allowedHosts, otlpEncoding, refusal } from "./receiverGate";

export interface ReceiverOptions {
  ingest: OtlpIngest;
  /** 4318 by default (the OTLP/HTTP port); 0 picks a free one. */
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (the CLI and the extension always set one). */
  token?: string;
  /** Largest request accepted, before and after gzip (default 8 MiB). */
  maxBytes?: number;
  /** Secret redaction of everything received, before anything is written (staging included). */
  redact?: <T>(value: T) => Promise<T>;
  log?: (message: string) => void;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/**
 * An OTLP/HTTP receiver (`/v1/traces`, `/v1/logs`; protobuf or JSON; gzip) bound to loopback
 * only: other agents on this machine send their telemetry here and it lands in the trail.
 * A request is answered 200 only once what it carried is staged durably; a malformed,
 * oversized, too deep or unauthorised one is refused and nothing of it is written, and so is
 * anything a web page can send (receiverGate.ts).
 */
export class OtlpReceiver {
  private server: http.Server | undefined;
  private hosts = new Set<string>();
  received = { spans: 0, logs: 0, rejected: 0 };

  constructor(private readonly opts: ReceiverOptions) {}

  /** Starts listening on 127.0.0.1; resolves with the base URL. */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port ?? 4318, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    this.hosts = allowedHosts(port);
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections?.();
  }

  private refuse(res: http.ServerResponse, status: number, message: string): void {
    this.received.rejected++;
    this.opts.log?.(`[otlp] refused a request (${status}): ${message}`);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ code: status, message }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) return this.refuse(res, 403, "only this machine may send to the receiver");
      const refused = refusal(req, { hosts: this.hosts, token: this.opts.token });
      if (refused) {
        req.resume();
        return this.refuse(res, refused.status, refused.message);
      }
      const kind = req.url === "/v1/traces" ? "traces" : "logs";
      const encoding = otlpEncoding(req.headers["content-type"])!;
      const max = this.opts.maxBytes ?? 8 * 1024 * 1024;
      const body = await readBody(req, max);
      if (body === "too big") return this.refuse(res, 413, `the request is larger than ${max} bytes`);
      let bytes = body;
      if (String(req.headers["content-encoding"] ?? "").toLowerCase() === "gzip") {
        try {
          bytes = zlib.gunzipSync(body, { maxOutputLength: max });
        } catch {
          return this.refuse(res, 400, "the gzip body is damaged or larger than the limit once unpacked");
        }
      }
      let spans: ReceivedSpanRecord[] = [];
      let logs: ReceivedLogRecord[] = [];
      try {
        let request = requestObject(bytes, encoding, kind);
        // Redacted as a whole, before records are taken from it: every copy of a value is clean.
        if (this.opts.redact) request = await this.opts.redact(request);
        if (kind === "traces") spans = tracesOf(request);
        else logs = logsOf(request);
      } catch (err) {
        if (err instanceof OtlpDecodeError) return this.refuse(res, 400, err.message);
        throw err;
      }
      this.opts.ingest.receive(spans, logs);
      this.received.spans += spans.length;
      this.received.logs += logs.length;
      const json = encoding === "json";
      // An empty ExportTraceServiceResponse/ExportLogsServiceResponse: full success.
      res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" }).end(json ? "{}" : Buffer.alloc(0));
    } catch (err) {
      this.opts.log?.(`[otlp] could not take a request: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(503, { "retry-after": "5" }).end();
    }
  }
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | "too big"> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.resolve("too big");
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on("end", () => resolve(over ? "too big" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

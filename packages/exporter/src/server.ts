// The HTTP side: GET /metrics (Prometheus text, or OpenMetrics when the
// scraper asks for it), a small index page, 404 otherwise. The body is
// rendered whole before the first byte is written (Content-Length set), so a
// response is never cut in the middle of a metric.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Exporter, type ExporterOptions, type Format, type Scrape } from "./exporter.js";

export interface ServeOptions extends ExporterOptions {
  /** "host:port", "[v6]:port" or ":port" (all addresses). */
  readonly listen: string;
  /** Path of the metrics (default "/metrics"). */
  readonly path?: string;
  /**
   * Read the kernel every this many seconds in the background and serve the
   * last result (default: none; every scrape reads the kernel).
   */
  readonly interval?: number;
}

export interface RunningServer extends AsyncDisposable {
  readonly server: Server;
  readonly exporter: Exporter;
  /** The address actually bound (port 0 picks one). */
  readonly address: AddressInfo;
  readonly url: string;
  close(): Promise<void>;
}

/** "host:port" split; a RangeError naming the argument when it is not one. */
export function parseListen(listen: string): { host: string; port: number } {
  if (typeof listen !== "string") throw new TypeError(`listen must be a string "host:port"`);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new RangeError(`listen must be "host:port", "[ipv6]:port" or ":port", got "${listen}"`);
  }
  return { host: m[1] ?? (m[2] || "::"), port };
}

/** Whether the scraper's Accept header asks for OpenMetrics (Prometheus does by default). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept);
}

const INDEX = (path: string) =>
  `<!doctype html><title>bpf-iter exporter</title><h1>bpf-iter exporter</h1><p><a href="${path}">${path}</a></p>\n`;

/** Starts the exporter's HTTP server. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { host, port } = parseListen(options.listen);
  const path = options.path ?? "/metrics";
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new RangeError(`path must start with "/", got ${String(path)}`);
  }
  const interval = options.interval;
  if (interval !== undefined && (!(interval >= 0.1) || interval > 86_400)) {
    throw new RangeError(`interval must be 0.1 to 86400 seconds, got ${String(interval)}`);
  }
  const exporter = new Exporter(options);
  // Background mode: the last rendering of each format, refreshed every interval.
  const cached = new Map<Format, Promise<Scrape>>();
  let timer: NodeJS.Timeout | undefined;
  if (interval !== undefined) {
    const refresh = () => {
      for (const format of ["prometheus", "openmetrics"] as const) {
        const next = exporter.scrape(format);
        next.then(
          () => cached.set(format, next),
          () => undefined,
        );
        if (!cached.has(format)) cached.set(format, next);
      }
    };
    refresh();
    timer = setInterval(refresh, interval * 1000);
    timer.unref();
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("GET only\n");
      return;
    }
    if (url === "/" && path !== "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(INDEX(path));
      return;
    }
    if (url !== path) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    const format: Format = wantsOpenMetrics(req.headers.accept) ? "openmetrics" : "prometheus";
    let scrape: Scrape;
    try {
      scrape = await (cached.get(format) ?? exporter.scrape(format));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      res.writeHead(500, { "Content-Type": "text/plain" }).end(`scrape failed: ${message}\n`);
      return;
    }
    const body = Buffer.from(scrape.body, "utf8");
    res.writeHead(200, { "Content-Type": scrape.contentType, "Content-Length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    exporter.close();
    if (timer) clearInterval(timer);
    throw err;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      if (timer) clearInterval(timer);
      server.close(() => {
        exporter.close();
        resolve();
      });
      server.closeAllConnections();
    });
    return closing;
  };
  return {
    server,
    exporter,
    address,
    url: `http://${shownHost}:${address.port}${path}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

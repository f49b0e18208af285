import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LedgerClient } from '../clients/ledger';
import { jobsForVersion, type WatcherConfig } from '../config/load';
import { ledgerOptionsOf } from '../config/ledgerOptions';
import { serverFromEnvironment } from '../temporal/connection';
import { installLogger } from './logging';
import { openSession } from './session';
import { renderStatusPage } from './statusPage';
import { listLedgerVersions, readStatus, type StatusReport } from './statusRead';

// `serve [--port 8088] [--host 127.0.0.1]`: the status page. Routes:
//   GET /             the HTML page (src/cli/statusPage.ts)
//   GET /api/status   its JSON twin, exactly what `status --json` prints: {"versions":[matrix, …]}
//   GET /healthz      200 "ok" while the process serves
// Every request reads the ledgers as `status` does (their `matrix` query); requests that arrive
// while a read is under way share it. Like `status`, it uses TEMPORAL_ADDRESS, or the embedded
// dev server with a worker beside it (to answer the ledgers' queries).

export { DEFAULT_SERVE_PORT, parsePort } from './options';
/** A page that waits longer than this for the ledgers says so (503) rather than hang. */
const READ_TIMEOUT_MS = 10_000;

export interface ServeOptions {
  config: WatcherConfig;
  port: number;
  host: string;
  /** Where the one line saying where it listens goes (and the one saying it stopped). */
  log: (line: string) => void;
}

/** Serves until SIGINT or SIGTERM. */
export async function serve(opts: ServeOptions): Promise<void> {
  const { config } = opts;
  installLogger('WARN');
  const embedded = !serverFromEnvironment();
  const session = await openSession({ config, withWorker: embedded, prepareNamespace: false });
  try {
    const ledgers = new LedgerClient(session.client, ledgerOptionsOf(config));
    let reading: Promise<StatusReport> | undefined;
    const read = () => {
      reading ??= readStatus(config, ledgers, () => listLedgerVersions(session.client, config.taskQueue)).finally(() => {
        reading = undefined;
      });
      return reading;
    };
    const context = () => ({
      namespace: session.namespace,
      taskQueue: config.taskQueue,
      ...(config.ui.url ? { uiUrl: config.ui.url } : {}),
      readAt: new Date().toISOString(),
      jobOrder: (version: string) => (config.versions.find((v) => v.version === version)?.jobs ?? jobsForVersion(config, version)).map((j) => j.shortName),
    });

    const server = createServer((req, res) => {
      handle(req, res, read, context).catch((err) => send(res, 500, 'text/plain; charset=utf-8', `internal error: ${oneLine(err)}\n`));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`serve: cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`)));
      server.listen(opts.port, opts.host, resolve);
    });
    const { port } = server.address() as AddressInfo;
    const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    opts.log(`Status page on http://${shown}:${port}/ (JSON: /api/status, health: /healthz); ledgers of task queue ${config.taskQueue} on ${session.origin} (namespace ${session.namespace})`);

    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    const signal = await (session.worker ? session.worker.runUntil(stopped) : stopped);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    opts.log(`Received ${signal}: status page stopped`);
  } finally {
    await session.close();
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  read: () => Promise<StatusReport>,
  context: () => Parameters<typeof renderStatusPage>[1],
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', `${req.method} is not allowed\n`);
  }
  if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
  if (path !== '/' && path !== '/index.html' && path !== '/api/status') return send(res, 404, 'text/plain; charset=utf-8', `no page ${path}: try / or /api/status\n`);
  const json = path === '/api/status';
  let report: StatusReport;
  try {
    report = await withTimeout(read(), READ_TIMEOUT_MS, `Temporal did not answer within ${READ_TIMEOUT_MS / 1000} s`);
  } catch (err) {
    // Temporal away, a ledger not answering: say so, and let the next request try again.
    const reason = `could not read the ledgers: ${oneLine(err)}`;
    return json
      ? send(res, 503, 'application/json', `${JSON.stringify({ error: reason })}\n`)
      : send(res, 503, 'text/plain; charset=utf-8', `${reason}\n`);
  }
  if (json) return send(res, 200, 'application/json', `${JSON.stringify({ versions: report.versions }, null, 2)}\n`);
  return send(res, 200, 'text/html; charset=utf-8', renderStatusPage(report, context()));
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    // No script, no framing, nothing fetched: the page is its own inline style and links.
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function oneLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
}

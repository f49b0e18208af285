import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { applyFault, changesOutcome, type FaultOutcome, type FaultStore, parseFault } from './faults';
import type { HoldRegistry } from './holds';
import { goTextError, jsonResponse, type SimRequest, type SimResponse } from './http';
import type { Endpoint, RequestLog, RequestLogEntry, ServiceName } from './requestLog';
import { SimulatorInputError } from './validation';

/** Which simulated endpoint a request is for (undefined: a path the upstream has no route for), and its real answer. */
export interface Route {
  endpoint?: Endpoint;
  handle(): SimResponse;
}

/** What one simulated API contributes; the server around it does logging, counting, faults and gzip. */
export interface SimService {
  service: ServiceName;
  /** Gzip answers when the client accepts it, as Deck's gzip handler does. */
  gzip: boolean;
  route(req: SimRequest): Route;
  /** Extra log fields known before handling (Gangway: whether the token was right). */
  logFields?(req: SimRequest): { authorized?: boolean };
  /** Service-specific `/__sim/...` control requests; undefined when not one of its own. */
  control?(req: SimRequest): SimResponse | undefined;
}

export interface SimServerDeps {
  log: RequestLog;
  faults: FaultStore;
  holds: HoldRegistry;
  /** Resets all simulators: Deck and Gangway share ProwJobs, so a partial reset would be inconsistent. */
  resetAll(): void;
}

const CONTROL_PREFIX = '/__sim/';
const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** The NYTimes gziphandler Deck uses leaves answers below this size uncompressed. */
const GZIP_MIN_BYTES = 1400;

export class SimServer {
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private baseUrl = '';

  constructor(
    private readonly service: SimService,
    private readonly deps: SimServerDeps,
  ) {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) send(res, goTextError(500, `simulator error: ${String(err)}`), false);
      });
    });
  }

  get url(): string {
    return this.baseUrl;
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${shownHost}:${address.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Idle keep-alive connections would otherwise hold close() open.
    this.server.closeAllConnections();
    await closed;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const simReq = await readRequest(req);
    if (simReq === 'too-large') {
      send(res, goTextError(413, 'request body too large'), false);
      return;
    }
    if (simReq.pathname.startsWith(CONTROL_PREFIX)) {
      send(res, this.control(simReq), false);
      return;
    }

    // Taken before any injected latency, so seq is arrival order even when answers are delayed.
    const seq = this.deps.log.nextSeq();
    const arrivedAt = new Date().toISOString();

    const route = this.service.route(simReq);
    const logFields = this.service.logFields?.(simReq) ?? {};
    if (route.endpoint) this.deps.log.increment(route.endpoint);
    const fault = this.deps.faults.take(route.endpoint, simReq.url, simReq.rawBody);
    let clientGone = false;
    res.once('close', () => (clientGone = !res.writableFinished));
    if (fault?.latencyMs) await this.sleep(fault.latencyMs);
    if (res.destroyed) return;

    const record = (status: number): RequestLogEntry =>
      this.deps.log.record({
        seq,
        time: new Date().toISOString(),
        arrivedAt,
        service: this.service.service,
        method: simReq.method,
        path: simReq.pathname,
        query: Object.fromEntries(simReq.params),
        status,
        ...(simReq.json !== undefined ? { body: simReq.json } : {}),
        ...logFields,
      });
    const holdUntilReleased = async (stage: 'before' | 'after') => {
      const { held, released } = this.deps.holds.hold(route.endpoint!, stage, simReq.url);
      res.once('close', () => (held.clientGone = !res.writableFinished));
      await released;
    };

    if (fault?.hold === 'before' && route.endpoint) {
      await holdUntilReleased('before');
      // The request never reached the upstream before its client gave up: nothing happens.
      if (clientGone) {
        record(0);
        return;
      }
    }
    const outcome: FaultOutcome = fault && changesOutcome(fault) ? applyFault(fault, () => route.handle()) : { reset: false, response: route.handle() };
    if (fault?.hold === 'after' && route.endpoint) await holdUntilReleased('after');
    const entry = record(outcome.reset ? 0 : outcome.response.status);
    if (outcome.reset) {
      req.socket.destroy();
      return;
    }
    const gzip = this.service.gzip && acceptsGzip(req);
    if (outcome.response.body instanceof Readable) {
      // Known only once the stream ends (or the client hangs up): what was produced and what went on the wire.
      const sizes = await sendStream(res, outcome.response.body, outcome.response, gzip);
      entry.bytes = sizes.bytes;
      entry.sentBytes = sizes.sentBytes;
      return;
    }
    const sentBytes = send(res, outcome.response, gzip);
    if (sentBytes !== undefined) entry.sentBytes = sentBytes;
  }

  private control(req: SimRequest): SimResponse {
    const { log, faults } = this.deps;
    const name = this.service.service;
    const what = `${req.method} ${req.pathname}`;
    try {
      switch (what) {
        case 'GET /__sim/requests':
          return jsonResponse(200, log.requests(name), { pretty: true });
        case 'GET /__sim/counters':
          return jsonResponse(200, log.counters(name), { pretty: true });
        case 'GET /__sim/faults':
          return jsonResponse(200, faults.list(), { pretty: true });
        case 'POST /__sim/faults':
          if (req.jsonError) throw new SimulatorInputError(`fault: body is not JSON: ${req.jsonError}`);
          faults.add(parseFault(req.json));
          return jsonResponse(201, { ok: true });
        case 'DELETE /__sim/faults':
          faults.clear();
          return jsonResponse(200, { ok: true });
        case 'GET /__sim/held':
          return jsonResponse(200, this.deps.holds.list(), { pretty: true });
        case 'POST /__sim/held/release': {
          const id = (req.json as { id?: unknown } | undefined)?.id;
          if (id === undefined) return jsonResponse(200, { released: this.deps.holds.releaseAll() });
          if (typeof id !== 'number') throw new SimulatorInputError('id: expected the number of a held request');
          if (!this.deps.holds.release(id)) return goTextError(404, `no held request ${id}`);
          return jsonResponse(200, { released: 1 });
        }
        case 'POST /__sim/reset':
          this.deps.resetAll();
          return jsonResponse(200, { ok: true });
      }
      return this.service.control?.(req) ?? goTextError(404, `unknown control request ${what}`);
    } catch (err) {
      const status = err instanceof SimulatorInputError ? 400 : 500;
      return goTextError(status, err instanceof Error ? err.message : String(err));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

async function readRequest(req: IncomingMessage): Promise<SimRequest | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  const rawBody = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const simReq: SimRequest = {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    pathname: url.pathname,
    params: url.searchParams,
    headers: req.headers,
    rawBody,
  };
  if (rawBody.trim() !== '') {
    try {
      simReq.json = JSON.parse(rawBody);
    } catch (err) {
      simReq.jsonError = (err as Error).message;
    }
  }
  return simReq;
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'] ?? '';
  return header
    .split(',')
    .map((part) => part.trim().split(';'))
    .some(([coding, ...params]) => coding?.trim() === 'gzip' && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)));
}

/** Returns the body's bytes as sent (after gzip), or undefined when it is streamed or not sent. */
function send(res: ServerResponse, response: SimResponse, gzip: boolean): number | undefined {
  if (response.body instanceof Readable) {
    void sendStream(res, response.body, response, gzip);
    return undefined;
  }
  if (res.destroyed) return undefined;
  let body = Buffer.from(response.body);
  const headers: Record<string, string> = { ...response.headers };
  const alreadyEncoded = Object.keys(headers).some((h) => h.toLowerCase() === 'content-encoding');
  if (gzip && !alreadyEncoded && body.length >= GZIP_MIN_BYTES) {
    body = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
    headers['Vary'] = 'Accept-Encoding';
  }
  headers['Content-Length'] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(body);
  return body.length;
}

/**
 * A streamed answer (chunked, gzipped on the fly when the client accepts it): a very large
 * body is produced as it is sent, never held whole in memory.
 */
async function sendStream(res: ServerResponse, source: Readable, response: SimResponse, gzip: boolean): Promise<{ bytes: number; sentBytes: number }> {
  const sizes = { bytes: 0, sentBytes: 0 };
  if (res.destroyed) {
    source.destroy();
    return sizes;
  }
  const headers: Record<string, string> = { ...response.headers };
  const alreadyEncoded = Object.keys(headers).some((h) => h.toLowerCase() === 'content-encoding');
  const compress = gzip && !alreadyEncoded;
  if (compress) {
    headers['Content-Encoding'] = 'gzip';
    headers['Vary'] = 'Accept-Encoding';
  }
  res.writeHead(response.status, headers);
  const produced = counting((n) => (sizes.bytes += n));
  const sent = counting((n) => (sizes.sentBytes += n));
  try {
    if (compress) await pipeline(source, produced, createGzip(), sent, res);
    else await pipeline(source, produced, sent, res);
  } catch {
    // The client hung up (or timed out) mid-answer: nothing more to send.
  }
  return sizes;
}

function counting(add: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer | string, _enc, done) {
      add(Buffer.byteLength(chunk));
      done(null, chunk);
    },
  });
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the receiver got. `status`: what it answered (a 2xx is a delivery). */
export interface WebhookRequest {
  key: string | undefined;
  path: string;
  body: { text?: string; blocks?: unknown[] } | undefined;
  raw: string;
  status: number;
  at: number;
}

/** Decides the answer to a request: a status (and headers), or undefined for 200. */
export type Responder = (req: WebhookRequest, nth: number) => { status: number; headers?: Record<string, string>; body?: string; holdMs?: number } | undefined;

/**
 * A local Slack-compatible receiver (node:http): records every POST with its Idempotency-Key
 * header and JSON body, and answers what the test says (200 by default). `onAnswered` runs after
 * the answer is written (a test kills a worker there).
 */
export class WebhookReceiver {
  readonly requests: WebhookRequest[] = [];
  responder: Responder = () => undefined;
  onAnswered: (req: WebhookRequest) => void = () => {};
  private server?: Server;
  /** The URL's path holds a secret, as Slack's do: tests look for it in histories and logs. */
  readonly secretPath: string;

  constructor(secret = 'T000CANARY/B000CANARY/webhooksecret7f3d9a1c') {
    this.secretPath = `/services/${secret}`;
  }

  get url(): string {
    const port = (this.server!.address() as AddressInfo).port;
    return `http://127.0.0.1:${port}${this.secretPath}`;
  }

  async start(): Promise<this> {
    // A request cut off by a client that died is not a delivery: dropped.
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Requests answered 2xx: the messages a receiver would show. */
  deliveries(): WebhookRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  distinctKeys(): string[] {
    return [...new Set(this.deliveries().map((r) => r.key ?? '(none)'))].sort();
  }

  /** Polls until `ok` holds (no fixed sleep). */
  async until(ok: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms; requests: ${JSON.stringify(this.requests.map((r) => [r.key, r.status]))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: WebhookRequest['body'];
    try {
      body = JSON.parse(raw) as WebhookRequest['body'];
    } catch {
      body = undefined;
    }
    const key = req.headers['idempotency-key'];
    const entry: WebhookRequest = { key: Array.isArray(key) ? key[0] : key, path: req.url ?? '', body, raw, status: 200, at: Date.now() };
    const nth = this.requests.filter((r) => r.key === entry.key).length + 1;
    const answer = req.method === 'POST' && req.url === this.secretPath ? this.responder(entry, nth) : { status: 404, body: 'no_service' };
    entry.status = answer?.status ?? 200;
    this.requests.push(entry);
    if (answer?.holdMs) await new Promise((r) => setTimeout(r, answer.holdMs));
    if (res.destroyed) return;
    res.writeHead(entry.status, { 'Content-Type': 'text/plain', ...(answer?.headers ?? {}) });
    res.end(answer?.body ?? (entry.status < 300 ? 'ok' : 'error'), () => this.onAnswered(entry));
  }
}

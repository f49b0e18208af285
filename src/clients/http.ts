import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { UpstreamError, type Upstream } from './errors';

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_BAD_RESPONSE',
  'Z_BUF_ERROR',
  'Z_DATA_ERROR',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Hears what the clients send and receive, for the worker's metrics. It is told the upstream, a
 * status and byte counts only: never a URL, a header or a body.
 */
export interface UpstreamObserver {
  /** One request: answered with `status`, or not answered at all (undefined: refused, reset, timed out). */
  request?(upstream: Upstream, status: number | undefined): void;
  /** Bytes of a Deck answer as they arrive (compressed when Deck sent gzip). */
  deckBytes?(endpoint: 'prowjobs.js' | 'prowjob', bytes: number): void;
}

export function createHttp(baseURL: string, timeoutMs: number, observe?: { upstream: Upstream; observer?: UpstreamObserver }): AxiosInstance {
  const http = axios.create({
    baseURL,
    timeout: timeoutMs,
    // Status handling is ours (errorForStatus), not axios's: it must never throw an
    // error that carries request headers, the Authorization one included.
    validateStatus: () => true,
    maxRedirects: 0,
    headers: { 'User-Agent': 'osc-build-watcher' },
  });
  const heard = observe?.observer?.request?.bind(observe.observer);
  if (heard) {
    const upstream = observe!.upstream;
    http.interceptors.response.use(
      (res) => {
        heard(upstream, res.status);
        return res;
      },
      (err: unknown) => {
        // Every status is an answer (validateStatus above): what lands here got none.
        heard(upstream, (err as { response?: { status?: number } })?.response?.status);
        return Promise.reject(err);
      },
    );
  }
  return http;
}

/** Request options for a body we inflate ourselves (see bodyText). */
export const RAW_BODY = { responseType: 'arraybuffer', decompress: false, transformResponse: (x: unknown) => x } as const;

/**
 * The answer's text, inflated strictly. axios inflates leniently: a gzip answer cut short
 * becomes a silently shorter body, read as "not JSON" (permanent) when it is a transfer that
 * broke off, as transient as a reset. Deck's streamed body is decoded the same way (deckBody.ts).
 */
export function bodyText(upstream: Upstream, what: string, res: AxiosResponse): string {
  const raw = Buffer.isBuffer(res.data) ? res.data : Buffer.from(String(res.data ?? ''));
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(raw).toString('utf8');
    if (encoding === 'deflate') return inflateSync(raw).toString('utf8');
    if (encoding === 'br') return brotliDecompressSync(raw).toString('utf8');
    return raw.toString('utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'undecodable body';
    throw new UpstreamError(upstream, `${what}: HTTP ${res.status} answer cut short (${code})`, true, res.status);
  }
}

export function parseRetryAfter(value: unknown, nowMs = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600) * 1000;
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return Math.max(0, Math.min(date - nowMs, 3600_000));
  return undefined;
}

/** A short, single-line excerpt of an answer body for a reason string. */
export function excerpt(body: unknown, max = 160): string {
  let text: string;
  if (typeof body === 'string') text = body;
  else if (Buffer.isBuffer(body)) text = body.toString('utf8');
  else if (body === undefined || body === null) text = '';
  else {
    try {
      text = JSON.stringify(body);
    } catch {
      text = String(body);
    }
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Turns a non-2xx answer into an UpstreamError: 408, 429 and 5xx are worth retrying,
 * any other status is a fact that retrying will not change.
 */
export function errorForStatus(upstream: Upstream, what: string, res: AxiosResponse, bodyText?: string): UpstreamError {
  const status = res.status;
  const detail = excerpt(bodyText ?? res.data);
  const message = `${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`;
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
  return new UpstreamError(upstream, message, retryable, status, retryAfterMs);
}

/**
 * Network-level failures (no answer at all). Built from the error code and message only:
 * the axios error object holds the request config, headers and all, and must not escape.
 */
export function errorForNetwork(upstream: Upstream, what: string, err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const text = code === 'ECONNABORTED' || /timeout/i.test(e.message ?? '') ? 'timed out' : code || 'network error';
  const retryable = TRANSIENT_NETWORK_CODES.has(code) || /timeout|socket hang up|aborted|unexpected end/i.test(e.message ?? '');
  return new UpstreamError(upstream, `${what}: ${text}${retryable ? '' : ` (${firstLine(e.message)})`}`, retryable);
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0].slice(0, 200);
}

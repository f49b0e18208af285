import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/** A request as the simulated handlers see it: already read and, when possible, JSON-parsed. */
export interface SimRequest {
  method: string;
  /** Path and query exactly as sent; faults match on it. */
  url: string;
  pathname: string;
  params: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The parsed body, when it was non-empty valid JSON. */
  json?: unknown;
  /** The parse error, when the body was non-empty and not JSON. */
  jsonError?: string;
}

/** Handlers return answers as values, so faults can replace, delay or corrupt them before sending. */
export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  /** A Readable is streamed (chunked, gzipped on the fly): for answers too large to build in memory. */
  body: string | Buffer | Readable;
}

/** The answer of Go's `http.Error`, which all three upstreams use for plain-text errors. */
export function goTextError(status: number, message: string): SimResponse {
  return {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
    body: `${message}\n`,
  };
}

/** Go's `http.NotFound`, the answer of a Go mux for a path it has no route for. */
export function goNotFound(): SimResponse {
  return goTextError(404, '404 page not found');
}

export function textResponse(status: number, body: string, contentType = 'text/plain'): SimResponse {
  return { status, headers: { 'Content-Type': contentType }, body };
}

/** `pretty` mimics Go's `json.MarshalIndent(v, "", "  ")` followed by a newline. */
export function jsonResponse(status: number, value: unknown, options: { pretty?: boolean } = {}): SimResponse {
  const body = options.pretty ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value);
  return { status, headers: { 'Content-Type': 'application/json' }, body };
}

export function withHeaders(response: SimResponse, headers: Record<string, string>): SimResponse {
  return { ...response, headers: { ...response.headers, ...headers } };
}

/** Splits a pathname into decoded segments; undefined when a segment is not valid percent-encoding. */
export function pathSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { type SimResponse, withHeaders } from './http';
import { ENDPOINTS, type Endpoint, type ServiceName, serviceOfEndpoint } from './requestLog';
import { parseOrThrow, SimulatorInputError } from './validation';

export const FAULT_ENDPOINTS = [...ENDPOINTS, '*'] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

export const FAULT_KINDS = ['status', 'malformed-json', 'html-200', 'empty-body', 'truncated-gzip', 'reset'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  /** `*`: every request to the server(s) it is given to. */
  endpoint: FaultEndpoint;
  /** Substring of the request's path+query that must be present. */
  match?: string;
  /** Substring of the request body that must be present (e.g. one job and payload in a Gangway create). */
  matchBody?: string;
  status?: number;
  body?: string;
  contentType?: string;
  /** Added to whatever answer is sent (e.g. `Retry-After` with a 429). */
  headers?: Record<string, string>;
  latencyMs?: number;
  /** Defaults to `status` when status/body/contentType is set; otherwise the real answer is sent (after latency, with headers). */
  kind?: FaultKind;
  /** Apply to the next N matching requests; unlimited when absent. */
  times?: number;
  /** Run the real handler first (its side effects happen, e.g. Gangway creates the ProwJob), then answer with the fault. */
  afterEffect?: boolean;
  /**
   * Hold the request until a test releases it: `before` the upstream handles it (released after
   * the client hung up, it is dropped: nothing happens), or `after` it handled it (the effect is
   * there; the answer waits). The rest of the fault, if any, applies once released.
   */
  hold?: 'before' | 'after';
}

/** Typed against the interface, so the two cannot drift apart. */
export const faultSchema: z.ZodType<Fault> = z.strictObject({
  endpoint: z.enum(FAULT_ENDPOINTS),
  match: z.string().optional(),
  matchBody: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  body: z.string().optional(),
  contentType: z.string().min(1).optional(),
  headers: z.record(z.string().min(1), z.string()).optional(),
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  kind: z.enum(FAULT_KINDS).optional(),
  times: z.number().int().min(1).optional(),
  afterEffect: z.boolean().optional(),
  hold: z.enum(['before', 'after']).optional(),
});

export function parseFault(input: unknown): Fault {
  return parseOrThrow(faultSchema, input, 'fault');
}

/** True when the fault can apply to requests of `service`. */
export function faultBelongsTo(fault: Fault, service: ServiceName): boolean {
  return fault.endpoint === '*' || serviceOfEndpoint(fault.endpoint) === service;
}

/** The faults armed on one server, in the order they were added; the first match wins. */
export class FaultStore {
  private armed: Array<{ fault: Fault; remaining: number }> = [];

  constructor(private readonly service: ServiceName) {}

  add(fault: Fault): void {
    if (!faultBelongsTo(fault, this.service)) {
      throw new SimulatorInputError(`fault: endpoint ${fault.endpoint} is not served by ${this.service}`);
    }
    this.armed.push({ fault: structuredClone(fault), remaining: fault.times ?? Infinity });
  }

  clear(): void {
    this.armed = [];
  }

  list(): Fault[] {
    return this.armed.map(({ fault, remaining }) =>
      structuredClone(Number.isFinite(remaining) ? { ...fault, times: remaining } : fault),
    );
  }

  /** Finds the fault for this request and uses up one of its `times`. `endpoint` is undefined for unrouted paths. */
  take(endpoint: Endpoint | undefined, pathAndQuery: string, body = ''): Fault | undefined {
    const index = this.armed.findIndex(
      ({ fault }) =>
        (fault.endpoint === '*' || fault.endpoint === endpoint) &&
        (fault.match === undefined || pathAndQuery.includes(fault.match)) &&
        (fault.matchBody === undefined || body.includes(fault.matchBody)),
    );
    if (index < 0) return undefined;
    const slot = this.armed[index]!;
    slot.remaining -= 1;
    if (slot.remaining <= 0) this.armed.splice(index, 1);
    return slot.fault;
  }
}

export type FaultOutcome = { reset: true } | { reset: false; response: SimResponse };

/**
 * Turns a fault into what to send. `produce` runs the real handler; it is called only when
 * the fault needs the real answer (pass-through, truncated-gzip) or asks for its side effects
 * (afterEffect), so a plain faulted create never creates anything.
 */
export function applyFault(fault: Fault, produce: () => SimResponse): FaultOutcome {
  const kind = effectiveKind(fault);
  const real = fault.afterEffect || kind === 'pass-through' || kind === 'truncated-gzip' ? produce() : undefined;
  if (kind === 'reset') return { reset: true };
  const response = kind === 'pass-through' || kind === 'truncated-gzip' ? corrupt(kind, real!, fault) : invent(kind, fault);
  return { reset: false, response: withHeaders(response, fault.headers ?? {}) };
}

/** True when the fault does more than hold or delay: its answer replaces the real one. */
export function changesOutcome(fault: Fault): boolean {
  return effectiveKind(fault) !== 'pass-through' || fault.headers !== undefined;
}

function effectiveKind(fault: Fault): FaultKind | 'pass-through' {
  if (fault.kind) return fault.kind;
  const changesAnswer = fault.status !== undefined || fault.body !== undefined || fault.contentType !== undefined;
  return changesAnswer ? 'status' : 'pass-through';
}

function corrupt(kind: 'pass-through' | 'truncated-gzip', real: SimResponse, fault: Fault): SimResponse {
  if (kind === 'pass-through') return real;
  if (typeof real.body !== 'string' && !Buffer.isBuffer(real.body)) throw new Error('truncated-gzip is not supported on a streamed answer');
  const gzipped = gzipSync(Buffer.from(real.body));
  // Cut inside the deflate stream: the client sees a complete HTTP body that will not inflate.
  const truncated = gzipped.subarray(0, Math.max(1, Math.floor(gzipped.length / 2)));
  return {
    status: fault.status ?? real.status,
    headers: { ...real.headers, 'Content-Encoding': 'gzip' },
    body: truncated,
  };
}

function invent(kind: Exclude<FaultKind, 'reset' | 'truncated-gzip'>, fault: Fault): SimResponse {
  switch (kind) {
    case 'status': {
      const status = fault.status ?? 500;
      return answer(status, fault.contentType ?? 'text/plain; charset=utf-8', fault.body ?? `simulated fault: HTTP ${status}\n`);
    }
    case 'malformed-json':
      return answer(fault.status ?? 200, fault.contentType ?? 'application/json', fault.body ?? MALFORMED_JSON);
    case 'html-200':
      return answer(fault.status ?? 200, fault.contentType ?? 'text/html; charset=utf-8', fault.body ?? LOGIN_PAGE);
    case 'empty-body':
      return answer(fault.status ?? 200, fault.contentType ?? 'application/json', fault.body ?? '');
  }
}

function answer(status: number, contentType: string, body: string): SimResponse {
  return { status, headers: { 'Content-Type': contentType }, body };
}

/** Looks like the start of a real answer that was cut off. */
const MALFORMED_JSON = '{"items": [{"apiVersion": "prow.k8s.io/v1", "kind": "ProwJob", "metadata": {"name": "';

/** What a client gets when an SSO proxy intercepts the API call: 200, but a login page. */
const LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Log in</title></head>
<body><form method="post" action="/oauth/start"><button type="submit">Log in with OpenShift</button></form></body>
</html>
`;

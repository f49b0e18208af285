export type ServiceName = 'release-controller' | 'deck' | 'gangway';

export const ENDPOINTS = [
  'rc.latest',
  'rc.tags',
  'rc.release',
  'rc.accepted',
  'deck.prowjobs',
  'deck.prowjob',
  'gangway.create',
  'gangway.get',
  'gangway.list',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

/** Counted on top of the endpoints: ProwJobs Gangway really created (a faulted create may or may not have). */
export const CREATED_COUNTER = 'gangway.created';

const PREFIX_OF_SERVICE: Record<ServiceName, string> = {
  'release-controller': 'rc.',
  deck: 'deck.',
  gangway: 'gangway.',
};

export function serviceOfEndpoint(endpoint: Endpoint): ServiceName {
  return (Object.keys(PREFIX_OF_SERVICE) as ServiceName[]).find((s) => endpoint.startsWith(PREFIX_OF_SERVICE[s]))!;
}

export interface RequestLogEntry {
  seq: number;
  /** When the answer was sent (or the request dropped): after any injected latency or hold. */
  time: string;
  /** When the request arrived, before any injected latency or hold. */
  arrivedAt: string;
  service: ServiceName;
  method: string;
  path: string;
  query: Record<string, string>;
  /** The status sent; 0 when the connection was reset instead of answered. */
  status: number;
  body?: unknown;
  authorized?: boolean;
  /** Streamed answers only: body bytes produced, once the stream ended. */
  bytes?: number;
  /** Body bytes sent on the wire (after gzip); for a streamed answer, once the stream ended. */
  sentBytes?: number;
}

/** One log and one set of counters shared by the three servers, so `seq` orders requests across them. */
export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private lastSeq = 0;
  private counts = new Map<string, number>();

  constructor() {
    this.clear();
  }

  nextSeq(): number {
    return ++this.lastSeq;
  }

  /** Returns the entry itself, so a streamed answer can add its sizes when it ends. */
  record(entry: RequestLogEntry): RequestLogEntry {
    this.entries.push(entry);
    return entry;
  }

  requests(service?: ServiceName): RequestLogEntry[] {
    return this.entries
      .filter((e) => service === undefined || e.service === service)
      .sort((a, b) => a.seq - b.seq)
      .map((e) => structuredClone(e));
  }

  increment(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  counters(service?: ServiceName): Record<string, number> {
    const prefix = service === undefined ? '' : PREFIX_OF_SERVICE[service];
    return Object.fromEntries([...this.counts].filter(([key]) => key.startsWith(prefix)));
  }

  clear(): void {
    this.entries = [];
    this.lastSeq = 0;
    // Every known key starts at 0 so a test can assert "never called" without `?? 0`.
    this.counts = new Map([...ENDPOINTS, CREATED_COUNTER].map((key) => [key, 0]));
  }
}

import type { AxiosInstance, AxiosResponse } from 'axios';
import { UpstreamError } from './errors';
import { bodyText, createHttp, errorForNetwork, errorForStatus, excerpt, RAW_BODY, type UpstreamObserver } from './http';
import type { RateLimiter } from './rateLimiter';

export interface CreateExecutionRequest {
  jobName: string;
  envs: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface JobExecution {
  id: string;
  job_name?: string;
  job_type?: string;
  job_status?: string;
  gcs_path?: string;
  create_time?: string;
  job_url?: string;
}

export interface CreatedExecution {
  httpStatus: number;
  execution: JobExecution;
}

export interface GangwayClientOptions {
  baseUrl: string;
  timeoutMs: number;
  /** `body`: POST /v1/executions with job_name; `path`: POST /v1/executions/<job> (the bash step's form). */
  createForm: 'body' | 'path';
  token: () => Promise<string>;
  /** Shared by every request of this process: Gangway's proxy limits requests per source. */
  rateLimiter?: RateLimiter;
  /** Hears each wait for a rate-limit slot, for the log. */
  onRateLimitWait?: (waitMs: number, what: string) => void;
  /** Hears each request's status class, for the metrics. */
  observer?: UpstreamObserver;
}

// Gangway answers 500 for an unknown job: retrying will not make the job exist.
const UNKNOWN_JOB = /failed to find associated periodic job/i;

export class GangwayClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: GangwayClientOptions) {
    this.http = createHttp(options.baseUrl, options.timeoutMs, { upstream: 'gangway', observer: options.observer });
  }

  /**
   * POST one execution. `signal` (the activity's cancellation, or its attempt's deadline) ends
   * the wait for a rate-limit slot without sending, and aborts a request under way: a create
   * abandoned by its attempt must not reach Gangway after the next attempt has started.
   */
  async createExecution(request: CreateExecutionRequest, opts: RequestOptions = {}): Promise<CreatedExecution> {
    const token = await this.options.token();
    return redactingToken(token, () => this.create(request, token, opts.signal));
  }

  /** Every execution of one job that Gangway knows, newest or not: it reads the cluster, so it does not lag like Deck. */
  async listExecutions(jobName: string, opts: RequestOptions = {}): Promise<JobExecution[]> {
    const token = await this.options.token();
    return redactingToken(token, () => this.list(jobName, token, opts.signal));
  }

  private async create(request: CreateExecutionRequest, token: string, signal?: AbortSignal): Promise<CreatedExecution> {
    const what = `Gangway create ${request.jobName}`;
    const podSpecOptions = { envs: request.envs, labels: request.labels, annotations: request.annotations };
    const byPath = this.options.createForm === 'path';
    const url = byPath ? `/v1/executions/${encodeURIComponent(request.jobName)}` : '/v1/executions';
    const body = {
      ...(byPath ? {} : { job_name: request.jobName }),
      job_execution_type: '1',
      pod_spec_options: podSpecOptions,
    };
    const res = await this.send(what, signal, () =>
      this.http.post(url, body, { headers: this.headers(token), ...RAW_BODY, ...(signal ? { signal } : {}) }),
    );
    if (res.status === 500 && UNKNOWN_JOB.test(String(res.data))) {
      throw new UpstreamError('gangway', `${what}: HTTP 500 failed to find associated periodic job`, false, 500);
    }
    if (res.status < 200 || res.status > 299) throw errorForStatus('gangway', what, res);
    return { httpStatus: res.status, execution: parseExecution(String(res.data), what, res.status) };
  }

  private async list(jobName: string, token: string, signal?: AbortSignal): Promise<JobExecution[]> {
    const what = `Gangway list executions of ${jobName}`;
    const res = await this.send(what, signal, () =>
      this.http.get('/v1/executions', {
        params: { job_name: jobName },
        headers: this.headers(token),
        ...RAW_BODY,
        ...(signal ? { signal } : {}),
      }),
    );
    if (res.status !== 200) throw errorForStatus('gangway', what, res);
    let json: unknown;
    try {
      json = JSON.parse(String(res.data));
    } catch {
      throw new UpstreamError('gangway', `${what}: HTTP 200 with a body that is not JSON (${excerpt(res.data, 60)})`, true, 200);
    }
    const list = (json as { job_execution?: unknown })?.job_execution ?? [];
    if (!Array.isArray(list)) throw new UpstreamError('gangway', `${what}: job_execution is not a list`, true, 200);
    return list.filter((e): e is JobExecution => typeof (e as JobExecution)?.id === 'string' && (e as JobExecution).id !== '');
  }

  private headers(token: string): Record<string, string> {
    return { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' };
  }

  private async send(what: string, signal: AbortSignal | undefined, call: () => Promise<AxiosResponse>): Promise<AxiosResponse> {
    try {
      await this.options.rateLimiter?.acquire((waitMs) => this.options.onRateLimitWait?.(waitMs, what), signal);
    } catch (err) {
      throw abandoned(what, signal, err);
    }
    if (signal?.aborted) throw abandoned(what, signal);
    let res: AxiosResponse;
    try {
      res = await call();
    } catch (err) {
      if (signal?.aborted) throw abandoned(what, signal, err);
      throw errorForNetwork('gangway', what, err);
    }
    // A cut-off answer is transient even to a create: a retry looks for what the POST created first.
    res.data = bodyText('gangway', what, res);
    return res;
  }
}

/** Per request: `signal` abandons it (see createExecution). */
export interface RequestOptions {
  signal?: AbortSignal;
}

/**
 * Why a request was abandoned: the signal's own reason when it is an error (a cancelled
 * activity's CancelledFailure, the attempt's deadline), so the caller sees what stopped it.
 */
function abandoned(what: string, signal: AbortSignal | undefined, err?: unknown): unknown {
  if (!signal?.aborted) return err;
  if (signal.reason instanceof Error && signal.reason.name !== 'AbortError') return signal.reason;
  return new UpstreamError('gangway', `${what}: abandoned (aborted before an answer)`, true);
}

function parseExecution(text: string, what: string, status: number): JobExecution {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Transient: the job may well have been created, and a retried trigger looks for it by its
    // label before it posts again (activities/earlierTrigger.ts), so the retry is not blind.
    throw new UpstreamError('gangway', `${what}: HTTP ${status} with a body that is not JSON (${excerpt(text, 60) || 'empty body'})`, true, status);
  }
  const id = (json as { id?: unknown })?.id;
  if (typeof id !== 'string' || !id) {
    throw new UpstreamError('gangway', `${what}: HTTP ${status} answer has no execution id`, true, status);
  }
  return json as JobExecution;
}

/** Defence in depth: an upstream that echoes the request must not carry the token into a log. */
async function redactingToken<T>(token: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof UpstreamError ? scrub(err, token) : err;
  }
}

function scrub(error: UpstreamError, token: string): UpstreamError {
  if (!token || !error.message.includes(token)) return error;
  return new UpstreamError(
    error.upstream,
    error.message.split(token).join('[REDACTED]'),
    error.retryable,
    error.httpStatus,
    error.retryAfterMs,
  );
}

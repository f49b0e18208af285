import type { AxiosInstance } from 'axios';
import type { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import type { DeckRun, DeckSnapshot, JobSpec, ProwJobState } from '../domain/types';
import type { ExecutionState } from '../domain/follow';
import { labelKeys } from '../domain/labels';
import { UpstreamError } from './errors';
import { bodyText, createHttp, errorForNetwork, errorForStatus, excerpt, RAW_BODY, type UpstreamObserver } from './http';
import { streamProwJobs } from './deckBody';

const KNOWN_STATES = new Set(['scheduling', 'triggered', 'pending', 'success', 'failure', 'aborted', 'error']);

export interface DeckQuery {
  org: string;
  repo: string;
  jobs: JobSpec[];
  labelPrefix: string;
}

export class DeckClient implements DeckProwJobReader {
  private readonly http: AxiosInstance;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
    private readonly observer?: UpstreamObserver,
  ) {
    this.http = createHttp(baseUrl, timeoutMs, { upstream: 'deck', observer });
  }

  /** One request for the whole pass, filtered server-side to the OSC repo, parsed as a stream. */
  async recentRuns(query: DeckQuery): Promise<DeckSnapshot> {
    const what = 'Deck /prowjobs.js';
    let res;
    try {
      res = await this.http.get<Readable>('/prowjobs.js', {
        params: { org: query.org, repo: query.repo, omit: 'annotations,decoration_config' },
        responseType: 'stream',
        decompress: false,
        headers: { 'Accept-Encoding': 'gzip' },
      });
    } catch (err) {
      throw errorForNetwork('deck', what, err);
    }
    if (res.status !== 200) {
      const text = await readSome(res.data);
      throw errorForStatus('deck', what, res, text);
    }
    const wanted = new Map(query.jobs.map((j) => [j.name, j]));
    const keys = labelKeys(query.labelPrefix);
    const runs: DeckRun[] = [];
    const onBytes = this.observer?.deckBytes?.bind(this.observer);
    if (onBytes) res.data.on('data', (chunk: Buffer) => onBytes('prowjobs.js', chunk.length));
    const counted = await streamProwJobs(
      res.data,
      (item) => {
        const run = toDeckRun(item, wanted, keys);
        if (run) runs.push(run);
      },
      this.timeoutMs,
      String(res.headers['content-encoding'] ?? ''),
    );
    return { fetchedAt: new Date().toISOString(), scanned: counted.items, runs };
  }

  /** `GET /prowjob?prowjob=<id>`: one ProwJob's labels. */
  async prowJobLabels(id: string): Promise<ProwJobLabels> {
    const pj = await this.prowJob(id);
    if (!pj) return { state: 'missing' };
    const labels: Record<string, string> = {};
    if (isObj(pj.metadata.labels)) for (const [k, v] of Object.entries(pj.metadata.labels)) if (typeof v === 'string') labels[k] = v;
    return { state: 'found', labels };
  }

  /**
   * `GET /prowjob?prowjob=<id>`: where one execution is (its ProwJob's state, Prow URL and
   * completion time), for follow-through. `missing` when Deck does not have it: not a verdict,
   * as Deck's cache shows a new job late and forgets old ones. A state this watcher does not
   * know is `unknown`.
   */
  async executionState(id: string): Promise<ExecutionState> {
    const pj = await this.prowJob(id);
    if (!pj) return { state: 'missing' };
    const status = isObj(pj.status) ? pj.status : {};
    const raw = str(status.state) ?? 'unknown';
    const answer: ExecutionState = { state: (KNOWN_STATES.has(raw) ? raw : 'unknown') as ProwJobState };
    const url = str(status.url);
    const completionTime = str(status.completionTime);
    const podName = str(status.pod_name);
    if (url) answer.url = url;
    if (completionTime) answer.completionTime = completionTime;
    if (podName) answer.podName = podName;
    return answer;
  }

  /** One ProwJob, as YAML; undefined on 404. Failures are classified here, for both readers above. */
  private async prowJob(id: string): Promise<{ metadata: Obj; status?: unknown } | undefined> {
    const what = `Deck /prowjob ${id}`;
    let res;
    try {
      res = await this.http.get('/prowjob', { params: { prowjob: id }, ...RAW_BODY });
    } catch (err) {
      throw errorForNetwork('deck', what, err);
    }
    if (Buffer.isBuffer(res.data)) this.observer?.deckBytes?.('prowjob', res.data.length);
    // Strictly inflated: a cut answer could still parse, without the fields this lookup is for.
    res.data = bodyText('deck', what, res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw errorForStatus('deck', what, res);
    let doc: unknown;
    try {
      doc = parseYaml(String(res.data));
    } catch {
      throw new UpstreamError('deck', `${what}: HTTP 200 with a body that is not YAML (${excerpt(res.data, 60)})`, true, 200);
    }
    const metadata = isObj(doc) && isObj(doc.metadata) ? doc.metadata : undefined;
    if (!metadata || str(metadata.name) !== id) {
      throw new UpstreamError('deck', `${what}: HTTP 200 but the answer is not that ProwJob (${excerpt(res.data, 60)})`, true, 200);
    }
    return { metadata, status: (doc as Obj).status };
  }
}

/** One ProwJob's labels, or `missing` when Deck does not have it (yet: Deck reads a cache that lags). */
export type ProwJobLabels = { state: 'found'; labels: Record<string, string> } | { state: 'missing' };

export interface DeckProwJobReader {
  prowJobLabels(id: string): Promise<ProwJobLabels>;
}

async function readSome(stream: Readable, limit = 2048): Promise<string> {
  let text = '';
  try {
    for await (const chunk of stream) {
      text += chunk.toString();
      if (text.length >= limit) break;
    }
  } catch {
    // A broken error body is not worth more than the status we already have.
  }
  stream.destroy();
  return text.slice(0, limit);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Reduce one ProwJob to the facts the decision needs; undefined if it is not one of our jobs. */
export function toDeckRun(
  item: unknown,
  wanted: Map<string, JobSpec>,
  keys: ReturnType<typeof labelKeys>,
): DeckRun | undefined {
  if (!isObj(item) || !isObj(item.spec) || !isObj(item.metadata)) return undefined;
  const job = str(item.spec.job);
  const spec = job ? wanted.get(job) : undefined;
  const id = str(item.metadata.name);
  if (!job || !spec || !id) return undefined;
  const status = isObj(item.status) ? item.status : {};
  const labels = isObj(item.metadata.labels) ? item.metadata.labels : {};
  const rawState = str(status.state) ?? 'unknown';
  const run: DeckRun = {
    id,
    job,
    state: (KNOWN_STATES.has(rawState) ? rawState : 'unknown') as ProwJobState,
  };
  const startTime = str(status.startTime);
  const completionTime = str(status.completionTime);
  const url = str(status.url);
  const payloadLabel = str(labels[keys.payload]);
  const triggerKey = str(labels[keys.triggerKey]);
  const payloadEnvValue = spec.payloadEnv ? findEnv(item.spec, spec.payloadEnv) : undefined;
  if (startTime) run.startTime = startTime;
  if (completionTime) run.completionTime = completionTime;
  if (url) run.url = url;
  if (payloadLabel) run.payloadLabel = payloadLabel;
  if (triggerKey) run.triggerKey = triggerKey;
  if (payloadEnvValue) run.payloadEnvValue = payloadEnvValue;
  return run;
}

function findEnv(spec: Obj, name: string): string | undefined {
  const podSpec = isObj(spec.pod_spec) ? spec.pod_spec : undefined;
  const containers = Array.isArray(podSpec?.containers) ? podSpec.containers : [];
  for (const c of containers) {
    const env = isObj(c) && Array.isArray(c.env) ? c.env : [];
    for (const e of env) {
      if (isObj(e) && e.name === name && typeof e.value === 'string') return e.value;
    }
  }
  return undefined;
}

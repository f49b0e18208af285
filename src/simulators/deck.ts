import { Readable } from 'node:stream';
import YAML from 'yaml';
import { goNotFound, goTextError, jsonResponse, type SimRequest, type SimResponse } from './http';
import { buildProwJob, moveToState, PROW_JOB_STATES, type ProwJob, type ProwJobState, stableUuid } from './prowJob';
import { resolveScenarioTime, type Scenario, type ScenarioOutcome, type ScenarioProwJob } from './scenario';
import type { SimService } from './server';
import { SimulatorInputError } from './validation';

/** The ProwJobs the cluster holds: what Deck lists and where Gangway creates. */
export class DeckState {
  private jobs = new Map<string, ProwJob>();
  /** When Gangway created each job: Deck serves a cache of the cluster that shows new jobs only later. */
  private createdAtMs = new Map<string, number>();
  private lagMs = 0;
  /** How the executions Gangway creates progress by themselves (scenario `deck.outcomes`). */
  private outcomes: ScenarioOutcome[] = [];
  /** Executions created per job and envs (payload), for `outcomes`' Nth state. */
  private createdPerJob = new Map<string, number>();
  /** A created execution's planned moves: pending at `pendingAtMs`, `state` at `finalAtMs`. */
  private plans = new Map<string, { pendingAtMs: number; finalAtMs: number; state: ProwJobState }>();
  /** Extra ProwJobs of other repos streamed with every list answer (load tests). */
  fillerProwJobs = 0;
  ignoreRepoFilter = false;

  constructor(scenario: Scenario, now = new Date()) {
    this.reset(scenario, now);
  }

  /** Relative scenario times are resolved against `now`, so "-3h" stays 3 hours old after a reset. */
  reset(scenario: Scenario, now = new Date()): void {
    this.jobs = new Map();
    this.createdAtMs = new Map();
    this.lagMs = scenario.deck.lagMs;
    this.fillerProwJobs = scenario.deck.fillerProwJobs;
    this.ignoreRepoFilter = scenario.deck.ignoreRepoFilter;
    this.outcomes = scenario.deck.outcomes ?? [];
    this.createdPerJob = new Map();
    this.plans = new Map();
    scenario.deck.prowJobs.forEach((spec, index) => this.add(expand(spec, index, scenario, now)));
  }

  /** How long a job created from now on stays out of Deck's answers (Gangway sees it at once). */
  setLag(ms: number): void {
    if (!(ms >= 0)) throw new SimulatorInputError(`deck: lagMs must be >= 0, got ${ms}`);
    this.lagMs = ms;
  }

  add(pj: ProwJob): void {
    this.jobs.set(pj.metadata.name, structuredClone(pj));
  }

  /** A job just created through Gangway: in the cluster now, in Deck's answers after the lag. */
  addCreated(pj: ProwJob, now = Date.now()): void {
    this.add(pj);
    this.createdAtMs.set(pj.metadata.name, now);
    const job = pj.spec.job;
    const envs = (pj.spec.pod_spec?.containers ?? []).flatMap((c) => (c.env ?? []).map((e) => `${e.name}=${e.value ?? ''}`));
    const outcome = this.outcomes.find(
      (o) => (o.job === '*' || o.job === job || job.endsWith(`-${o.job}`)) && (o.payload === undefined || envs.some((e) => e.includes(o.payload!))),
    );
    // Counted per job and payload: a retry of the same payload is its Nth execution.
    const key = `${job}\n${[...envs].sort().join('\n')}`;
    const n = (this.createdPerJob.get(key) ?? 0) + 1;
    this.createdPerJob.set(key, n);
    if (outcome) {
      const state = outcome.states[Math.min(n, outcome.states.length) - 1]!;
      this.plans.set(pj.metadata.name, { pendingAtMs: now + Math.floor(outcome.afterMs / 2), finalAtMs: now + outcome.afterMs, state });
    }
  }

  /** Moves the executions with a plan as far as `now` says (read time: no timers to stop). */
  private advance(now = Date.now()): void {
    for (const [id, plan] of this.plans) {
      const pj = this.jobs.get(id);
      if (!pj) {
        this.plans.delete(id);
        continue;
      }
      if (now >= plan.finalAtMs) {
        if (pj.status.state === 'triggered') moveToState(pj, 'pending', new Date(plan.pendingAtMs));
        moveToState(pj, plan.state, new Date(plan.finalAtMs));
        this.plans.delete(id);
      } else if (now >= plan.pendingAtMs && pj.status.state === 'triggered') {
        moveToState(pj, 'pending', new Date(plan.pendingAtMs));
      }
    }
  }

  /** The cluster's view (what Gangway reads). */
  get(id: string): ProwJob | undefined {
    this.advance();
    const pj = this.jobs.get(id);
    return pj && structuredClone(pj);
  }

  /** Deck's view: a job created less than the lag ago is not there yet. */
  getVisible(id: string, now = Date.now()): ProwJob | undefined {
    return this.isVisible(id, now) ? this.get(id) : undefined;
  }

  listVisible(now = Date.now()): ProwJob[] {
    return this.list().filter((pj) => this.isVisible(pj.metadata.name, now));
  }

  private isVisible(id: string, now: number): boolean {
    const created = this.createdAtMs.get(id);
    return created === undefined || now - created >= this.lagMs;
  }

  /** Newest first by status.startTime, as Deck lists them; jobs without a start time last. */
  list(): ProwJob[] {
    this.advance();
    const startMs = (pj: ProwJob) => (pj.status.startTime ? Date.parse(pj.status.startTime) : -Infinity);
    // Start times have second precision: among equals, the one added last is the newest.
    return [...this.jobs.values()]
      .map((pj, added) => ({ pj, added }))
      .sort((a, b) => startMs(b.pj) - startMs(a.pj) || b.added - a.added)
      .map(({ pj }) => structuredClone(pj));
  }

  setState(id: string, state: ProwJobState, at = new Date()): void {
    const pj = this.jobs.get(id);
    if (!pj) throw new SimulatorInputError(`deck: no ProwJob ${id}`);
    // A test's move wins over the scenario's plan.
    this.plans.delete(id);
    moveToState(pj, state, at);
  }
}

function expand(spec: ScenarioProwJob, index: number, scenario: Scenario, now: Date): ProwJob {
  // Without a start time, jobs are spaced 20 minutes apart in file order, the first the newest.
  const startTime = spec.startTime ? resolveScenarioTime(spec.startTime, now) : new Date(now.getTime() - (index + 1) * 20 * 60_000);
  const envs = { ...spec.envs, ...(spec.releaseImageLatest ? { RELEASE_IMAGE_LATEST: spec.releaseImageLatest } : {}) };
  return buildProwJob({
    id: spec.id ?? stableUuid(`${index}/${spec.job}`),
    job: spec.job,
    type: spec.type,
    state: spec.state,
    org: spec.org ?? scenario.deck.org,
    repo: spec.repo ?? scenario.deck.repo,
    baseRef: spec.baseRef ?? scenario.deck.baseRef,
    startTime,
    completionTime: spec.completionTime ? resolveScenarioTime(spec.completionTime, now) : defaultCompletion(startTime, now),
    envs,
    labels: spec.labels,
    annotations: spec.annotations,
  });
}

/** Finished jobs ran 90 minutes, or half the time since they started if that is less. */
function defaultCompletion(start: Date, now: Date): Date {
  const elapsed = Math.max(0, now.getTime() - start.getTime());
  return new Date(start.getTime() + Math.min(90 * 60_000, elapsed / 2));
}

const NO_CACHE = { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', Expires: '0' };

export function deckService(state: DeckState): SimService {
  return {
    service: 'deck',
    gzip: true,
    route(req) {
      if (req.method === 'GET' && req.pathname === '/prowjobs.js') return { endpoint: 'deck.prowjobs', handle: () => listProwJobs(state, req) };
      if (req.method === 'GET' && req.pathname === '/prowjob') return { endpoint: 'deck.prowjob', handle: () => oneProwJob(state, req) };
      return { handle: goNotFound };
    },
    control: (req) => control(state, req),
  };
}

function listProwJobs(state: DeckState, req: SimRequest): SimResponse {
  const omit = new Set((req.params.get('omit') ?? '').split(',').map((s) => s.trim()));
  const org = req.params.get('org') ?? '';
  const repo = req.params.get('repo') ?? '';
  const items = state
    .listVisible()
    .filter((pj) => state.ignoreRepoFilter || matchesRepo(pj, org, repo))
    .map((pj) => omitFields(pj, omit));
  const variable = req.params.get('var') ?? '';
  // With var=, Deck answers JavaScript for a <script> tag: not JSON, whatever the client hoped.
  const headers = { ...NO_CACHE, 'Content-Type': variable !== '' ? 'application/javascript' : 'application/json' };
  const [before, after] = variable !== '' ? [`var ${variable} = `, ';'] : ['', ''];
  if (state.fillerProwJobs > 0) {
    return { status: 200, headers, body: Readable.from(bulkAnswer(before, items, state.fillerProwJobs, omit, after), { objectMode: false }) };
  }
  return { status: 200, headers, body: `${before}${JSON.stringify({ items })}${after}` };
}

const FILLER_ID = '00000000-f111-4e11-8000-000000000000';
const FILLER_JOBS = [
  'periodic-ci-openshift-release-master-nightly-4.21-e2e-aws-ovn',
  'periodic-ci-openshift-release-master-nightly-4.21-e2e-gcp-ovn-upgrade',
  'periodic-ci-openshift-release-master-ci-4.20-upgrade-from-stable-4.19-e2e-azure-ovn-upgrade',
  'periodic-ci-openshift-release-master-nightly-4.22-e2e-metal-ipi-ovn-ipv6',
  'periodic-ci-openshift-multiarch-master-nightly-4.21-ocp-e2e-aws-ovn-arm64',
  'periodic-ci-openshift-hypershift-release-4.21-periodics-e2e-aws-ovn',
  'periodic-ci-openshift-release-master-okd-scos-4.21-e2e-aws-ovn',
];
const FILLER_STATES: ProwJobState[] = ['success', 'failure', 'pending', 'success', 'aborted', 'success', 'error'];

/**
 * A very large answer for load tests: `{"items":[...]}` with `filler` ProwJobs of other repos'
 * jobs, the real (visible) ones spread among them, produced in ~64 KB chunks as it is read.
 */
function* bulkAnswer(before: string, real: ProwJob[], filler: number, omit: Set<string>, after: string): Generator<string> {
  const now = new Date();
  // One serialized template per job name; only the id differs between copies (uuid-shaped, same length).
  const templates = FILLER_JOBS.map((job, i) =>
    JSON.stringify(
      omitFields(
        buildProwJob({
          id: FILLER_ID,
          job,
          type: 'periodic',
          state: FILLER_STATES[i % FILLER_STATES.length]!,
          org: 'openshift',
          repo: 'release',
          baseRef: 'master',
          startTime: new Date(now.getTime() - (i + 2) * 3_600_000),
          completionTime: new Date(now.getTime() - (i + 1) * 3_600_000),
          envs: { RELEASE_IMAGE_LATEST: `registry.ci.openshift.org/ocp/release:4.21.0-0.nightly-2026-11-0${(i % 9) + 1}-000000` },
        }),
        omit,
      ),
    ).split(FILLER_ID),
  );
  const realAt = real.map((_, j) => Math.floor(((j + 1) * filler) / (real.length + 1)));
  let chunk = `${before}{"items":[`;
  let first = true;
  let r = 0;
  const add = (json: string) => {
    chunk += first ? json : `,${json}`;
    first = false;
  };
  for (let i = 0; i <= filler; i++) {
    while (r < real.length && realAt[r] === i) add(JSON.stringify(real[r++]));
    if (i === filler) break;
    const id = `${(i + 1).toString(16).padStart(8, '0')}-f111-4e11-8000-${((i * 2654435761) >>> 0).toString(16).padStart(12, '0')}`;
    add(templates[i % templates.length]!.join(id));
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]}${after}`;
}

/** Periodics have no spec.refs; their repository is in extra_refs[0]. */
function matchesRepo(pj: ProwJob, org: string, repo: string): boolean {
  if (org === '' && repo === '') return true;
  const refs = pj.spec.refs ?? pj.spec.extra_refs?.[0];
  if (!refs) return false;
  return (org === '' || refs.org === org) && (repo === '' || refs.repo === repo);
}

function omitFields(pj: ProwJob, omit: Set<string>): ProwJob {
  if (omit.has('annotations')) delete pj.metadata.annotations;
  if (omit.has('labels')) delete pj.metadata.labels;
  if (omit.has('decoration_config')) delete pj.spec.decoration_config;
  // Deck keeps one empty container per real one, so the page can count them; env is gone.
  if (omit.has('pod_spec') && pj.spec.pod_spec) {
    pj.spec.pod_spec = { containers: pj.spec.pod_spec.containers.map(() => ({ name: '', resources: {} })) };
  }
  return pj;
}

function oneProwJob(state: DeckState, req: SimRequest): SimResponse {
  const id = req.params.get('prowjob') ?? '';
  if (id === '') return goTextError(400, "request did not provide the 'prowjob' query parameter");
  const pj = state.getVisible(id);
  if (!pj) return goTextError(404, `ProwJob not found: prowjobs.prow.k8s.io "${id}" not found`);
  // Like sigs.k8s.io/yaml (go-yaml v2): sorted keys, unindented sequences, YAML 1.1 quoting (timestamps
  // and "true" stay strings). Go sniffs the type as plain text.
  return {
    status: 200,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    body: YAML.stringify(pj, { sortMapEntries: true, indentSeq: false, version: '1.1' }),
  };
}

/** Deck's own control requests: read the ProwJobs, move one to another state (for tests in another process). */
function control(state: DeckState, req: SimRequest): SimResponse | undefined {
  if (req.method === 'GET' && req.pathname === '/__sim/prowjobs') return jsonResponse(200, state.list(), { pretty: true });
  if (req.method === 'POST' && req.pathname === '/__sim/lag') {
    const lagMs = (req.json as { lagMs?: unknown } | undefined)?.lagMs;
    if (typeof lagMs !== 'number') throw new SimulatorInputError('lagMs: expected a number of milliseconds');
    state.setLag(lagMs);
    return jsonResponse(200, { ok: true });
  }
  const m = /^\/__sim\/prowjobs\/([^/]+)\/state$/.exec(req.pathname);
  if (req.method === 'POST' && m) {
    const stateName = (req.json as { state?: unknown } | undefined)?.state;
    if (!PROW_JOB_STATES.includes(stateName as ProwJobState)) {
      throw new SimulatorInputError(`state: expected one of ${PROW_JOB_STATES.join(', ')}`);
    }
    state.setState(decodeURIComponent(m[1]!), stateName as ProwJobState);
    return jsonResponse(200, { ok: true });
  }
  return undefined;
}

/**
 * ProwJob objects shaped like the real ones (see fixtures/real/ci-tools/prowjobs-periodic-release-image-override.yaml
 * and fixtures/real/prow/prowjob-valid-periodic.yaml), built from a few facts.
 */

export const PROW_JOB_STATES = ['scheduling', 'triggered', 'pending', 'success', 'failure', 'aborted', 'error'] as const;
export type ProwJobState = (typeof PROW_JOB_STATES)[number];

export const PROW_JOB_TYPES = ['periodic', 'presubmit', 'postsubmit', 'batch'] as const;
export type ProwJobType = (typeof PROW_JOB_TYPES)[number];

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  resources?: Record<string, unknown>;
}

export interface Pull {
  number: number;
  author: string;
  sha: string;
  title?: string;
}

export interface Refs {
  org: string;
  repo: string;
  base_ref?: string;
  base_sha?: string;
  pulls?: Pull[];
  workdir?: boolean;
}

export interface ProwJob {
  apiVersion: 'prow.k8s.io/v1';
  kind: 'ProwJob';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    creationTimestamp: string | null;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    type: ProwJobType;
    agent: string;
    cluster: string;
    namespace: string;
    job: string;
    refs?: Refs;
    extra_refs?: Refs[];
    decoration_config?: Record<string, unknown>;
    pod_spec?: { containers: Container[]; serviceAccountName?: string };
    report?: boolean;
  };
  status: {
    state: ProwJobState;
    startTime: string | null;
    pendingTime?: string;
    completionTime?: string;
    url?: string;
    build_id?: string;
    pod_name?: string;
  };
}

/** The facts a ProwJob is built from; everything else is filled in the way Prow does. */
export interface ProwJobFacts {
  id: string;
  job: string;
  type: ProwJobType;
  state: ProwJobState;
  org: string;
  repo: string;
  baseRef: string;
  startTime: Date;
  completionTime?: Date;
  /** Appended after the job's own env, in every container (Gangway's pod_spec_options.envs). */
  envs?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export const LABEL_VALUE_MAX_LENGTH = 63;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Kubernetes' rule for label values, which Gangway applies to pod_spec_options.labels. */
export function isValidLabelValue(value: string): boolean {
  return value.length <= LABEL_VALUE_MAX_LENGTH && LABEL_VALUE.test(value);
}

/** Prow cuts the job name to fit a label value, so `prow.k8s.io/job` is not the full name: match on spec.job. */
export function jobNameForLabel(job: string): string {
  if (job.length <= LABEL_VALUE_MAX_LENGTH) return job;
  return job.slice(0, LABEL_VALUE_MAX_LENGTH).replace(/[-_.]+$/, '');
}

export function isFinished(state: ProwJobState): boolean {
  return state === 'success' || state === 'failure' || state === 'aborted' || state === 'error';
}

/** Jobs that a pod was started for have a build id and a Spyglass URL; triggered/scheduling ones do not yet. */
export function hasStarted(state: ProwJobState): boolean {
  return state === 'pending' || isFinished(state);
}

export function buildProwJob(facts: ProwJobFacts): ProwJob {
  const refs: Refs = { org: facts.org, repo: facts.repo, base_ref: facts.baseRef };
  const usesRefs = facts.type !== 'periodic';
  if (usesRefs) {
    refs.base_sha = fakeSha(`${facts.id}/base`);
    if (facts.type === 'presubmit' || facts.type === 'batch') {
      refs.pulls = [{ number: 1, author: 'octocat', sha: fakeSha(`${facts.id}/pull`), title: 'Simulated pull request' }];
    }
  } else {
    refs.workdir = true;
  }
  const pj: ProwJob = {
    apiVersion: 'prow.k8s.io/v1',
    kind: 'ProwJob',
    metadata: {
      name: facts.id,
      namespace: 'ci',
      resourceVersion: '1',
      creationTimestamp: timestamp(facts.startTime),
      labels: {
        ...facts.labels,
        // Prow sets its own labels after the caller's, so they win on a clash.
        'created-by-prow': 'true',
        'prow.k8s.io/context': '',
        'prow.k8s.io/id': facts.id,
        'prow.k8s.io/job': jobNameForLabel(facts.job),
        'prow.k8s.io/refs.base_ref': facts.baseRef,
        'prow.k8s.io/refs.org': facts.org,
        'prow.k8s.io/refs.repo': facts.repo,
        ...(refs.pulls ? { 'prow.k8s.io/refs.pull': String(refs.pulls[0]!.number) } : {}),
        'prow.k8s.io/type': facts.type,
      },
      annotations: { ...facts.annotations, 'prow.k8s.io/context': '', 'prow.k8s.io/job': facts.job },
    },
    spec: {
      type: facts.type,
      agent: 'kubernetes',
      cluster: 'build05',
      namespace: 'ci',
      job: facts.job,
      ...(usesRefs ? { refs } : { extra_refs: [refs] }),
      decoration_config: { grace_period: '1h0m0s', skip_cloning: true, timeout: '24h0m0s' },
      pod_spec: { containers: [ciOperatorContainer(facts)], serviceAccountName: 'ci-operator' },
      report: true,
    },
    status: { state: facts.state, startTime: timestamp(facts.startTime) },
  };
  moveToState(pj, facts.state, facts.completionTime ?? facts.startTime);
  return pj;
}

/**
 * Sets the state and the status fields that come with it: a build id, pod and URL once
 * started, a completion time once finished. `at` is when the transition happened.
 */
export function moveToState(pj: ProwJob, state: ProwJobState, at: Date): void {
  pj.status.state = state;
  if (hasStarted(state)) {
    const startMs = pj.status.startTime ? Date.parse(pj.status.startTime) : at.getTime();
    pj.status.pendingTime ??= timestamp(new Date(Math.min(startMs + 30_000, at.getTime())));
    pj.status.build_id ??= buildIdFor(pj.metadata.name, startMs);
    pj.status.pod_name ??= pj.metadata.name;
    pj.status.url ??= spyglassUrl(pj, pj.status.build_id);
    if (pj.metadata.labels) pj.metadata.labels['prow.k8s.io/build-id'] = pj.status.build_id;
  }
  if (isFinished(state)) pj.status.completionTime = timestamp(at);
  else delete pj.status.completionTime;
}

function ciOperatorContainer(facts: ProwJobFacts): Container {
  const env: EnvVar[] = [{ name: 'HTTP_SERVER_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }];
  for (const [name, value] of Object.entries(facts.envs ?? {})) env.push({ name, value });
  return {
    name: '',
    image: 'quay-proxy.ci.openshift.org/openshift/ci:ci_ci-operator_latest',
    command: ['ci-operator'],
    args: [
      '--gcs-upload-secret=/secrets/gcs/service-account.json',
      '--image-import-pull-secret=/etc/pull-secret/.dockerconfigjson',
      '--report-credentials-file=/etc/report/credentials',
      `--target=${ciOperatorTarget(facts.job)}`,
    ],
    env,
    resources: { requests: { cpu: '10m' } },
  };
}

/** OpenShift periodic names end with the ci-operator test name: `...-downstream-release-azure-ipi-kata`. */
function ciOperatorTarget(job: string): string {
  const m = /-(?:downstream-release|nightly-\d+\.\d+)-(.+)$/.exec(job);
  return m ? m[1]! : job.split('-').slice(-2).join('-');
}

function spyglassUrl(pj: ProwJob, buildId: string): string {
  const base = 'https://prow.ci.openshift.org/view/gs/test-platform-results';
  const refs = pj.spec.refs;
  if (refs?.pulls?.length) {
    return `${base}/pr-logs/pull/${refs.org}_${refs.repo}/${refs.pulls[0]!.number}/${pj.spec.job}/${buildId}`;
  }
  return `${base}/logs/${pj.spec.job}/${buildId}`;
}

/** 19-digit ids like Prow's, stable for a given job so repeated scenario loads agree. */
function buildIdFor(id: string, startMs: number): string {
  return (1_800_000_000_000_000_000n + BigInt(startMs) * 1000n + BigInt(hash(id) % 1000)).toString();
}

function fakeSha(seed: string): string {
  let out = '';
  for (let i = 0; out.length < 40; i++) out += (hash(`${seed}#${i}`) >>> 0).toString(16).padStart(8, '0');
  return out.slice(0, 40);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Kubernetes timestamps have second precision. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Stable UUID-shaped ids for scenario ProwJobs without an explicit id (Gangway's own ids are random). */
export function stableUuid(seed: string): string {
  const hex = fakeSha(seed).slice(0, 32).split('');
  hex[12] = '5';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

import { randomUUID } from 'node:crypto';
import type { DeckState } from './deck';
import { goTextError, jsonResponse, pathSegments, type SimRequest, type SimResponse } from './http';
import { buildProwJob, isValidLabelValue, type ProwJob, type ProwJobState, type ProwJobType, timestamp } from './prowJob';
import type { Scenario } from './scenario';
import type { Route, SimService } from './server';

/** Gangway's answer: a JobExecution in protobuf JSON (snake_case, enums by name). */
export interface JobExecution {
  id: string;
  job_name: string;
  job_type: string;
  job_status: string;
  gcs_path: string;
  create_time?: string;
  completion_time?: string;
  job_url?: string;
}

const STATUS_OF_STATE: Record<ProwJobState, string> = {
  scheduling: 'SCHEDULING',
  triggered: 'TRIGGERED',
  pending: 'PENDING',
  success: 'SUCCESS',
  failure: 'FAILURE',
  aborted: 'ABORTED',
  error: 'ERROR',
};
const JOB_STATUSES = ['JOB_EXECUTION_STATUS_UNSPECIFIED', ...Object.values(STATUS_OF_STATE)];

const TYPE_OF_PROW_TYPE: Record<ProwJobType, string> = {
  periodic: 'PERIODIC',
  postsubmit: 'POSTSUBMIT',
  presubmit: 'PRESUBMIT',
  batch: 'BATCH',
};

/** Enum values protobuf JSON accepts for job_execution_type: the number, its string, or the name. */
const EXECUTION_TYPES: Array<{ name: string; accepted: unknown[] }> = [
  { name: 'JOB_EXECUTION_TYPE_UNSPECIFIED', accepted: [0, '0', 'JOB_EXECUTION_TYPE_UNSPECIFIED', null, undefined] },
  { name: 'PERIODIC', accepted: [1, '1', 'PERIODIC', 'JOB_EXECUTION_TYPE_PERIODIC'] },
  { name: 'POSTSUBMIT', accepted: [2, '2', 'POSTSUBMIT'] },
  { name: 'PRESUBMIT', accepted: [3, '3', 'PRESUBMIT'] },
  { name: 'BATCH', accepted: [4, '4', 'BATCH'] },
];

export interface GangwayDeps {
  deck: DeckState;
  scenario: Scenario;
  /** Called once per ProwJob really created. */
  onCreated(): void;
}

export function gangwayService(deps: GangwayDeps): SimService {
  const { token } = deps.scenario.gangway;
  return {
    service: 'gangway',
    gzip: false,
    route: (req) => guarded(token, req, route(deps, req)),
    logFields: (req) => ({ authorized: authProblem(token, req) === undefined }),
  };
}

/** The auth proxy in front of Gangway answers before Gangway sees the request. */
function guarded(token: string, req: SimRequest, route: Route): Route {
  return {
    endpoint: route.endpoint,
    handle: () => {
      const problem = authProblem(token, req);
      if (problem === 'missing') return goTextError(401, 'Unauthorized');
      if (problem === 'wrong') return goTextError(403, 'Forbidden');
      return route.handle();
    },
  };
}

function authProblem(token: string, req: SimRequest): 'missing' | 'wrong' | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return 'missing';
  return m[1] === token ? undefined : 'wrong';
}

function route(deps: GangwayDeps, req: SimRequest): Route {
  const segments = pathSegments(req.pathname);
  const isExecutions = segments?.[0] === 'v1' && segments[1] === 'executions' && segments.length <= 3;
  if (!segments || !isExecutions) return { handle: () => grpcError(404, 5, 'Not Found') };
  const name = segments[2];
  if (req.method === 'POST') return { endpoint: 'gangway.create', handle: () => create(deps, req, name) };
  if (req.method === 'GET' && name === undefined) return { endpoint: 'gangway.list', handle: () => list(deps, req) };
  if (req.method === 'GET') return { endpoint: 'gangway.get', handle: () => get(deps, name!) };
  return { handle: () => grpcError(405, 12, 'Method Not Allowed') };
}

/** grpc-gateway's error body: the gRPC status code and message. */
function grpcError(httpStatus: number, code: number, message: string): SimResponse {
  return jsonResponse(httpStatus, { code, message, details: [] });
}

const invalidArgument = (message: string) => grpcError(400, 3, message);

interface CreateRequest {
  jobName: string;
  executionType: string;
  hasRefs: boolean;
  envs: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function create(deps: GangwayDeps, req: SimRequest, jobNameInPath: string | undefined): SimResponse {
  const parsed = parseCreateRequest(req, jobNameInPath);
  if (typeof parsed === 'string') return invalidArgument(parsed);
  const problem = validate(parsed);
  if (problem) return invalidArgument(problem);
  if (!deps.scenario.gangway.periodicJobs.includes(parsed.jobName)) {
    // Not a gRPC status upstream, so it surfaces as code 2 (Unknown), HTTP 500.
    return grpcError(500, 2, `failed to find associated periodic job ${JSON.stringify(parsed.jobName)}`);
  }
  const id = randomUUID();
  const rejected = apiServerRejection(id, parsed);
  if (rejected) return grpcError(500, 2, rejected);

  const now = new Date();
  const { org, repo, baseRef } = deps.scenario.deck;
  deps.deck.addCreated(
    buildProwJob({
      id,
      job: parsed.jobName,
      type: 'periodic',
      state: 'triggered',
      org,
      repo,
      baseRef,
      startTime: now,
      envs: parsed.envs,
      labels: parsed.labels,
      annotations: parsed.annotations,
    }),
  );
  deps.onCreated();
  const execution: JobExecution = {
    id,
    job_name: parsed.jobName,
    job_type: 'PERIODIC',
    job_status: 'TRIGGERED',
    gcs_path: '',
    create_time: timestamp(now),
  };
  return jsonResponse(200, execution);
}

const REQUEST_FIELDS = { job_name: 'jobName', job_execution_type: 'jobExecutionType', refs: 'refs', pod_spec_options: 'podSpecOptions' };
const POD_SPEC_OPTION_FIELDS = { envs: 'envs', labels: 'labels', annotations: 'annotations' };

/** Decodes the body as protobuf JSON would (both field spellings, unknown fields rejected); a string is the error. */
function parseCreateRequest(req: SimRequest, jobNameInPath: string | undefined): CreateRequest | string {
  if (req.jsonError) return `proto: syntax error: ${req.jsonError}`;
  const body = req.json ?? {};
  if (!isObject(body)) return 'proto: syntax error: the body must be a JSON object';
  const fields = readFields(body, REQUEST_FIELDS);
  if (typeof fields === 'string') return fields;

  const bodyJobName = fields.job_name ?? '';
  if (typeof bodyJobName !== 'string') return `proto: invalid value for string field job_name: ${JSON.stringify(bodyJobName)}`;
  if (jobNameInPath !== undefined && bodyJobName !== '' && bodyJobName !== jobNameInPath) {
    return `job_name in the body (${JSON.stringify(bodyJobName)}) differs from the one in the path (${JSON.stringify(jobNameInPath)})`;
  }
  const executionType = EXECUTION_TYPES.find((t) => t.accepted.includes(fields.job_execution_type))?.name;
  if (!executionType) return `proto: invalid value for enum field job_execution_type: ${JSON.stringify(fields.job_execution_type)}`;

  const options = fields.pod_spec_options ?? {};
  if (!isObject(options)) return 'proto: invalid value for message field pod_spec_options';
  const optionFields = readFields(options, POD_SPEC_OPTION_FIELDS);
  if (typeof optionFields === 'string') return optionFields;
  const maps: Record<string, Record<string, string>> = {};
  for (const key of ['envs', 'labels', 'annotations'] as const) {
    const map = optionFields[key] ?? {};
    if (!isObject(map) || Object.values(map).some((v) => typeof v !== 'string')) {
      return `proto: invalid value for map<string, string> field pod_spec_options.${key}`;
    }
    maps[key] = map as Record<string, string>;
  }
  return {
    jobName: jobNameInPath ?? bodyJobName,
    executionType,
    hasRefs: fields.refs !== undefined && fields.refs !== null,
    envs: maps.envs!,
    labels: maps.labels!,
    annotations: maps.annotations!,
  };
}

/** Gangway's own checks, in its order and with its messages. */
function validate(r: CreateRequest): string | undefined {
  if (r.jobName === '') return 'job_name field cannot be empty';
  if (r.executionType === 'JOB_EXECUTION_TYPE_UNSPECIFIED') return 'unsupported JobExecutionType: JOB_EXECUTION_TYPE_UNSPECIFIED';
  if (r.executionType === 'PERIODIC' && r.hasRefs) return 'periodic jobs cannot also have gitRefs';
  if (r.executionType !== 'PERIODIC') {
    return r.hasRefs
      ? `the simulator only runs PERIODIC executions, not ${r.executionType}`
      : `gitRefs must be defined for ${JSON.stringify(r.executionType)}`;
  }
  for (const [k, v] of Object.entries(r.envs)) {
    if (k === '' || v === '') return `invalid environment variable key/value pair: ${JSON.stringify(k)}, ${JSON.stringify(v)}`;
  }
  for (const [k, v] of Object.entries(r.labels)) {
    if (k === '' || v === '') return `invalid label key/value pair: ${JSON.stringify(k)}, ${JSON.stringify(v)}`;
    if (!isValidLabelValue(v)) {
      return `invalid label: the following errors found: ["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters (value ${JSON.stringify(v)})"]`;
    }
  }
  for (const [k, v] of Object.entries(r.annotations)) {
    if (k === '' || v === '') return `invalid annotation key/value pair: ${JSON.stringify(k)}, ${JSON.stringify(v)}`;
  }
  return undefined;
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** What Gangway does not check but the Kubernetes API server refuses when Gangway creates the ProwJob. */
function apiServerRejection(id: string, r: CreateRequest): string | undefined {
  const invalid = (field: string, value: string) => `ProwJob.prow.k8s.io ${JSON.stringify(id)} is invalid: ${field}: Invalid value: ${JSON.stringify(value)}`;
  const badLabel = Object.keys(r.labels).find((k) => !QUALIFIED_NAME.test(k));
  if (badLabel !== undefined) return invalid('metadata.labels', badLabel);
  const badAnnotation = Object.keys(r.annotations).find((k) => !QUALIFIED_NAME.test(k));
  if (badAnnotation !== undefined) return invalid('metadata.annotations', badAnnotation);
  const badEnv = Object.keys(r.envs).find((k) => !ENV_NAME.test(k));
  if (badEnv !== undefined) return invalid('spec.pod_spec.containers[0].env[].name', badEnv);
  return undefined;
}

function get(deps: GangwayDeps, id: string): SimResponse {
  const pj = deps.deck.get(id);
  if (!pj) return grpcError(404, 5, `prowjobs.prow.k8s.io ${JSON.stringify(id)} not found`);
  return jsonResponse(200, toJobExecution(pj));
}

function list(deps: GangwayDeps, req: SimRequest): SimResponse {
  const jobName = req.params.get('job_name') ?? '';
  const status = req.params.get('status') ?? '';
  if (status !== '' && !JOB_STATUSES.includes(status)) {
    return invalidArgument(`type mismatch, parameter: status, error: ${JSON.stringify(status)} is not valid`);
  }
  const executions = deps.deck
    .list()
    .filter((pj) => jobName === '' || pj.spec.job === jobName)
    .map(toJobExecution)
    .filter((e) => status === '' || e.job_status === status);
  return jsonResponse(200, { job_execution: executions });
}

function toJobExecution(pj: ProwJob): JobExecution {
  return {
    id: pj.metadata.name,
    job_name: pj.spec.job,
    job_type: TYPE_OF_PROW_TYPE[pj.spec.type],
    job_status: STATUS_OF_STATE[pj.status.state] ?? 'JOB_EXECUTION_STATUS_UNSPECIFIED',
    gcs_path: '',
    ...(pj.metadata.creationTimestamp ? { create_time: pj.metadata.creationTimestamp } : {}),
    ...(pj.status.completionTime ? { completion_time: pj.status.completionTime } : {}),
    job_url: pj.status.url ?? '',
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads protobuf JSON fields by proto name or JSON (camelCase) name; a string is the unknown-field error. */
function readFields<K extends string>(obj: Record<string, unknown>, names: Record<K, string>): Partial<Record<K, unknown>> | string {
  const out: Partial<Record<K, unknown>> = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = (Object.keys(names) as K[]).find((k) => k === key || names[k] === key);
    if (!field) return `proto: unknown field ${JSON.stringify(key)}`;
    out[field] = value;
  }
  return out;
}

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { type Fault, faultSchema } from './faults';
import { PROW_JOB_STATES, type ProwJobState } from './prowJob';
import { isSemver } from './semver';
import { parseOrThrow, SimulatorInputError } from './validation';

export const PHASES = ['Accepted', 'Rejected', 'Ready', 'Pending', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

export interface ScenarioTag {
  name: string;
  phase: Phase;
  /** Default `registry.ci.openshift.org/ocp/release:<name>`. */
  pullSpec?: string;
}

/** A ProwJob in compact form; the simulator expands it to a full object. */
export interface ScenarioProwJob {
  /** ProwJob name (= Gangway execution id); a stable UUID is derived when absent. */
  id?: string;
  /** Full job name (spec.job). */
  job: string;
  type: 'periodic' | 'presubmit' | 'postsubmit';
  state: ProwJobState;
  /** Becomes env RELEASE_IMAGE_LATEST in every container, as a Gangway trigger with a payload would. */
  releaseImageLatest?: string;
  envs?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** ISO time, or relative to when the simulators start/reset: `-3h`, `-90m`, `-1d2h`, `now`. */
  startTime?: string;
  completionTime?: string;
  org?: string;
  repo?: string;
  baseRef?: string;
}

/**
 * How the executions Gangway creates for a job progress, without a test moving them: the Nth
 * execution of the job for the same payload (the same envs) ends in `states[N-1]` (the last
 * repeats: `[aborted]` is aborted forever, `[error, success]` an ERROR then green), `pending`
 * after half of `afterMs`, final after it. The first entry that matches an execution rules it.
 */
export interface ScenarioOutcome {
  /** Full job name, or its end (`aws-ipi-coco`), or `*` for any job. */
  job: string;
  /** Only executions one of whose envs holds this text (a payload name or pull spec). */
  payload?: string;
  states: ProwJobState[];
  afterMs: number;
}

export interface Scenario {
  releaseController: { streams: Record<string, { tags: ScenarioTag[] }> };
  /** lagMs: how long a job Gangway created stays out of Deck's answers (Deck reads a cache). */
  deck: {
    org: string;
    repo: string;
    baseRef: string;
    lagMs: number;
    prowJobs: ScenarioProwJob[];
    /**
     * Load tests: this many extra ProwJobs of other repositories' jobs in every `/prowjobs.js`
     * answer, generated while the answer streams out (never built in memory). 0: none.
     */
    fillerProwJobs: number;
    /** Answer every ProwJob whatever `org`/`repo` ask for, as an older Deck or a proxy that drops the query would. */
    ignoreRepoFilter: boolean;
    /** Executions that progress by themselves; a job not listed stays `triggered` until a test moves it. */
    outcomes: ScenarioOutcome[];
  };
  gangway: { token: string; periodicJobs: string[] };
  faults: Fault[];
}

const RELATIVE_TIME = /^(now|[+-](\d+[smhd])+)$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const timeSchema = z
  .string()
  .refine((s) => RELATIVE_TIME.test(s) || (ISO_TIME.test(s) && !Number.isNaN(Date.parse(s))), {
    message: 'expected an ISO time (2026-11-20T10:00:00Z) or a relative one (-3h, -90m, -1d2h, now)',
  });

const stringMap = z.record(z.string(), z.string());

const tagSchema = z.strictObject({
  name: z.string().refine(isSemver, { message: 'not a semantic version (e.g. 4.21.0-0.nightly-2026-11-20-041512)' }),
  phase: z.enum(PHASES),
  pullSpec: z.string().min(1).optional(),
});

const streamSchema = z.strictObject({
  tags: z.array(tagSchema).superRefine((tags, ctx) => {
    const seen = new Set<string>();
    tags.forEach((tag, i) => {
      if (seen.has(tag.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate tag ${tag.name}` });
      seen.add(tag.name);
    });
  }),
});

const prowJobSchema = z.strictObject({
  id: z.string().min(1).optional(),
  job: z.string().min(1),
  type: z.enum(['periodic', 'presubmit', 'postsubmit']).default('periodic'),
  state: z.enum(PROW_JOB_STATES),
  releaseImageLatest: z.string().min(1).optional(),
  envs: stringMap.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  startTime: timeSchema.optional(),
  completionTime: timeSchema.optional(),
  org: z.string().min(1).optional(),
  repo: z.string().min(1).optional(),
  baseRef: z.string().min(1).optional(),
});

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
const outcomeSchema = z
  .strictObject({
    job: z.string().min(1),
    payload: z.string().min(1).optional(),
    states: z.array(z.enum(['success', 'failure', 'aborted', 'error'])).min(1),
    after: z
      .string()
      .regex(/^\d+(ms|s|m)$/, 'expected a duration like 500ms, 2s or 1m')
      .default('2s'),
  })
  .transform(({ job, payload, states, after }) => {
    const [, amount, unit] = /^(\d+)(ms|s|m)$/.exec(after)!;
    return { job, ...(payload !== undefined ? { payload } : {}), states, afterMs: Number(amount) * DURATION_MS[unit!]! };
  });

const scenarioSchema = z.strictObject({
  releaseController: z
    .strictObject({ streams: z.record(z.string().min(1), streamSchema).prefault({}) })
    .prefault({}),
  deck: z
    .strictObject({
      org: z.string().min(1).default('openshift'),
      repo: z.string().min(1).default('sandboxed-containers-operator'),
      baseRef: z.string().min(1).default('devel'),
      lagMs: z.number().int().min(0).max(3_600_000).default(0),
      fillerProwJobs: z.number().int().min(0).max(100_000_000).default(0),
      ignoreRepoFilter: z.boolean().default(false),
      outcomes: z.array(outcomeSchema).prefault([]),
      prowJobs: z.array(prowJobSchema).prefault([]).superRefine((jobs, ctx) => {
        const seen = new Set<string>();
        jobs.forEach((job, i) => {
          if (job.id === undefined) return;
          if (seen.has(job.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate id ${job.id}` });
          seen.add(job.id);
        });
      }),
    })
    .prefault({}),
  gangway: z
    .strictObject({
      token: z.string().min(1).default('simulator-token'),
      periodicJobs: z.array(z.string().min(1)).prefault([]),
    })
    .prefault({}),
  faults: z.array(faultSchema).prefault([]),
});

/** Validates a scenario object (e.g. parsed YAML); throws a one-line `scenario: <key path>: <problem>` error. */
export function parseScenario(input: unknown): Scenario {
  return parseOrThrow(scenarioSchema, input, 'scenario');
}

/** Reads and validates a YAML scenario file. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SimulatorInputError(`scenario: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new SimulatorInputError(`scenario: ${path}: invalid YAML: ${first}`);
  }
  return parseScenario(parsed);
}

export function defaultPullSpec(tag: string): string {
  return `registry.ci.openshift.org/ocp/release:${tag}`;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Resolves a scenario time (ISO or relative) against `now`. */
export function resolveScenarioTime(spec: string, now: Date): Date {
  if (spec === 'now') return new Date(now);
  if (!RELATIVE_TIME.test(spec)) return new Date(spec);
  const sign = spec.startsWith('-') ? -1 : 1;
  let offset = 0;
  for (const [, amount, unit] of spec.slice(1).matchAll(/(\d+)([smhd])/g)) offset += Number(amount) * UNIT_MS[unit!]!;
  return new Date(now.getTime() + sign * offset);
}

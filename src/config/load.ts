import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DedupPolicy, JobSpec, RetrySettings, VersionSpec } from '../domain/types';
import * as d from './defaults';
import { baseUrlSchema, configFileSchema, describeSchemaError, ocpVersionSchema, type ConfigFile } from './schema';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface WatcherConfig {
  versions: VersionSpec[];
  jobs: JobSpec[];
  dedupPolicy: DedupPolicy;
  recentSuccessWindowHours: number;
  labelPrefix: string;
  retry: RetrySettings;
  endpoints: { releaseController: string; deck: string; gangway: string };
  deck: { org: string; repo: string };
  gangway: {
    createForm: 'body' | 'path';
    tokenFile: string;
    rateLimit: GangwayRateLimit;
    /** Triggers of one version in flight at once; the rate limit still spaces the POSTs. */
    concurrency: number;
  };
  trigger: TriggerSettings;
  httpTimeoutMs: number;
  schedule: { id: string; cron: string; timezone: string; catchupWindowMs: number };
  taskQueue: string;
  /** How long workflows cached by a worker that died wait before another worker takes them. */
  stickyQueueTimeoutMs: number;
  /** On SIGTERM, how long in-flight activities may run before the worker stops anyway. */
  shutdownGraceMs: number;
  /** Where the file settings came from, for messages. */
  source: string;
}

/** Gangway's proxy allows about 9 requests a minute per source, with bursts of 5. */
export interface GangwayRateLimit {
  perMinute: number;
  burst: number;
}

export interface TriggerSettings {
  /** A worker that stops heartbeating for this long is taken as dead, and its trigger is retried. */
  heartbeatTimeoutMs: number;
  /**
   * Before a retry looks for what an earlier attempt created, wait this long after that attempt
   * ended: a POST still in flight at Gangway's proxy may complete until its 60 s timeout.
   */
  inFlightGraceMs: number;
  /** How long a retry waits for Deck to show an execution Gangway already lists. */
  deckLagToleranceMs: number;
}

export interface LoadOptions {
  /** `--config PATH`; falls back to WATCHER_CONFIG. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
}

export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new ConfigError(`bad duration "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}

function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`config ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`config ${file}: ${describeSchemaError(parsed.error)}`);
  return parsed.data;
}

function envUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const ok = baseUrlSchema.safeParse(value);
  if (!ok.success) throw new ConfigError(`${name}: must be a base URL like scheme://host[:port], got "${value}"`);
  return value.replace(/\/+$/, '');
}

function envVersions(env: NodeJS.ProcessEnv): string[] | undefined {
  const value = env.OCP_VERSIONS;
  if (value === undefined) return undefined;
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError('OCP_VERSIONS: must list at least one version, like 4.20,4.21');
  for (const v of list) {
    if (!ocpVersionSchema.safeParse(v).success) throw new ConfigError(`OCP_VERSIONS: "${v}" is not a version like 4.21`);
  }
  return list;
}

function resolveJobs(file: ConfigFile): JobSpec[] {
  const prefix = file.jobPrefix ?? d.DEFAULT_JOB_PREFIX;
  const defaultEnv = file.payloadEnv ?? d.DEFAULT_PAYLOAD_ENV;
  const entries = file.jobs ?? d.DEFAULT_JOB_SUFFIXES;
  const jobs = entries.map((entry): JobSpec => {
    const given = typeof entry === 'string' ? entry : entry.name;
    // A full name is taken as is; anything else is a suffix of the prefix.
    const name = !prefix || given.startsWith(`${prefix}-`) ? given : `${prefix}-${given}`;
    const shortName = prefix && name.startsWith(`${prefix}-`) ? name.slice(prefix.length + 1) : name;
    const envSetting = typeof entry === 'string' ? undefined : entry.payloadEnv;
    return { name, shortName, payloadEnv: envSetting === false ? null : (envSetting ?? defaultEnv) };
  });
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.name)) throw new ConfigError(`jobs: duplicate job "${job.shortName}"`);
    seen.add(job.name);
  }
  return jobs;
}

function uniqueVersions(list: string[], origin: string): string[] {
  const seen = new Set<string>();
  for (const v of list) {
    if (seen.has(v)) throw new ConfigError(`${origin}: duplicate version "${v}"`);
    seen.add(v);
  }
  return list;
}

/** Defaults, then the YAML file, then environment variables; CLI flags are applied by the caller. */
export function loadConfig(options: LoadOptions = {}): WatcherConfig {
  const env = options.env ?? process.env;
  const configPath = options.configPath ?? (env.WATCHER_CONFIG || undefined);
  const file: ConfigFile = configPath ? readConfigFile(path.resolve(configPath)) : {};

  // Checks across entries (duplicates) name the file too, like the schema's own errors.
  const fromFile = <T>(check: () => T): T => {
    try {
      return check();
    } catch (err) {
      if (err instanceof ConfigError && configPath) throw new ConfigError(`config ${path.resolve(configPath)}: ${err.message}`);
      throw err;
    }
  };
  const streamTemplate = file.streamTemplate ?? d.DEFAULT_STREAM_TEMPLATE;
  const fromEnv = envVersions(env);
  const versionList = fromEnv
    ? uniqueVersions(fromEnv, 'OCP_VERSIONS')
    : fromFile(() => uniqueVersions(file.ocpVersions ?? d.DEFAULT_VERSIONS, 'ocpVersions'));
  const secretsDir = env.SECRETS_DIR || d.DEFAULT_SECRETS_DIR;
  const tokenFile = env.GANGWAY_TOKEN_FILE || file.gangway?.tokenFile || path.join(secretsDir, d.TOKEN_FILE_NAME);

  const httpTimeout = file.http?.timeout ?? '60s';
  const inFlightGrace = file.trigger?.inFlightGrace ?? '60s';
  const httpTimeoutMs = parseDuration(httpTimeout);
  const trigger: TriggerSettings = {
    heartbeatTimeoutMs: parseDuration(file.trigger?.heartbeatTimeout ?? '30s'),
    inFlightGraceMs: parseDuration(inFlightGrace),
    deckLagToleranceMs: parseDuration(file.trigger?.deckLagTolerance ?? '5m'),
  };
  if (trigger.inFlightGraceMs < httpTimeoutMs) {
    // A retry must not look for an earlier attempt's execution while that attempt's POST may still land.
    fromFile(() => {
      throw new ConfigError(
        `trigger.inFlightGrace (${inFlightGrace}) is shorter than http.timeout (${httpTimeout}): a retry could miss a create still in flight and post it again`,
      );
    });
  }

  return {
    versions: versionList.map((version) => ({ version, stream: streamTemplate.replaceAll('{version}', version) })),
    jobs: fromFile(() => resolveJobs(file)),
    dedupPolicy: file.dedupPolicy ?? 'exact-payload',
    recentSuccessWindowHours: file.recentSuccessWindowHours ?? 24,
    labelPrefix: file.labelPrefix ?? 'osc-build-watcher',
    retry: {
      initialIntervalMs: parseDuration(file.retry?.initialInterval ?? '5s'),
      backoffCoefficient: file.retry?.backoffCoefficient ?? 2,
      maximumIntervalMs: parseDuration(file.retry?.maximumInterval ?? '2m'),
      maximumAttempts: file.retry?.maximumAttempts ?? 6,
    },
    endpoints: {
      releaseController:
        envUrl(env, 'RELEASE_CONTROLLER_URL') ?? trimUrl(file.releaseController?.url ?? d.DEFAULT_RELEASE_CONTROLLER_URL),
      deck: envUrl(env, 'DECK_URL') ?? trimUrl(file.deck?.url ?? d.DEFAULT_DECK_URL),
      gangway: envUrl(env, 'GANGWAY_URL') ?? trimUrl(file.gangway?.url ?? d.DEFAULT_GANGWAY_URL),
    },
    deck: { org: file.deck?.org ?? 'openshift', repo: file.deck?.repo ?? 'sandboxed-containers-operator' },
    gangway: {
      createForm: file.gangway?.createForm ?? 'body',
      tokenFile,
      rateLimit: { perMinute: file.gangway?.rateLimit?.perMinute ?? 9, burst: file.gangway?.rateLimit?.burst ?? 5 },
      concurrency: file.gangway?.concurrency ?? 5,
    },
    trigger,
    httpTimeoutMs,
    schedule: {
      id: file.schedule?.id ?? d.DEFAULT_SCHEDULE_ID,
      cron: file.schedule?.cron ?? d.DEFAULT_CRON,
      timezone: file.schedule?.timezone ?? 'UTC',
      catchupWindowMs: parseDuration(file.schedule?.catchupWindow ?? '6h'),
    },
    taskQueue: env.TEMPORAL_TASK_QUEUE || file.temporal?.taskQueue || d.DEFAULT_TASK_QUEUE,
    stickyQueueTimeoutMs: parseDuration(file.temporal?.stickyQueueTimeout ?? '10s'),
    shutdownGraceMs: parseDuration(file.temporal?.shutdownGrace ?? '30s'),
    source: configPath ?? 'built-in defaults',
  };
}

function trimUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

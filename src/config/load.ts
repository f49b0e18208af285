import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, parseDocument, type Document } from 'yaml';
import { DEFAULT_FOLLOW, followSettingsProblem, formatDuration, type FollowSettings } from '../domain/follow';
import { DEFAULT_RETRIGGER, retriggerSettingsProblem, type RetriggerSettings } from '../domain/retrigger';
import { DEFAULT_MAX_PAYLOADS_PER_PASS, type PayloadMode } from '../domain/payloads';
import { DEFAULT_DOWN_PASSES } from '../domain/upstreamHealth';
import type { DedupPolicy, JobSpec, RetrySettings, VersionSpec } from '../domain/types';
import * as d from './defaults';
import { baseUrlSchema, configFileSchema, describeSchemaError, ocpVersionSchema, type ConfigFile } from './schema';

export interface ScheduleSettings {
  id: string;
  cron: string;
  timezone: string;
  catchupWindowMs: number;
  everyMs?: number;
}

/** Shorter than this, passes would mostly find nothing new, and the release controller would feel it. */
export const MIN_SCHEDULE_EVERY_MS = 60_000;

function scheduleSettings(file: ConfigFile): ScheduleSettings {
  const s = file.schedule;
  if (s?.every !== undefined && s.cron !== undefined) throw new ConfigError('schedule: set cron or every, not both');
  const base: ScheduleSettings = {
    id: s?.id ?? d.DEFAULT_SCHEDULE_ID,
    cron: s?.cron ?? d.DEFAULT_CRON,
    timezone: s?.timezone ?? 'UTC',
    catchupWindowMs: parseDuration(s?.catchupWindow ?? '6h'),
  };
  if (s?.every === undefined) return base;
  try {
    return withScheduleEvery(base, s.every, s.catchupWindow === undefined ? undefined : base.catchupWindowMs);
  } catch (err) {
    throw new ConfigError(`schedule.${(err as Error).message}`);
  }
}

/**
 * Polling every `every` (config `schedule.every`, or `schedule apply --every`). The catch-up
 * window is one interval at most (by default exactly one): a worker back after an outage runs
 * one missed pass, not a pile of them; the next pass covers the same payloads anyway.
 */
export function withScheduleEvery(schedule: ScheduleSettings, every: string, catchupWindowMs?: number): ScheduleSettings {
  if (!/^\d+(ms|s|m|h|d)$/.test(every)) throw new ConfigError(`every: must be a duration like 10m or 1h, got "${every}"`);
  const everyMs = parseDuration(every);
  if (everyMs < MIN_SCHEDULE_EVERY_MS) throw new ConfigError(`every: at least 1m, got ${every}`);
  if (catchupWindowMs !== undefined && catchupWindowMs > everyMs) {
    throw new ConfigError(`catchupWindow: at most one interval (every: ${every}) when polling, so missed passes do not pile up`);
  }
  return { ...schedule, everyMs, catchupWindowMs: catchupWindowMs ?? everyMs };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface WatcherConfig {
  /**
   * The watched versions, each with its own resolved job list. Empty with `ocpVersions: discover`
   * (unless OCP_VERSIONS overrides it): the versions are then found at run time, see discoverVersions.
   */
  versions: VersionSpec[];
  /** Set when the file says `ocpVersions: discover`: watch every nightly stream from min (to max). */
  discover?: { min: string; max?: string };
  /** `{version}` is replaced by the version: `{version}.0-0.nightly`. */
  streamTemplate: string;
  /** The configured job entries, unresolved: jobsForVersion turns them into a version's jobs. */
  jobTemplates: JobTemplates;
  /** Where the version list came from, for messages: `OCP_VERSIONS`, `ocpVersions in FILE`, ... */
  versionsFrom: string;
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
  payloads: PayloadSelection;
  /** Follow-through: the wait before the first look at a triggered job, the longest wait, when to give up. */
  follow: FollowSettings;
  /** Bounded retrigger: which final states are retried, how often, after which backoff. */
  retrigger: RetriggerSettings;
  /** Notifications: the file holding the webhook URL (none: off), and after how many down passes in a row an upstream is announced. */
  notify: { webhookFile?: string; downPasses: number };
  httpTimeoutMs: number;
  /** Prometheus `/metrics` (src/domain/metrics.ts): served on `port` when set; state gauges re-read every `refreshEveryMs`. */
  metrics: { port?: number; refreshEveryMs: number };
  /** `everyMs` set: a pass every so often (freshness mode) instead of `cron`. */
  schedule: ScheduleSettings;
  taskQueue: string;
  /** How long workflows cached by a worker that died wait before another worker takes them. */
  stickyQueueTimeoutMs: number;
  /** On SIGTERM, how long in-flight activities may run before the worker stops anyway. */
  shutdownGraceMs: number;
  /** Workflows one worker keeps cached (`temporal.maxCachedWorkflows`): bounds its memory. */
  maxCachedWorkflows: number;
  /** The Temporal UI's base URL (`ui.url`), for links to workflows; none: the status page shows IDs only. */
  ui: { url?: string };
  /** Where the file settings came from, for messages. */
  source: string;
}

/** One configured job, before its version is filled in. */
export interface JobTemplate {
  /** Full job name; may hold `{version}` (4.21) and `{vv}` (421). */
  name: string;
  /** The same for every version (reports, `--jobs`, the OscJob search attribute). */
  shortName: string;
  payloadEnv: string | null;
}

export interface JobTemplates {
  /** From `jobs` (or the built-in list): for every version without a list of its own. */
  all: JobTemplate[];
  /** From `jobsByVersion`: a version listed there uses its own list instead of `all`. */
  byVersion: Record<string, JobTemplate[]>;
  /** Where `all` came from, for messages: `jobs in FILE` or `built-in defaults`. */
  allFrom: string;
}

/**
 * Gangway's proxy allows about 9 requests a minute per source, with bursts of 5. One budget for
 * all workers of the task queue (the server paces the Gangway task queue), and a bucket per process.
 */
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
  /**
   * One attempt of a trigger's Gangway activity, at most (its start-to-close timeout; default
   * 30m). The attempt abandons its waits and its request before this runs out. Absent: 30m.
   */
  attemptTimeoutMs?: number;
}

/** `latest`: the stream's newest Accepted payload. `every`: each Accepted one newer than the newest triggered, oldest first. */
export interface PayloadSelection {
  mode: PayloadMode;
  /** `every`: at most this many payloads per version per pass (default 3). */
  maxPerPass: number;
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
  const doc = parseDocument(text);
  const yamlError = doc.errors[0];
  if (yamlError) throw new ConfigError(`config ${file}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  const numeric = numericVersionKey(doc, text);
  if (numeric) {
    throw new ConfigError(`config ${file}: jobsByVersion: key ${numeric.text} must be a quoted string like "${numeric.text}" (YAML read it as the number ${numeric.value})`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`config ${file}: ${describeSchemaError(parsed.error)}`);
  return parsed.data;
}

/** An unquoted `4.20:` key is the number 4.2 once parsed; only the document still knows what was written. */
function numericVersionKey(doc: Document, text: string): { text: string; value: number } | undefined {
  const node = isMap(doc.contents) ? doc.get('jobsByVersion', true) : undefined;
  if (!isMap(node)) return undefined;
  for (const { key } of node.items) {
    if (isScalar(key) && typeof key.value === 'number') {
      return { text: key.range ? text.slice(key.range[0], key.range[1]) : String(key.value), value: key.value };
    }
  }
  return undefined;
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

const PLACEHOLDERS = ['{version}', '{vv}'];

function hasPlaceholder(text: string): boolean {
  return PLACEHOLDERS.some((p) => text.includes(p));
}

/** Fills `{version}` (4.21, 5.0) and `{vv}` (the digits without the dot: 421, 50). */
export function fillVersion(template: string, version: string): string {
  return template.replaceAll('{version}', version).replaceAll('{vv}', version.replace('.', ''));
}

/** Numeric order of X.Y versions: 4.9 < 4.17 < 5.0. */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

type JobEntry = NonNullable<ConfigFile['jobs']>[number];

function resolveTemplates(entries: JobEntry[], prefix: string, defaultEnv: string, key: string): JobTemplate[] {
  const templates = entries.map((entry, i): JobTemplate => {
    const given = typeof entry === 'string' ? entry : entry.name;
    // A full name is taken as is; anything else is a suffix of the prefix.
    const name = !prefix || given.startsWith(`${prefix}-`) ? given : `${prefix}-${given}`;
    const relative = prefix && name.startsWith(`${prefix}-`) ? name.slice(prefix.length + 1) : name;
    // A templated name drops the dash-separated parts that hold a placeholder:
    // candidate{vv}-azure-ipi-kata is azure-ipi-kata for every version.
    const derived = hasPlaceholder(relative) ? relative.split('-').filter((part) => !hasPlaceholder(part)).join('-') : relative;
    const shortName = (typeof entry === 'string' ? undefined : entry.short) ?? derived;
    if (!shortName) throw new ConfigError(`${key}.${i}: no short name left in "${given}" once the placeholder part is dropped; add short:`);
    const envSetting = typeof entry === 'string' ? undefined : entry.payloadEnv;
    return { name, shortName, payloadEnv: envSetting === false ? null : (envSetting ?? defaultEnv) };
  });
  checkUnique(templates, key);
  return templates;
}

/** Within one version (or one template list), full names and short names must both be unique. */
function checkUnique(jobs: Array<{ name: string; shortName: string }>, key: string, where = ''): void {
  const names = new Set<string>();
  const shorts = new Map<string, string>();
  for (const job of jobs) {
    if (names.has(job.name)) throw new ConfigError(`${key}: duplicate job "${job.shortName}"${where}`);
    names.add(job.name);
    const other = shorts.get(job.shortName);
    if (other !== undefined) {
      throw new ConfigError(`${key}: two jobs have the short name "${job.shortName}"${where} (${other} and ${job.name}); set short: on one of them`);
    }
    shorts.set(job.shortName, job.name);
  }
}

function resolveJobTemplates(file: ConfigFile, source: string): JobTemplates {
  const prefix = file.jobPrefix ?? d.DEFAULT_JOB_PREFIX;
  const defaultEnv = file.payloadEnv ?? d.DEFAULT_PAYLOAD_ENV;
  const byVersion: Record<string, JobTemplate[]> = {};
  for (const [version, entries] of Object.entries(file.jobsByVersion ?? {})) {
    byVersion[version] = resolveTemplates(entries, prefix, defaultEnv, `jobsByVersion.${version}`);
  }
  return {
    all: resolveTemplates(file.jobs ?? d.DEFAULT_JOB_SUFFIXES, prefix, defaultEnv, 'jobs'),
    byVersion,
    allFrom: file.jobs ? `jobs in ${source}` : 'built-in defaults',
  };
}

function resolveJobsFor(templates: JobTemplates, version: string): JobSpec[] {
  const own = templates.byVersion[version];
  const jobs = (own ?? templates.all).map((t) => ({ name: fillVersion(t.name, version), shortName: t.shortName, payloadEnv: t.payloadEnv }));
  // Two templates could still meet once filled in (x-{vv} and x-421 for 4.21).
  checkUnique(jobs, own ? `jobsByVersion.${version}` : 'jobs', ` for ${version}`);
  return jobs;
}

/**
 * The configured jobs of any version, discovered ones included: its `jobsByVersion` list if it
 * has one, else `jobs`, with `{version}` and `{vv}` filled in. Pure; throws ConfigError when two
 * jobs meet in this version.
 */
export function jobsForVersion(config: WatcherConfig, version: string): JobSpec[] {
  if (!/^\d+\.\d+$/.test(version)) throw new ConfigError(`"${version}" is not a version like 4.21`);
  return resolveJobsFor(config.jobTemplates, version);
}

/** `{version}.0-0.nightly` as a pattern whose group 1 is the version (no leading zeros: 4.09 is no version of ours). */
function streamPattern(template: string): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // a{version}b{version}c: a, the version, b, the same version again, c.
  const [before = '', ...after] = template.split('{version}').map(escape);
  const version = String.raw`((?:0|[1-9]\d*)\.(?:0|[1-9]\d*))`;
  return new RegExp(`^${before}${version}${after.join('\\1')}$`);
}

/**
 * The versions to watch now, from the release controller's `/api/v1/releasestreams/accepted`
 * answer (stream name -> Accepted tag names, or null). Keeps the streams that match the stream
 * template (default `{version}.0-0.nightly`) with discover.min <= version (<= discover.max),
 * in numeric order (4.9 < 4.17 < 5.0), each with jobsForVersion's jobs. A matching stream with
 * no Accepted tag yet (null) is kept: its pass reports "no release", as for a listed version.
 * `skipped`: the matching streams outside min..max, in the same order. Other streams
 * (`4.21.0-0.ci`, `4-stable`, other architectures) are neither.
 */
export function discoverVersions(
  config: WatcherConfig,
  accepted: Record<string, string[] | null>,
): { versions: VersionSpec[]; skipped: string[] } {
  const rule = config.discover;
  if (!rule) throw new ConfigError('ocpVersions: not "discover", so there is nothing to discover');
  const pattern = streamPattern(config.streamTemplate);
  const found: Array<{ version: string; stream: string }> = [];
  for (const stream of Object.keys(accepted)) {
    const version = pattern.exec(stream)?.[1];
    if (version !== undefined) found.push({ version, stream });
  }
  found.sort((a, b) => compareVersions(a.version, b.version) || a.stream.localeCompare(b.stream));
  const inRange = ({ version }: { version: string }) =>
    compareVersions(version, rule.min) >= 0 && (rule.max === undefined || compareVersions(version, rule.max) <= 0);
  return {
    versions: found.filter(inRange).map(({ version, stream }) => ({ version, stream, jobs: jobsForVersion(config, version) })),
    skipped: found.filter((f) => !inRange(f)).map((f) => f.stream),
  };
}

function uniqueVersions(list: string[], origin: string): string[] {
  const seen = new Set<string>();
  for (const v of list) {
    if (seen.has(v)) throw new ConfigError(`${origin}: duplicate version "${v}"`);
    seen.add(v);
  }
  return list;
}

/**
 * `ocpVersions` (a list, or `discover` with `discover.min`), `discover` and `jobsByVersion`
 * agree. Returns the file's version list: [] with discover, undefined when the file has none.
 */
function checkVersionKeys(file: ConfigFile): string[] | undefined {
  const listed = file.ocpVersions;
  if (listed === 'discover') {
    if (!file.discover) throw new ConfigError('ocpVersions: discover needs discover.min, like discover: { min: "4.17" }');
    const { min, max } = file.discover;
    if (max !== undefined && compareVersions(max, min) < 0) throw new ConfigError(`discover.max (${max}) is lower than discover.min (${min})`);
    return [];
  }
  if (file.discover) throw new ConfigError('discover: only used with ocpVersions: discover');
  const versions = listed ? uniqueVersions(listed, 'ocpVersions') : undefined;
  // A per-version list for a version that is never watched is most likely a typo ("4.2" for "4.20").
  const watched = versions ?? d.DEFAULT_VERSIONS;
  for (const version of Object.keys(file.jobsByVersion ?? {})) {
    if (!watched.includes(version)) {
      throw new ConfigError(`jobsByVersion.${version}: not a version in ocpVersions (${watched.join(', ')})`);
    }
  }
  return versions;
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
  const source = configPath ?? 'built-in defaults';
  const jobTemplates = fromFile(() => resolveJobTemplates(file, source));
  // The file must make sense on its own, whatever OCP_VERSIONS says.
  const fileVersions = fromFile(() => checkVersionKeys(file));
  const discover = file.discover && file.ocpVersions === 'discover' ? file.discover : undefined;
  const fromEnv = envVersions(env);
  const versionList = fromEnv ? uniqueVersions(fromEnv, 'OCP_VERSIONS') : (fileVersions ?? d.DEFAULT_VERSIONS);
  const versionsFrom = fromEnv
    ? 'OCP_VERSIONS'
    : discover
      ? `discover in ${source}`
      : fileVersions
        ? `ocpVersions in ${source}`
        : 'built-in defaults';
  const secretsDir = env.SECRETS_DIR || d.DEFAULT_SECRETS_DIR;
  const tokenFile = env.GANGWAY_TOKEN_FILE || file.gangway?.tokenFile || path.join(secretsDir, d.TOKEN_FILE_NAME);

  const webhookFile = env.NOTIFY_WEBHOOK_FILE || file.notify?.webhookFile;

  const httpTimeout = file.http?.timeout ?? '60s';
  const inFlightGrace = file.trigger?.inFlightGrace ?? '60s';
  const httpTimeoutMs = parseDuration(httpTimeout);
  const trigger: TriggerSettings = {
    heartbeatTimeoutMs: parseDuration(file.trigger?.heartbeatTimeout ?? '30s'),
    inFlightGraceMs: parseDuration(inFlightGrace),
    deckLagToleranceMs: parseDuration(file.trigger?.deckLagTolerance ?? '5m'),
    attemptTimeoutMs: parseDuration(file.trigger?.attemptTimeout ?? '30m'),
  };
  const attemptFloorMs = trigger.inFlightGraceMs + trigger.deckLagToleranceMs + 2 * httpTimeoutMs;
  if (trigger.attemptTimeoutMs! < attemptFloorMs) {
    // A retry waits out the grace and Deck's lag, then lists and posts: all within one attempt.
    fromFile(() => {
      throw new ConfigError(
        `trigger.attemptTimeout (${file.trigger?.attemptTimeout}) is shorter than inFlightGrace + deckLagTolerance + 2 × http.timeout (${formatDuration(attemptFloorMs)}): a retry could not finish its lookup and its create`,
      );
    });
  }
  const payloadsFile = typeof file.payloads === 'string' ? { mode: file.payloads } : (file.payloads ?? {});
  const payloads: PayloadSelection = { mode: payloadsFile.mode ?? 'latest', maxPerPass: payloadsFile.maxPerPass ?? DEFAULT_MAX_PAYLOADS_PER_PASS };
  if (trigger.inFlightGraceMs < httpTimeoutMs) {
    // A retry must not look for an earlier attempt's execution while that attempt's POST may still land.
    fromFile(() => {
      throw new ConfigError(
        `trigger.inFlightGrace (${inFlightGrace}) is shorter than http.timeout (${httpTimeout}): a retry could miss a create still in flight and post it again`,
      );
    });
  }

  const follow: FollowSettings = {
    pollEveryMs: file.follow?.pollEvery ? parseDuration(file.follow.pollEvery) : DEFAULT_FOLLOW.pollEveryMs,
    maxPollEveryMs: file.follow?.maxPollEvery ? parseDuration(file.follow.maxPollEvery) : DEFAULT_FOLLOW.maxPollEveryMs,
    deadlineMs: file.follow?.deadline ? parseDuration(file.follow.deadline) : DEFAULT_FOLLOW.deadlineMs,
  };
  const followProblem = followSettingsProblem(follow, { pollEvery: 'follow.pollEvery', maxPollEvery: 'follow.maxPollEvery', deadline: 'follow.deadline' }, formatDuration);
  if (followProblem) {
    fromFile(() => {
      throw new ConfigError(followProblem);
    });
  }

  const rt = file.retrigger;
  const retrigger: RetriggerSettings = {
    on: rt?.on ? [...new Set(rt.on)] : [...DEFAULT_RETRIGGER.on],
    maxRetries: rt?.maxRetries ?? DEFAULT_RETRIGGER.maxRetries,
    initialMs: rt?.backoff?.initial ? parseDuration(rt.backoff.initial) : DEFAULT_RETRIGGER.initialMs,
    maxMs: rt?.backoff?.max ? parseDuration(rt.backoff.max) : Math.max(DEFAULT_RETRIGGER.maxMs, rt?.backoff?.initial ? parseDuration(rt.backoff.initial) : 0),
    superseded: rt?.superseded ?? DEFAULT_RETRIGGER.superseded,
  };
  const retriggerProblem = retriggerSettingsProblem(
    retrigger,
    { on: 'retrigger.on', maxRetries: 'retrigger.maxRetries', initial: 'retrigger.backoff.initial', max: 'retrigger.backoff.max' },
    formatDuration,
  );
  if (retriggerProblem) {
    fromFile(() => {
      throw new ConfigError(retriggerProblem);
    });
  }

  return {
    versions: fromFile(() =>
      versionList.map((version) => ({ version, stream: streamTemplate.replaceAll('{version}', version), jobs: resolveJobsFor(jobTemplates, version) })),
    ),
    ...(discover && !fromEnv ? { discover: { min: discover.min, ...(discover.max !== undefined ? { max: discover.max } : {}) } } : {}),
    streamTemplate,
    jobTemplates,
    versionsFrom,
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
    payloads,
    follow,
    retrigger,
    notify: {
      ...(webhookFile ? { webhookFile } : {}),
      downPasses: file.notify?.downPasses ?? DEFAULT_DOWN_PASSES,
    },
    httpTimeoutMs,
    metrics: {
      ...(file.metrics?.port !== undefined ? { port: file.metrics.port } : {}),
      refreshEveryMs: fromFile(() => atLeast('metrics.refreshEvery', file.metrics?.refreshEvery ?? '1m', 1000)),
    },
    schedule: fromFile(() => scheduleSettings(file)),
    taskQueue: env.TEMPORAL_TASK_QUEUE || file.temporal?.taskQueue || d.DEFAULT_TASK_QUEUE,
    stickyQueueTimeoutMs: parseDuration(file.temporal?.stickyQueueTimeout ?? '10s'),
    shutdownGraceMs: parseDuration(file.temporal?.shutdownGrace ?? '30s'),
    maxCachedWorkflows: file.temporal?.maxCachedWorkflows ?? d.DEFAULT_MAX_CACHED_WORKFLOWS,
    ui: file.ui?.url ? { url: trimUrl(file.ui.url) } : {},
    source,
  };
}

function atLeast(key: string, text: string, minMs: number): number {
  const ms = parseDuration(text);
  if (ms < minMs) throw new ConfigError(`${key}: must be at least ${minMs / 1000}s, got ${text}`);
  return ms;
}

function trimUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

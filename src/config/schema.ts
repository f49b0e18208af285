import { z } from 'zod';

// Base URLs only: the clients add the API paths, so a path here is almost surely a mistake.
const baseUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search;
  } catch {
    return false;
  }
}, 'must be a base URL like scheme://host[:port]');

// YAML reads an unquoted 4.20 as the number 4.2, so a number gets its own hint.
const ocpVersion = z
  .string({ error: (issue) => (typeof issue.input === 'number' ? `must be a quoted string like "4.20" (YAML read ${issue.input} as a number)` : undefined) })
  .regex(/^\d+\.\d+$/, 'must be X.Y, like 4.21');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const labelPrefix = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a DNS subdomain like osc-build-watcher');

const cronField = /^[\d*,/-]+$|^[A-Za-z]{3}$/;
const cron = z.string().refine((s) => {
  const parts = s.trim().split(/\s+/);
  return parts.length === 5 && parts.every((p) => cronField.test(p));
}, 'must be a 5-field cron expression like "0 0 * * *"');

// A job name may hold {version} (4.21) and {vv} (421, 50); nothing else in braces.
const PLACEHOLDER = /\{[^{}]*\}/g;
const KNOWN_PLACEHOLDERS = new Set(['{version}', '{vv}']);
const jobName = z
  .string()
  .min(1)
  .refine((s) => (s.match(PLACEHOLDER) ?? []).every((p) => KNOWN_PLACEHOLDERS.has(p)) && !/[{}]/.test(s.replace(PLACEHOLDER, '')), {
    message: 'may only use the placeholders {version} and {vv}',
  });
const jobEntry = z.union(
  [
    jobName,
    z.strictObject({
      name: jobName,
      // The short name is the same for every version: reports, --jobs and search attributes use it.
      short: z
        .string()
        .min(1)
        .refine((s) => !/[{}]/.test(s), 'must not hold a placeholder: a short name is the same for every version')
        .optional(),
      payloadEnv: z.union([envName, z.literal(false)]).optional(),
    }),
  ],
  { error: 'must be a job name or { name, short?, payloadEnv? }' },
);
const jobList = z.array(jobEntry).min(1, 'must list at least one job');

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 90s, 5m or 1h');

export const configFileSchema = z.strictObject({
  ocpVersions: z
    .union([z.literal('discover'), z.array(ocpVersion).min(1, 'must list at least one version')], {
      error: 'must be a list of versions like ["4.20", "4.21"], or "discover"',
    })
    .optional(),
  // With `ocpVersions: discover`: which of the release controller's nightly streams to watch.
  discover: z.strictObject({ min: ocpVersion, max: ocpVersion.optional() }).optional(),
  streamTemplate: z
    .string()
    .refine((s) => s.includes('{version}'), 'must contain {version}')
    .optional(),
  releaseController: z.strictObject({ url: baseUrl.optional() }).optional(),
  deck: z
    .strictObject({
      url: baseUrl.optional(),
      org: z.string().min(1).optional(),
      repo: z.string().min(1).optional(),
    })
    .optional(),
  gangway: z
    .strictObject({
      url: baseUrl.optional(),
      createForm: z.enum(['body', 'path']).optional(),
      tokenFile: z.string().min(1).optional(),
      concurrency: z.number().int().min(1).max(50).optional(),
      rateLimit: z
        .strictObject({
          perMinute: z.number().int().min(1).max(60_000).optional(),
          burst: z.number().int().min(1).max(10_000).optional(),
        })
        .optional(),
    })
    .optional(),
  trigger: z
    .strictObject({
      heartbeatTimeout: duration.optional(),
      inFlightGrace: duration.optional(),
      deckLagTolerance: duration.optional(),
      attemptTimeout: duration.optional(),
    })
    .optional(),
  // Which Accepted payloads a pass triggers: the newest (latest), or each one newer than the newest triggered (every).
  payloads: z
    .union([
      z.enum(['latest', 'every']),
      z.strictObject({
        mode: z.enum(['latest', 'every']).optional(),
        maxPerPass: z.number().int().min(1).max(20).optional(),
      }),
    ])
    .optional(),
  http: z.strictObject({ timeout: duration.optional() }).optional(),
  // Follow-through: how the version ledgers look at a triggered job until its verdict.
  follow: z
    .strictObject({
      pollEvery: duration.optional(),
      maxPollEvery: duration.optional(),
      deadline: duration.optional(),
    })
    .optional(),
  // Bounded retrigger: a job whose ProwJob ended in one of `on` is tried again by its ledger.
  retrigger: z
    .strictObject({
      on: z.array(z.enum(['error', 'aborted', 'failure'])).optional(),
      maxRetries: z.number().int().min(0).max(10).optional(),
      backoff: z.strictObject({ initial: duration.optional(), max: duration.optional() }).optional(),
      superseded: z.boolean().optional(),
    })
    .optional(),
  // Notifications to a Slack-compatible webhook; the URL is a secret, kept in a file.
  notify: z
    .strictObject({
      webhookFile: z.string().min(1).optional(),
      downPasses: z.number().int().min(1).max(100).optional(),
    })
    .optional(),
  // Prometheus /metrics of `worker` and `run` (off without a port; --metrics-port wins).
  metrics: z
    .strictObject({
      port: z.number().int().min(1).max(65535).optional(),
      refreshEvery: duration.optional(),
    })
    .optional(),
  jobPrefix: z.string().optional(),
  jobs: jobList.optional(),
  // Per version, a list used instead of `jobs` (keys are quoted versions: "4.17").
  jobsByVersion: z.record(z.string().regex(/^\d+\.\d+$/, 'must be X.Y, like "4.21"'), jobList).optional(),
  payloadEnv: envName.optional(),
  dedupPolicy: z.enum(['exact-payload', 'recent-success']).optional(),
  recentSuccessWindowHours: z.number().positive().max(24 * 14).optional(),
  labelPrefix: labelPrefix.optional(),
  retry: z
    .strictObject({
      initialInterval: duration.optional(),
      backoffCoefficient: z.number().min(1).max(10).optional(),
      maximumInterval: duration.optional(),
      maximumAttempts: z.number().int().min(1).max(100).optional(),
    })
    .optional(),
  schedule: z
    .strictObject({
      id: z.string().min(1).optional(),
      cron: cron.optional(),
      /** Polling instead of daily (freshness mode): a pass every this long, e.g. 10m. */
      every: duration.optional(),
      timezone: z.string().min(1).optional(),
      catchupWindow: duration.optional(),
    })
    .optional(),
  // The Temporal UI, for links from the status page (serve): scheme://host[:port].
  ui: z.strictObject({ url: baseUrl.optional() }).optional(),
  temporal: z
    .strictObject({
      taskQueue: z.string().min(1).optional(),
      stickyQueueTimeout: duration.optional(),
      shutdownGrace: duration.optional(),
      /** Workflows a worker keeps in memory between tasks (the rest are replayed when next needed). */
      maxCachedWorkflows: z.number().int().min(2).max(100_000).optional(),
    })
    .optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

/** One line naming the first offending key, as an operator reads it in a log. */
export function describeSchemaError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid configuration';
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    return `unknown key "${path ? `${path}.` : ''}${key}"`;
  }
  if (issue.code === 'invalid_union') {
    // When one alternative got past the type check (an object entry with a bad field),
    // its own issue names the key better than "none of the alternatives".
    const deeper = issue.errors.flat().find((i) => i.path.length > 0);
    if (deeper) return describeSchemaError(new z.ZodError([{ ...deeper, path: [...issue.path, ...deeper.path] }]));
  }
  return `${path || '(root)'}: ${issue.message}`;
}

export { baseUrl as baseUrlSchema, ocpVersion as ocpVersionSchema };

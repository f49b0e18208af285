import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { HISTOGRAM_BUCKETS } from '../domain/metrics';
import { isGangwayTaskQueue } from '../domain/taskQueues';
import { UsageError } from './errors';

// Fields that help nobody reading a log at 2 a.m. (the task token is an opaque blob).
const DROPPED = new Set(['taskToken', 'sdkComponent', 'namespace', 'isLocal']);

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(`${value.name}: ${value.message.split('\n')[0]}`);
  if (typeof value === 'string') return /\s|"/.test(value) ? JSON.stringify(value) : value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** One line per entry, key=value, errors without stacks: greppable, and short in CI logs. */
export function formatLogEntry(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const fields = Object.entries(entry.meta ?? {})
    .filter(([k, v]) => !DROPPED.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  return `${time} ${entry.level} ${entry.message}${fields ? ` ${fields}` : ''}`;
}

export interface RuntimeOptions {
  /** Serve Prometheus `/metrics` on this port (all interfaces): the SDK's metrics and the watcher's. */
  metricsPort?: number;
}

/**
 * Temporal's own log (worker, activities, workflows) goes to stderr, never into the report.
 * The SDK's native core logs on its own, to stdout, unless told to forward to this logger:
 * it is, so `run --json` prints nothing but JSON on stdout.
 *
 * With a metrics port, the Runtime also serves `/metrics`: it must be installed before any
 * connection or worker exists. The watcher's own metrics (src/domain/metrics.ts) are recorded
 * on the same Runtime's meter, so one endpoint serves all.
 */
export function installLogger(level: LogLevel, options: RuntimeOptions = {}): void {
  const logging = { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) };
  const port = options.metricsPort;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        if (!isExpected(entry)) process.stderr.write(`${formatLogEntry(entry)}\n`);
      }),
      telemetryOptions: {
        logging,
        ...(port !== undefined
          ? {
              metrics: {
                prometheus: { bindAddress: `0.0.0.0:${port}`, countersTotalSuffix: true, useSecondsForDurations: true, histogramBucketOverrides: HISTOGRAM_BUCKETS },
              },
            }
          : {}),
      },
    });
  } catch (err) {
    if (port === undefined) throw err;
    // Address in use, say: one line naming the port.
    throw new UsageError(`metrics port ${port}: cannot serve /metrics (${String((err as Error)?.message ?? err).replace(/^Failed to start prometheus metrics exporter: /, '').split('\n')[0]})`);
  }
}

/** The Gangway worker runs activities only, by design: the SDK's warning about it says nothing. */
function isExpected(entry: LogEntry): boolean {
  return entry.message === 'No workflows registered, not polling for workflow tasks' && isGangwayTaskQueue(entry.meta?.taskQueue);
}

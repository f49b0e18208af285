import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { isGangwayTaskQueue } from '../domain/taskQueues';

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

/**
 * Temporal's own log (worker, activities, workflows) goes to stderr, never into the report.
 * The SDK's native core logs on its own, to stdout, unless told to forward to this logger:
 * it is, so `run --json` prints nothing but JSON on stdout.
 */
export function installLogger(level: LogLevel): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      if (!isExpected(entry)) process.stderr.write(`${formatLogEntry(entry)}\n`);
    }),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
}

/** The Gangway worker runs activities only, by design: the SDK's warning about it says nothing. */
function isExpected(entry: LogEntry): boolean {
  return entry.message === 'No workflows registered, not polling for workflow tasks' && isGangwayTaskQueue(entry.meta?.taskQueue);
}

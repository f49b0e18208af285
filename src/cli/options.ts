import { UsageError } from './errors';

// What the CLI needs to define its commands and parse their flags, apart from the modules that do
// the work: main.ts loads those (the Temporal SDK, the dev server) only in the command that runs,
// so `--help`, a bad flag or `config check` start without them.

export const SCHEDULE_ACTIONS = ['apply', 'create', 'describe', 'pause', 'unpause', 'trigger', 'backfill', 'delete'] as const;
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number];

export const DEFAULT_SERVE_PORT = 8088;

/** `serve --port`: 0 to 65535 (0 picks a free one). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`--port: "${value}" is not a port number (0-65535; 0 picks a free one)`);
  return port;
}

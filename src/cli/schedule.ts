import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import type { WatcherConfig } from '../config/load';
import { resolvePassPlan } from '../config/plan';
import type { PassRequest } from '../domain/types';
import { formatDuration } from '../domain/follow';
import { calendarsAsCron } from './cron';
import { buildWatcher } from '../workflows/buildWatcher';
import { UsageError } from './errors';
import { scheduleStartMetadata } from './passMetadata';

import type { ScheduleAction } from './options';

export { SCHEDULE_ACTIONS, type ScheduleAction } from './options';

/**
 * Overlap SKIP: a pass still running at the next midnight (or interval) is not doubled; the
 * next one would find the same payloads, and the trigger records already make doubling harmless.
 * Catch-up window (6 h default; one interval when polling): a server or worker that was down at
 * 00:00 still runs that day's pass when it is back soon; older missed passes are dropped,
 * because the next pass covers the same newest payloads.
 * `schedule.every` (freshness mode): a pass every so often instead of daily; one that finds
 * nothing new costs a release-controller request per version and no Deck request.
 */
export function scheduleOptions(config: WatcherConfig): ScheduleOptions {
  const { everyMs } = config.schedule;
  return {
    scheduleId: config.schedule.id,
    spec: everyMs ? { intervals: [{ every: everyMs }] } : { cronExpressions: [config.schedule.cron], timezone: config.schedule.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: buildWatcher,
      workflowId: `${config.schedule.id}-pass`,
      taskQueue: config.taskQueue,
      // `{}`: each pass resolves what to watch from the worker's configuration when it starts,
      // so a changed configuration takes effect at the next pass without re-applying this.
      args: [{} satisfies PassRequest],
      // The Temporal UI: what the schedule's passes do, and what they watched when it was applied.
      ...scheduleStartMetadata(config),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: config.schedule.catchupWindowMs, pauseOnFailure: false },
    // The server stores cron as calendars; the memo keeps the text an operator wrote.
    memo: everyMs ? { description: `osc-build-watcher pass every ${formatDuration(everyMs)}`, every: formatDuration(everyMs) } : { description: 'osc-build-watcher daily pass', cron: config.schedule.cron },
  };
}

/** What the schedule does, for the lines `apply` prints. */
function when(config: WatcherConfig): string {
  return config.schedule.everyMs ? `every ${formatDuration(config.schedule.everyMs)}` : `"${config.schedule.cron}" ${config.schedule.timezone}`;
}

export interface ScheduleCommandOptions {
  note?: string;
  start?: string;
  end?: string;
}

export async function scheduleCommand(
  client: Client,
  config: WatcherConfig,
  action: ScheduleAction,
  opts: ScheduleCommandOptions,
  out: (line: string) => void,
): Promise<void> {
  const id = config.schedule.id;
  const handle = client.schedule.getHandle(id);
  try {
    switch (action) {
      case 'apply':
      case 'create': {
        const options = scheduleOptions(config);
        try {
          await client.schedule.create(options);
          out(`Created schedule ${id}: ${when(config)}`);
        } catch (err) {
          if (!(err instanceof ScheduleAlreadyRunning)) throw err;
          await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
          out(`Updated schedule ${id}: ${when(config)}`);
        }
        return;
      }
      case 'describe': {
        const d = await handle.describe();
        out(`Schedule ${id}`);
        if (d.spec.calendars?.length || !d.spec.intervals?.length) out(`  cron: ${describeWhen(d)} (${d.spec.timezone ?? 'UTC'})`);
        else out(`  when: ${describeWhen(d)}`);
        out(`  input: ${JSON.stringify(passInputOf(d))}`);
        // What the next pass will watch: the same resolution its worker makes at its start
        // (from this configuration, which should be the workers' own).
        try {
          const plan = resolvePassPlan(config, passInputOf(d) ?? {});
          out(`  next pass watches (config ${config.source}): ${plan.versions.map((v) => `${v.version} (${v.jobs.length} jobs)`).join(', ')}`);
        } catch (err) {
          out(`  next pass: its input does not resolve against this configuration: ${(err as Error).message}`);
        }
        out(`  paused: ${d.state.paused}${d.state.note ? ` (${d.state.note})` : ''}`);
        out(`  overlap: ${d.policies.overlap}, catch-up window: ${d.policies.catchupWindow} ms`);
        out(`  next runs: ${d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ') || 'none'}`);
        for (const a of d.info.recentActions.slice(-5)) {
          out(`  ran: ${a.takenAt.toISOString()} -> ${a.action.workflow.workflowId}`);
        }
        return;
      }
      case 'pause':
        await handle.pause(opts.note ?? 'paused with osc-build-watcher');
        out(`Paused schedule ${id}`);
        return;
      case 'unpause':
        await handle.unpause(opts.note ?? 'unpaused with osc-build-watcher');
        out(`Unpaused schedule ${id}`);
        return;
      case 'trigger':
        await handle.trigger(ScheduleOverlapPolicy.SKIP);
        out(`Triggered schedule ${id} now (skipped if a pass is still running)`);
        return;
      case 'backfill': {
        if (!opts.start || !opts.end) throw new UsageError('schedule backfill needs --start and --end (ISO times)');
        const start = new Date(opts.start);
        const end = new Date(opts.end);
        if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) {
          throw new UsageError('schedule backfill: --start and --end must be ISO times with start before end');
        }
        await handle.backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ONE });
        out(`Backfilled schedule ${id} from ${start.toISOString()} to ${end.toISOString()}`);
        return;
      }
      case 'delete':
        await handle.delete();
        out(`Deleted schedule ${id}`);
        return;
    }
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new UsageError(`schedule ${id} does not exist (run: osc-build-watcher schedule apply)`);
    throw err;
  }
}

/** The schedule's real spec, as cron text where it is one, whatever created it. */
function describeWhen(d: ScheduleDescription): string {
  const parts = [...(d.spec.calendars ?? []).map(calendarsAsCron), ...(d.spec.intervals ?? []).map((i) => `every ${typeof i.every === 'number' ? formatDuration(i.every) : String(i.every)}`)];
  return parts.length ? parts.join('; ') : '(no times)';
}

function passInputOf(d: ScheduleDescription): PassRequest | undefined {
  return d.action.type === 'startWorkflow' ? (d.action.args?.[0] as PassRequest | undefined) : undefined;
}

import type { WatcherConfig } from '../config/load';
import type { PassRequest } from '../domain/types';
import { passDetailsStatic, passSummaryLine, scheduleDetailsStatic, scheduleSummaryLine } from '../domain/uiText';

// What the Temporal UI shows of a pass (and of the schedule) from the start: its static summary
// and details, set by the one who starts it. Static: what, which versions, which jobs; the
// payloads are found by the pass and shown in its current details.

function watched(config: WatcherConfig): string[] | 'discover' {
  return config.versions.length > 0 ? config.versions.map((v) => v.version) : 'discover';
}

export function passStartMetadata(config: WatcherConfig, request: PassRequest): { staticSummary: string; staticDetails: string } {
  return { staticSummary: passSummaryLine(request, watched(config)), staticDetails: passDetailsStatic(request, watched(config), config.source) };
}

export function scheduleStartMetadata(config: WatcherConfig): { staticSummary: string; staticDetails: string } {
  const jobs = [...new Set((config.versions.length > 0 ? config.versions.flatMap((v) => v.jobs) : config.jobTemplates.all).map((j) => j.shortName))];
  return {
    staticSummary: scheduleSummaryLine(config.schedule.cron, config.schedule.timezone),
    staticDetails: scheduleDetailsStatic(config.schedule.cron, config.schedule.timezone, watched(config), jobs),
  };
}

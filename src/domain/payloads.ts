// Which Accepted payloads of a stream a pass triggers. Pure: the activity that reads the release
// controller's tag list runs it, so only the chosen payloads enter a workflow's history.
import { compareNightlies } from './nightly';
import type { Release } from './types';

/** `latest`: the stream's newest Accepted payload. `every`: each Accepted one newer than the newest triggered. */
export type PayloadMode = 'latest' | 'every';

export const DEFAULT_MAX_PAYLOADS_PER_PASS = 3;

/**
 * `every` mode: the Accepted payloads newer than `newestTriggered`, oldest first, at most `max`.
 * When none is newer, or nothing was triggered yet (no backlog to catch up on), the newest
 * Accepted one alone, as in `latest` mode: a pass always decides the stream's newest payload
 * (a job of it that failed to trigger is tried again; one older than the newest triggered is
 * reported "not going back"). Names that are not nightlies cannot be ordered and are left out.
 * `accepted`: the controller's list, in any order.
 */
export function choosePayloads(accepted: Release[], newestTriggered: string | null, max: number): Release[] {
  const nightlies = accepted.filter((r) => compareNightlies(r.name, r.name) !== undefined);
  const oldestFirst = [...nightlies].sort((a, b) => compareNightlies(a.name, b.name)!);
  if (oldestFirst.length === 0) return accepted.slice(0, 1);
  if (newestTriggered === null || compareNightlies(newestTriggered, newestTriggered) === undefined) return [oldestFirst[oldestFirst.length - 1]!];
  const newer = oldestFirst.filter((r) => compareNightlies(r.name, newestTriggered)! > 0);
  return newer.length > 0 ? newer.slice(0, Math.max(1, max)) : [oldestFirst[oldestFirst.length - 1]!];
}

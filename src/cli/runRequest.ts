// What `run` checks before anything starts: the pass's small input and the Gangway token. A
// module of its own, light (no SDK), so that a typo or a missing secret exits at once, before
// the worker and the client are even loaded (`main.ts`).
import { readGangwayToken } from '../clients/gangwayToken';
import type { WatcherConfig } from '../config/load';
import { resolvePassPlan } from '../config/plan';
import { PassRequestError } from '../domain/passRequest';
import type { PassRequest } from '../domain/types';

export interface CheckedRun {
  /** The small input the pass workflow takes. */
  input: PassRequest;
  /** The line saying the token was read; absent for a dry run, which reads none. */
  tokenLine?: string;
}

/**
 * The pass's input from `run`'s options, checked as the workflow will check it (a version or job
 * named as the user typed it, `--versions`, `--jobs`), and the token read, so that a missing
 * secret triggers nothing at all (TokenNotFoundError reaches the caller, which prints the bash
 * step's ERROR line).
 */
export async function checkRun(config: WatcherConfig, request: PassRequest): Promise<CheckedRun> {
  const input: PassRequest = {
    ...(request.versions ? { versions: request.versions } : {}),
    ...(request.jobs ? { jobs: request.jobs } : {}),
    ...(request.dryRun ? { dryRun: true } : {}),
  };
  try {
    // With `ocpVersions: discover` the versions are known only to the worker, at the pass's start.
    if (!config.discover || config.versions.length > 0) resolvePassPlan(config, input);
  } catch (err) {
    if (err instanceof PassRequestError) throw new PassRequestError(`--${err.message}`);
    throw err;
  }
  if (input.dryRun) return { input };
  await readGangwayToken(config.gangway.tokenFile);
  return { input, tokenLine: '✓ Gangway API token loaded' };
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type WatcherConfig } from '../../src/config/load';
import type { Simulators } from '../../src/simulators';

/** Looks like a real token and appears nowhere else, so finding it anywhere is a leak. */
export const CANARY_TOKEN = 'sha256~CANARY-osc-watcher-7f3d9a1c5e2b8d4f6a0c';

export const JOB_PREFIX = 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release';
export const JOB_SUFFIXES = ['azure-ipi-kata', 'azure-ipi-peerpods', 'azure-ipi-coco', 'aws-ipi-peerpods', 'aws-ipi-coco'];
export const JOB_NAMES = JOB_SUFFIXES.map((s) => `${JOB_PREFIX}-${s}`);

export function tempDir(prefix = 'osc-watcher-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeTokenFile(dir: string, token = CANARY_TOKEN): string {
  const file = path.join(dir, 'gangway-api-token');
  writeFileSync(file, `${token}\n`);
  return file;
}

let queueCounter = 0;

/** Defaults pointed at the simulators, with fast retries and a task queue of its own. */
export function simConfig(sims: Simulators, tokenFile: string, overrides: Partial<WatcherConfig> = {}): WatcherConfig {
  const base = loadConfig({
    env: {
      RELEASE_CONTROLLER_URL: sims.releaseControllerUrl,
      DECK_URL: sims.deckUrl,
      GANGWAY_URL: sims.gangwayUrl,
      GANGWAY_TOKEN_FILE: tokenFile,
    },
  });
  return {
    ...base,
    retry: { initialIntervalMs: 50, backoffCoefficient: 2, maximumIntervalMs: 200, maximumAttempts: 3 },
    httpTimeoutMs: 5000,
    // Tests that are not about the rate limit must not wait for it.
    gangway: { ...base.gangway, rateLimit: { perMinute: 6000, burst: 100 } },
    // No in-flight grace: the loader would refuse it (grace < http timeout), but here the
    // simulators drop a request whose client is gone, so no POST can land after a retry looked.
    // The crash and resilience tests load real YAML with the grace in force.
    trigger: { heartbeatTimeoutMs: 5000, inFlightGraceMs: 0, deckLagToleranceMs: 5000 },
    taskQueue: `test-${process.pid}-${++queueCounter}`,
    ...overrides,
  };
}

/**
 * Writes `<dir>/<name>` for a real `osc-build-watcher` process: the versions, the three
 * simulators (Gangway's token in a file in `dir`, a rate limit that keeps tests quick), then
 * `lines` (the test's own http, retry, trigger, follow, temporal keys). Returns its path.
 */
export function writeWatcherYaml(dir: string, name: string, sims: Simulators, versions: readonly string[], lines: readonly string[]): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    [
      `ocpVersions: [${versions.map((v) => `"${v}"`).join(', ')}]`,
      `releaseController: { url: ${sims.releaseControllerUrl} }`,
      `deck: { url: ${sims.deckUrl} }`,
      `gangway: { url: ${sims.gangwayUrl}, tokenFile: ${writeTokenFile(dir)}, rateLimit: { perMinute: 600, burst: 20 } }`,
      ...lines,
      '',
    ].join('\n'),
  );
  return file;
}

/** The environment of a worker or CLI process against a Temporal server: nothing else of ours leaks in. */
export function workerEnv(address: string, namespace: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
}

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const WORKFLOWS_PATH = require.resolve('./workflows');
/** Written by `npm run build` (scripts/bundle-workflows.ts), next to the compiled code. */
export const PREBUILT_WORKFLOW_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');

/** Compiled code the bundle is made of: workflows and the pure domain modules they import. */
const BUNDLED_DIRS = ['workflows', 'domain'].map((d) => path.join(__dirname, d));

/**
 * The prebuilt bundle, when it is at least as new as the compiled workflow code; otherwise
 * undefined, and the worker bundles at start (after a bare `tsc`, a stale bundle would run
 * old workflow code).
 */
export function prebuiltWorkflowBundle(): { codePath: string } | undefined {
  let builtAt: number;
  try {
    builtAt = statSync(PREBUILT_WORKFLOW_BUNDLE).mtimeMs;
  } catch {
    return undefined;
  }
  for (const dir of BUNDLED_DIRS) {
    if (newerThan(dir, builtAt)) return undefined;
  }
  return { codePath: PREBUILT_WORKFLOW_BUNDLE };
}

/** Whether a compiled file under dir (subdirectories too, e.g. workflows/legacy) is newer than `time`. */
function newerThan(dir: string, time: number): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() ? newerThan(p, time) : entry.name.endsWith('.js') && statSync(p).mtimeMs > time) return true;
  }
  return false;
}

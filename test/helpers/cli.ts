import { spawn } from 'node:child_process';
import path from 'node:path';

/** The compiled CLI, as `npx osc-build-watcher` runs it. */
export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

export interface CliResult {
  /** The exit code; -1 when the process was ended by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `osc-build-watcher <args>` as its own process to the end, with exactly `env`. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, onSpawn?: (pid: number) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    if (onSpawn && child.pid) onSpawn(child.pid);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

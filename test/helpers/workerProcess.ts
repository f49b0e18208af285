import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve(__dirname, '../../src/cli/main.js');

/** The real `osc-build-watcher worker` command in its own process, so a test can SIGKILL it. */
export class WorkerProcess {
  private child?: ChildProcess;
  /** Everything every worker process wrote, for leak checks and post-mortems. */
  readonly output: string[] = [];
  starts = 0;

  constructor(
    private readonly configFile: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** One line for a post-mortem: whether the current process runs, and the last lines it wrote. */
  describe(lines = 30): string {
    const c = this.child;
    const state = !c ? 'never started' : c.exitCode !== null || c.signalCode !== null ? `worker #${this.starts} exited (${c.exitCode ?? c.signalCode})` : `worker #${this.starts} running, pid ${c.pid}`;
    return `${state}; its last lines:\n${this.output.join('').split('\n').slice(-lines).join('\n')}`;
  }

  /** Resolves once the worker says it is polling. */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [CLI, '--config', this.configFile, 'worker'], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts += 1;
    const n = this.starts;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker #${n} did not start within ${timeoutMs} ms:\n${this.output.slice(-20).join('')}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        this.output.push(text);
        if (text.includes('Worker polling task queue')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker #${n} exited (${code ?? signal}) before polling:\n${this.output.slice(-20).join('')}`));
      });
    });
  }

  /** Sends a signal and waits for the process to end; returns how it ended. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null };
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    child.kill(signal);
    return ended;
  }

  /** Waits for the current process to end by itself. */
  async exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child!;
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not exit within ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        resolve({ code, signal: sig });
      });
    });
  }
}

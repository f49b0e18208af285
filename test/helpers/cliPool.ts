import { runCli, type CliResult } from './cli';

/**
 * `runCli` with at most `size` processes at once, the others queued in order. A CLI process is
 * about a second of CPU (mostly loading modules) on a 2-core machine: tests side by side that
 * each start CLI processes finish no sooner with more of them at once, and the extra ones only
 * slow every process down.
 */
export function cliPool(size: number): (args: string[], env: NodeJS.ProcessEnv) => Promise<CliResult> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (args, env) => {
    // A slot is handed from a finished process straight to the next in the queue.
    if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await runCli(args, env);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

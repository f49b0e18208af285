// SIGINT (Ctrl-C) and SIGTERM (a CI timeout, a pod eviction) during `run`: the first one stops
// the run gracefully, a second one exits at once. The exit codes are the shell's 128 + signal.

export type StopSignal = 'SIGINT' | 'SIGTERM';

export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

export const EXIT_CODE_OF_SIGNAL: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** `process`, or a stand-in in tests. */
export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
}

export interface InterruptOptions {
  source?: SignalSource;
  /** Called on the second signal; `process.exit` unless a test says otherwise. */
  exitNow?: (code: number) => void;
}

/**
 * Listens for SIGINT and SIGTERM while a run lasts. The Temporal SDK listens too (its Runtime
 * starts a worker shutdown on the first signal and then stops listening); everything here is
 * safe to run beside it.
 */
export class Interrupt {
  private received?: StopSignal;
  private readonly firstHooks: Array<(signal: StopSignal) => void> = [];
  private readonly lastHooks: Array<() => void> = [];
  private readonly source: SignalSource;
  private readonly exitNow: (code: number) => void;
  private resolveSignalled!: (signal: StopSignal) => void;
  /** Settles on the first signal. */
  readonly signalled = new Promise<StopSignal>((resolve) => (this.resolveSignalled = resolve));
  /** Aborted on the first signal: stops polling and cancels the client's calls in flight. */
  readonly abort = new AbortController();
  private readonly listeners = STOP_SIGNALS.map((signal) => [signal, () => this.onSignal(signal)] as const);

  constructor(options: InterruptOptions = {}) {
    this.source = options.source ?? process;
    this.exitNow = options.exitNow ?? ((code) => process.exit(code));
  }

  install(): this {
    for (const [signal, listener] of this.listeners) this.source.on(signal, listener);
    return this;
  }

  uninstall(): void {
    for (const [signal, listener] of this.listeners) this.source.off(signal, listener);
  }

  get signal(): StopSignal | undefined {
    return this.received;
  }

  get exitCode(): number | undefined {
    return this.received ? EXIT_CODE_OF_SIGNAL[this.received] : undefined;
  }

  /** Runs on the first signal, or now if it has already come. Hooks run in the order added. */
  onFirst(hook: (signal: StopSignal) => void): void {
    if (this.received) hook(this.received);
    else this.firstHooks.push(hook);
  }

  /** Runs on the second signal, just before the process exits (best effort, synchronous). */
  beforeExitNow(hook: () => void): void {
    this.lastHooks.push(hook);
  }

  private onSignal(signal: StopSignal): void {
    if (this.received) {
      for (const hook of this.lastHooks) {
        try {
          hook();
        } catch {
          // Exiting anyway.
        }
      }
      this.exitNow(EXIT_CODE_OF_SIGNAL[this.received]);
      return;
    }
    this.received = signal;
    this.abort.abort();
    this.resolveSignalled(signal);
    for (const hook of this.firstHooks.splice(0)) {
      try {
        hook(signal);
      } catch {
        // One failing hook must not keep the others from stopping the run.
      }
    }
  }
}

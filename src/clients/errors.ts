/** `temporal`: the watcher's own trigger records, read from the Temporal server. `webhook`: notifications. */
export type Upstream = 'release-controller' | 'deck' | 'gangway' | 'temporal' | 'webhook';

/**
 * The one place where "retry or not" is decided: every client throws this, and the
 * activity layer only translates it for Temporal.
 */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly upstream: Upstream,
    message: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
    /** Server-requested delay (Retry-After), honoured instead of our backoff. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The stream exists but has no Accepted tag yet: a normal state, not a fault. */
export class NoAcceptedReleaseError extends UpstreamError {
  override name = 'NoAcceptedReleaseError';
  constructor(message: string) {
    super('release-controller', message, false, 404);
  }
}

/** The token file is missing or empty: nothing can be triggered until an operator fixes it. */
export class TokenNotFoundError extends Error {
  override name = 'TokenNotFoundError';
  constructor(readonly tokenPath: string) {
    super(`Gangway API token not found at ${tokenPath}`);
  }
}

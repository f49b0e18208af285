import { readFile } from 'node:fs/promises';
import axios from 'axios';
import type { SlackMessage } from '../domain/slackMessage';
import { UpstreamError } from './errors';
import { excerpt, parseRetryAfter } from './http';

/** The header that carries an event's idempotency key (the message carries it too). */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Slack answers at once; a webhook that takes longer than this is treated as down (and retried). */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The URL is a secret (it is the credential): no message built here ever contains it. */
export class WebhookUrlNotFoundError extends UpstreamError {
  override name = 'WebhookUrlNotFoundError';
  constructor(readonly file: string, why: string) {
    super('webhook', `notification webhook URL not found at ${file}: ${why}`, false);
  }
}

/**
 * Read on every use, like the Gangway token: a rotated secret is picked up by a long-running
 * worker, and the URL lives only as long as one request. Trimmed; must be http(s).
 */
export async function readWebhookUrl(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WebhookUrlNotFoundError(file, (err as { code?: string }).code ?? 'unreadable');
  }
  const url = text.trim();
  if (!url) throw new WebhookUrlNotFoundError(file, 'the file is empty');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookUrlNotFoundError(file, 'the file does not hold a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new WebhookUrlNotFoundError(file, 'the URL is not http(s)');
  return url;
}

export interface WebhookClientOptions {
  /** The URL, read per use (readWebhookUrl). */
  url: () => Promise<string>;
  timeoutMs?: number;
}

/**
 * A Slack-compatible incoming webhook: POST `{"text", "blocks"?}` as JSON, with the event's
 * idempotency key in a header. Decides once what a failure means, as the other clients do:
 * no answer, 408, 429 and 5xx are retryable (429/503 with their Retry-After); any other status
 * (Slack's 400 invalid_payload, 403, 404 no_service, 410 channel_is_archived) is not. Errors are
 * built from the status, the error code and the body (with the URL cut out), never from the
 * request, so the URL cannot leak through them.
 */
export class WebhookClient {
  constructor(private readonly options: WebhookClientOptions) {}

  async post(message: SlackMessage, idempotencyKey: string, signal?: AbortSignal): Promise<{ httpStatus: number }> {
    const url = await this.options.url();
    const what = 'webhook POST';
    let res;
    try {
      res = await axios.post(url, message, {
        timeout: this.options.timeoutMs ?? WEBHOOK_TIMEOUT_MS,
        validateStatus: () => true,
        maxRedirects: 0,
        responseType: 'text',
        transformResponse: (x: unknown) => x,
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'osc-build-watcher', [IDEMPOTENCY_HEADER]: idempotencyKey },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const code = e.code ?? '';
      if (code === 'ERR_CANCELED') throw new UpstreamError('webhook', `${what}: cancelled`, true);
      const timedOut = code === 'ECONNABORTED' || /timeout/i.test(e.message ?? '');
      // No answer: the receiver may or may not have it; the retry sends the same key.
      throw new UpstreamError('webhook', `${what}: ${timedOut ? 'timed out' : code || 'network error'}`, true);
    }
    const status = res.status;
    if (status >= 200 && status < 300) return { httpStatus: status };
    const body = excerpt(String(res.data ?? '').split(url).join('[webhook URL]'));
    const retryable = status === 408 || status === 429 || status >= 500;
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
    throw new UpstreamError('webhook', `${what}: HTTP ${status}${body ? ` ${body}` : ''}`, retryable, status, retryAfterMs);
  }
}

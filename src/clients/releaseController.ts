import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Release } from '../domain/types';
import { NoAcceptedReleaseError, UpstreamError } from './errors';
import { bodyText, createHttp, errorForNetwork, errorForStatus, excerpt, RAW_BODY, type UpstreamObserver } from './http';

// pullSpec is opaque (contracts.md §1), but it ends up in a POST body and a label
// annotation, so reject anything that does not look like an image reference.
const NO_TAGS = /no tags exist within the release/i;

const PULL_SPEC = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;

export const releaseTagSchema = z.object({
  name: z.string().min(1),
  phase: z.string().min(1),
  pullSpec: z.string().min(1),
  downloadURL: z.string().optional(),
});

export class ReleaseControllerClient {
  private readonly http: AxiosInstance;

  constructor(baseUrl: string, timeoutMs: number, observer?: UpstreamObserver) {
    this.http = createHttp(baseUrl, timeoutMs, { upstream: 'release-controller', observer });
  }

  /** Newest Accepted tag of a stream (the controller answers only Accepted ones). */
  async latestAccepted(stream: string): Promise<Release> {
    const what = `release controller ${stream}/latest`;
    const url = `/api/v1/releasestream/${encodeURIComponent(stream)}/latest`;
    let res;
    try {
      res = await this.http.get(url, RAW_BODY);
    } catch (err) {
      throw errorForNetwork('release-controller', what, err);
    }
    res.data = bodyText('release-controller', what, res);
    if (res.status === 404) {
      // Both 404s are facts, not faults; only "no tags exist" is normal, an unknown stream is a misconfiguration.
      const text = excerpt(res.data) || 'not found';
      if (NO_TAGS.test(text)) throw new NoAcceptedReleaseError(`${what}: ${text}`);
      throw new UpstreamError('release-controller', `${what}: ${text}`, false, 404);
    }
    if (res.status !== 200) throw errorForStatus('release-controller', what, res);
    return parseLatestTag(String(res.data), what);
  }

  /**
   * The stream's Accepted tags, as the controller lists them (newest first):
   * `GET /api/v1/releasestream/{stream}/tags?phase=Accepted`. Empty when it has none (`tags: null`).
   */
  async acceptedTags(stream: string): Promise<Release[]> {
    const what = `release controller ${stream}/tags`;
    const url = `/api/v1/releasestream/${encodeURIComponent(stream)}/tags`;
    let res;
    try {
      res = await this.http.get(url, { ...RAW_BODY, params: { phase: 'Accepted' } });
    } catch (err) {
      throw errorForNetwork('release-controller', what, err);
    }
    res.data = bodyText('release-controller', what, res);
    if (res.status === 404) throw new UpstreamError('release-controller', `${what}: ${excerpt(res.data) || 'not found'}`, false, 404);
    if (res.status !== 200) throw errorForStatus('release-controller', what, res);
    return parseAcceptedTags(String(res.data), what);
  }

  /**
   * Every stream of this host -> the names of its Accepted tags (unsorted), or null when it has
   * none: `GET /api/v1/releasestreams/accepted`, which other OpenShift tools use to find versions.
   */
  async acceptedStreams(): Promise<Record<string, string[] | null>> {
    const what = 'release controller releasestreams/accepted';
    let res;
    try {
      res = await this.http.get('/api/v1/releasestreams/accepted', RAW_BODY);
    } catch (err) {
      throw errorForNetwork('release-controller', what, err);
    }
    res.data = bodyText('release-controller', what, res);
    if (res.status !== 200) throw errorForStatus('release-controller', what, res);
    return parseAcceptedStreams(String(res.data), what);
  }
}

const acceptedStreamsSchema = z.record(z.string().min(1), z.array(z.string()).nullable());

export function parseAcceptedStreams(body: string, what = 'release controller answer'): Record<string, string[] | null> {
  return parseJsonAnswer(body, what, acceptedStreamsSchema, 'malformed answer');
}

/**
 * The release controller's JSON, checked against `schema`. An empty 200 is what a proxy gives
 * on a hiccup: worth another try, like Deck's; anything else unreadable will not improve.
 */
function parseJsonAnswer<T>(body: string, what: string, schema: z.ZodType<T>, malformed: string): T {
  if (!body.trim()) throw new UpstreamError('release-controller', `${what}: empty answer`, true);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new UpstreamError('release-controller', `${what}: answer is not JSON (${body.slice(0, 60).replace(/\s+/g, ' ')})`, false);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpstreamError('release-controller', `${what}: ${malformed} (${issue?.path.join('.') || 'body'}: ${issue?.message})`, false);
  }
  return parsed.data;
}

export function parseLatestTag(body: string, what = 'release controller answer'): Release {
  const tag = parseJsonAnswer(body, what, releaseTagSchema, 'malformed tag');
  if (tag.phase !== 'Accepted') {
    throw new UpstreamError('release-controller', `${what}: newest tag ${tag.name} is ${tag.phase}, not Accepted`, false);
  }
  return acceptedRelease(tag, what);
}

const tagListSchema = z.object({ name: z.string(), tags: z.array(releaseTagSchema).nullable() });

/** `/tags?phase=Accepted`: every tag, checked as `/latest`'s is; a tag in another phase is left out. */
export function parseAcceptedTags(body: string, what = 'release controller answer'): Release[] {
  const { tags } = parseJsonAnswer(body, what, tagListSchema, 'malformed tag list');
  return (tags ?? []).filter((t) => t.phase === 'Accepted').map((t) => acceptedRelease(t, what));
}

function acceptedRelease({ name, phase, pullSpec }: z.infer<typeof releaseTagSchema>, what: string): Release {
  if (!PULL_SPEC.test(pullSpec) || pullSpec.length > 512) {
    throw new UpstreamError('release-controller', `${what}: pullSpec of ${name} has unexpected characters`, false);
  }
  return { name, phase, pullSpec };
}

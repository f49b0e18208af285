import { goNotFound, goTextError, jsonResponse, pathSegments, type SimRequest, type SimResponse, textResponse } from './http';
import type { Route, SimService } from './server';
import { defaultPullSpec, type Phase, PHASES, type Scenario } from './scenario';
import { compareNamesNewestFirst, isSemver, parseSemver, parseSemverRange, type SemverRange } from './semver';
import { SimulatorInputError } from './validation';

/** A tag as the release controller API reports it. */
export interface ApiTag {
  name: string;
  phase: Phase;
  pullSpec: string;
  downloadURL: string;
}

// Texts of the real release controller's errors (contracts.md §1).
const STREAM_NOT_FOUND = 'no release configuration exists with the requested name';
const TAG_NOT_FOUND = 'no tags exist within the release that satisfy the request';
const BAD_FORMAT = "error: Must specify one of '', 'json', 'pullSpec', 'name', or 'downloadURL";
const ARTIFACTS = 'https://openshift-release-artifacts.apps.ci.l2s4.p1.openshiftapps.com';

/** The release streams and their tags; tags are kept newest first. */
export class ReleaseControllerState {
  private streams = new Map<string, ApiTag[]>();

  constructor(scenario: Scenario) {
    this.reset(scenario);
  }

  reset(scenario: Scenario): void {
    this.streams = new Map();
    for (const [stream, { tags }] of Object.entries(scenario.releaseController.streams)) {
      this.streams.set(stream, []);
      for (const tag of tags) this.addTag(stream, tag);
    }
  }

  /** Adds a tag, or updates the phase/pullSpec of an existing one (a nightly moving from Ready to Accepted). */
  addTag(stream: string, tag: { name: string; phase: Phase; pullSpec?: string }): void {
    if (!isSemver(tag.name)) throw new SimulatorInputError(`release-controller: tag name ${JSON.stringify(tag.name)} is not a semantic version`);
    const tags = (this.streams.get(stream) ?? []).filter((t) => t.name !== tag.name);
    tags.push({
      name: tag.name,
      phase: tag.phase,
      pullSpec: tag.pullSpec ?? defaultPullSpec(tag.name),
      downloadURL: `${ARTIFACTS}/${encodeURIComponent(tag.name)}`,
    });
    tags.sort((a, b) => compareNamesNewestFirst(a.name, b.name));
    this.streams.set(stream, tags);
  }

  streamOfTag(tagName: string): string | undefined {
    return [...this.streams].find(([, tags]) => tags.some((t) => t.name === tagName))?.[0];
  }

  tags(stream: string): ApiTag[] | undefined {
    return this.streams.get(stream)?.map((t) => ({ ...t }));
  }

  streamNames(): string[] {
    return [...this.streams.keys()];
  }
}

export function releaseControllerService(state: ReleaseControllerState): SimService {
  return {
    service: 'release-controller',
    gzip: false,
    route: (req) => route(state, req),
    control: (req) => control(state, req),
  };
}

function route(state: ReleaseControllerState, req: SimRequest): Route {
  const segments = pathSegments(req.pathname);
  // `/api/v1/releasestreams/accepted`: all streams at once (upstream also has rejected, ready, all).
  if (req.method === 'GET' && segments?.join('/') === 'api/v1/releasestreams/accepted') {
    return { endpoint: 'rc.accepted', handle: () => acceptedStreams(state) };
  }
  const isApi = req.method === 'GET' && segments?.[0] === 'api' && segments[1] === 'v1' && segments[2] === 'releasestream';
  if (!isApi || !segments) return { handle: goNotFound };
  const [stream, what, tag] = [segments[3], segments[4], segments[5]];
  if (stream === undefined) return { handle: goNotFound };
  if (what === 'latest' && segments.length === 5) return { endpoint: 'rc.latest', handle: () => latest(state, stream, req) };
  if (what === 'tags' && segments.length === 5) return { endpoint: 'rc.tags', handle: () => tagList(state, stream, req) };
  if (what === 'release' && tag !== undefined && segments.length === 6) {
    return { endpoint: 'rc.release', handle: () => releaseInfo(state, stream, tag) };
  }
  return { handle: goNotFound };
}

function latest(state: ReleaseControllerState, stream: string, req: SimRequest): SimResponse {
  let range: SemverRange | undefined;
  const inParam = req.params.get('in') ?? '';
  if (inParam !== '') {
    try {
      range = parseSemverRange(inParam);
    } catch (err) {
      return goTextError(400, `error: ?in must be a valid semantic version range: ${(err as Error).message}`);
    }
  }
  let skip = 0;
  const relParam = req.params.get('rel') ?? '';
  if (relParam !== '') {
    if (!/^[+-]?\d+$/.test(relParam)) {
      return goTextError(400, `error: ?rel must be non-negative integer: strconv.Atoi: parsing ${JSON.stringify(relParam)}: invalid syntax`);
    }
    skip = Number(relParam);
    if (skip < 0) return goTextError(400, 'error: ?rel must be non-negative integer');
  }
  const tags = state.tags(stream);
  if (!tags) return goTextError(404, STREAM_NOT_FOUND);
  const prefix = req.params.get('prefix') ?? '';
  // Only Accepted tags are ever answered; `rel` counts among those that pass the filters.
  const candidates = tags.filter(
    (t) => t.phase === 'Accepted' && t.name.startsWith(prefix) && (!range || range(parseSemver(t.name)!)),
  );
  const found = candidates[skip];
  if (!found) return goTextError(404, TAG_NOT_FOUND);

  // Upstream checks the format last: an unknown stream is a 404 whatever the format.
  const format = req.params.get('format') ?? '';
  switch (format) {
    case 'pullSpec':
    case 'name':
    case 'downloadURL':
      return textResponse(200, `${found[format]}\n`);
    case '':
    case 'json':
      return jsonResponse(200, found, { pretty: true });
    default:
      return goTextError(400, BAD_FORMAT);
  }
}

/** Stream name -> names of its Accepted tags (newest first here; upstream promises no order), null when none. */
function acceptedStreams(state: ReleaseControllerState): SimResponse {
  const answer: Record<string, string[] | null> = {};
  for (const stream of state.streamNames()) {
    const names = (state.tags(stream) ?? []).filter((t) => t.phase === 'Accepted').map((t) => t.name);
    // Go marshals a nil slice as null, as in /tags.
    answer[stream] = names.length > 0 ? names : null;
  }
  return jsonResponse(200, answer, { pretty: true });
}

function tagList(state: ReleaseControllerState, stream: string, req: SimRequest): SimResponse {
  const format = req.params.get('format') ?? '';
  const tags = state.tags(stream);
  if (!tags) return goTextError(404, `Unable to find release ${stream}`);
  if (format !== '' && format !== 'json') return goTextError(400, BAD_FORMAT);
  // `phase` may be repeated (?phase=Accepted&phase=Rejected), as upstream reads all its values.
  const phases = req.params.getAll('phase');
  const matching = tags.filter((t) => phases.length === 0 || phases.includes(t.phase));
  // Go marshals an empty nil slice as null, and clients have to cope with it.
  return jsonResponse(200, { name: stream, tags: matching.length > 0 ? matching : null }, { pretty: true });
}

function releaseInfo(state: ReleaseControllerState, stream: string, tagName: string): SimResponse {
  const tag = state.tags(stream)?.find((t) => t.name === tagName);
  if (!tag) {
    const elsewhere = state.streamOfTag(tagName);
    return goTextError(
      404,
      elsewhere === undefined
        ? `unable to find release tag ${tagName}, it may have been deleted`
        : `release tag ${tagName} does not belong to release ${stream}`,
    );
  }
  // Upstream's APIReleaseInfo: name, phase, results (verification jobs), upgrade history, changelog.
  // It has no pullSpec; a client needing one takes it from /latest or /tags.
  return jsonResponse(200, { name: tag.name, phase: tag.phase, results: {} }, { pretty: true });
}

/** `POST /__sim/tags` `{"stream", "name", "phase", "pullSpec"?}`: add or update a tag from a test in another process. */
function control(state: ReleaseControllerState, req: SimRequest): SimResponse | undefined {
  if (req.method !== 'POST' || req.pathname !== '/__sim/tags') return undefined;
  const body = (req.json ?? {}) as { stream?: unknown; name?: unknown; phase?: unknown; pullSpec?: unknown };
  const valid =
    typeof body.stream === 'string' &&
    typeof body.name === 'string' &&
    PHASES.includes(body.phase as Phase) &&
    (body.pullSpec === undefined || typeof body.pullSpec === 'string');
  if (!valid) {
    throw new SimulatorInputError(`tag: expected {"stream": string, "name": string, "phase": ${PHASES.join('|')}, "pullSpec"?: string}`);
  }
  state.addTag(body.stream as string, { name: body.name as string, phase: body.phase as Phase, pullSpec: body.pullSpec as string | undefined });
  return jsonResponse(200, { ok: true });
}

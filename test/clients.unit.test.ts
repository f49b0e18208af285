// The three HTTP clients against the real simulators: one test per class of answer, asserting
// either the value or the typed error (UpstreamError: upstream, retryable, httpStatus, retryAfterMs).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import util from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ReleaseControllerClient } from '../src/clients/releaseController';
import { DeckClient, type DeckQuery } from '../src/clients/deck';
import { JsVarUnwrapper, streamProwJobs } from '../src/clients/deckBody';
import { GangwayClient, type CreateExecutionRequest } from '../src/clients/gangway';
import { readGangwayToken } from '../src/clients/gangwayToken';
import { TokenNotFoundError, UpstreamError, type Upstream } from '../src/clients/errors';
import { labelKeys, triggerKey } from '../src/domain/labels';
import type { JobSpec } from '../src/domain/types';
import { parseScenario, type Simulators, startSimulators } from '../src/simulators';
import { CANARY_TOKEN, JOB_NAMES, tempDir, writeTokenFile } from './helpers/config';
import { rawGet } from './helpers/http';

const PREFIX = 'osc-build-watcher';
const KEYS = labelKeys(PREFIX);
const [KATA, PEERPODS, COCO] = JOB_NAMES as [string, string, string, ...string[]];
const JOBS: JobSpec[] = JOB_NAMES.map((name) => ({ name, shortName: name.split('-').slice(-3).join('-'), payloadEnv: 'RELEASE_IMAGE_LATEST' }));
const DECK_QUERY: DeckQuery = { org: 'openshift', repo: 'sandboxed-containers-operator', jobs: JOBS, labelPrefix: PREFIX };

const STREAM = '4.21.0-0.nightly';
const ACCEPTED = '4.21.0-0.nightly-2026-11-20-010101';
const NEWER_REJECTED = '4.21.0-0.nightly-2026-11-22-020202';
const ACCEPTED_PULL_SPEC = 'quay.io/openshift-release-dev/ocp-release@sha256:0123456789abcdef0123456789abcdef';
const NO_ACCEPTED_STREAM = '4.22.0-0.nightly';
const OTHER_JOB_SAME_REPO = 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release-aro-ipi-coco';
const OTHER_REPO_JOB = 'periodic-ci-openshift-release-master-nightly-4.21-e2e-aws';
const PAYLOAD_PULL_SPEC = `registry.ci.openshift.org/ocp/release:${ACCEPTED}`;

const scenario = parseScenario({
  releaseController: {
    streams: {
      [STREAM]: {
        tags: [
          { name: '4.21.0-0.nightly-2026-11-09-040404', phase: 'Accepted' },
          { name: NEWER_REJECTED, phase: 'Rejected' },
          { name: ACCEPTED, phase: 'Accepted', pullSpec: ACCEPTED_PULL_SPEC },
        ],
      },
      [NO_ACCEPTED_STREAM]: {
        tags: [
          { name: '4.22.0-0.nightly-2026-11-22-000000', phase: 'Pending' },
          { name: '4.22.0-0.nightly-2026-11-21-000000', phase: 'Rejected' },
        ],
      },
    },
  },
  deck: {
    prowJobs: [
      // Triggered by us: our labels and the payload env.
      {
        id: 'pj-ours',
        job: KATA,
        state: 'success',
        releaseImageLatest: PAYLOAD_PULL_SPEC,
        labels: { [KEYS.payload]: ACCEPTED, [KEYS.triggerKey]: triggerKey(KATA, PAYLOAD_PULL_SPEC) },
        startTime: '-2h',
      },
      // Triggered by someone else with the env only.
      { id: 'pj-env-only', job: PEERPODS, state: 'pending', releaseImageLatest: PAYLOAD_PULL_SPEC, startTime: '-1h' },
      // The bash step's kind of run: no env, no label.
      { id: 'pj-bare', job: COCO, state: 'failure', startTime: '-3h' },
      // Same repo, not one of our jobs: Deck returns it, the client drops it.
      { id: 'pj-not-ours', job: OTHER_JOB_SAME_REPO, state: 'success', startTime: '-30m' },
      // Another repo: Deck filters it out server-side.
      { id: 'pj-other-repo', job: OTHER_REPO_JOB, state: 'failure', repo: 'release', startTime: '-20m' },
    ],
  },
  gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES },
});

let sims: Simulators;
before(async () => {
  sims = await startSimulators(scenario);
});
after(async () => {
  await sims.close();
});
beforeEach(() => sims.reset());

interface Expected {
  upstream: Upstream;
  retryable: boolean;
  httpStatus?: number;
  retryAfterMs?: number;
  message?: RegExp;
  /** The error class, when a subclass of UpstreamError is expected. */
  name?: string;
}

/** Awaits a rejection and checks it is exactly the expected UpstreamError. */
async function expectUpstreamError(promise: Promise<unknown>, expected: Expected): Promise<UpstreamError> {
  let caught: unknown;
  try {
    const value = await promise;
    assert.fail(`expected an UpstreamError, got a value: ${util.inspect(value, { depth: 3 }).slice(0, 300)}`);
  } catch (err) {
    caught = err;
  }
  if (caught instanceof assert.AssertionError) throw caught;
  assert.ok(caught instanceof UpstreamError, `expected an UpstreamError, got ${util.inspect(caught)}`);
  const err = caught;
  assert.equal(err.name, expected.name ?? 'UpstreamError');
  assert.equal(err.upstream, expected.upstream, err.message);
  assert.equal(err.retryable, expected.retryable, `retryable of: ${err.message}`);
  assert.equal(err.httpStatus, expected.httpStatus, `httpStatus of: ${err.message}`);
  assert.equal(err.retryAfterMs, expected.retryAfterMs, `retryAfterMs of: ${err.message}`);
  if (expected.message) assert.match(err.message, expected.message);
  return err;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('ReleaseControllerClient.latestAccepted', () => {
  const client = () => new ReleaseControllerClient(sims.releaseControllerUrl, 2000);
  const rc = { upstream: 'release-controller' as const };

  test('200: the newest Accepted tag (a newer Rejected tag is ignored), pullSpec as sent', async () => {
    const release = await client().latestAccepted(STREAM);
    assert.deepEqual(release, { name: ACCEPTED, phase: 'Accepted', pullSpec: ACCEPTED_PULL_SPEC });
    const [req] = sims.requests('release-controller');
    assert.equal(req?.path, `/api/v1/releasestream/${STREAM}/latest`);
    assert.deepEqual(req?.query, {});
    assert.equal(req?.status, 200);
  });

  test('404 unknown stream: permanent, with the controller\'s own text', async () => {
    await expectUpstreamError(client().latestAccepted('4.99.0-0.nightly'), {
      ...rc,
      retryable: false,
      httpStatus: 404,
      message: /no release configuration exists with the requested name/,
    });
  });

  test('404 no Accepted tag in the stream: permanent, and told apart from a fault', async () => {
    await expectUpstreamError(client().latestAccepted(NO_ACCEPTED_STREAM), {
      ...rc,
      name: 'NoAcceptedReleaseError',
      retryable: false,
      httpStatus: 404,
      message: /no tags exist within the release that satisfy the request/,
    });
  });

  test('500 and 503: retryable, the body excerpt in the message', async () => {
    for (const status of [500, 503]) {
      sims.addFault({ endpoint: 'rc.latest', status, body: `upstream exploded ${status}`, times: 1 });
      await expectUpstreamError(client().latestAccepted(STREAM), {
        ...rc,
        retryable: true,
        httpStatus: status,
        message: new RegExp(`HTTP ${status} upstream exploded ${status}`),
      });
    }
  });

  test('429 with Retry-After: 2 → retryable, retryAfterMs 2000', async () => {
    sims.addFault({ endpoint: 'rc.latest', status: 429, headers: { 'Retry-After': '2' }, times: 1 });
    await expectUpstreamError(client().latestAccepted(STREAM), { ...rc, retryable: true, httpStatus: 429, retryAfterMs: 2000 });
  });

  test('200 with malformed JSON: permanent', async () => {
    sims.addFault({ endpoint: 'rc.latest', kind: 'malformed-json' });
    await expectUpstreamError(client().latestAccepted(STREAM), { ...rc, retryable: false, message: /not JSON/ });
  });

  test('200 with an HTML login page: permanent', async () => {
    sims.addFault({ endpoint: 'rc.latest', kind: 'html-200' });
    await expectUpstreamError(client().latestAccepted(STREAM), { ...rc, retryable: false, message: /not JSON \(<!DOCTYPE html>/ });
  });

  test('200 with a tag that is not Accepted, or with an unexpected pullSpec: permanent', async () => {
    const tag = (phase: string, pullSpec: string) => JSON.stringify({ name: NEWER_REJECTED, phase, pullSpec, downloadURL: 'x' });
    sims.addFault({ endpoint: 'rc.latest', status: 200, contentType: 'application/json', body: tag('Rejected', 'quay.io/a/b:c'), times: 1 });
    await expectUpstreamError(client().latestAccepted(STREAM), { ...rc, retryable: false, message: /is Rejected, not Accepted/ });
    sims.addFault({ endpoint: 'rc.latest', status: 200, contentType: 'application/json', body: tag('Accepted', 'quay.io/a/b:c; rm -rf /'), times: 1 });
    await expectUpstreamError(client().latestAccepted(STREAM), { ...rc, retryable: false, message: /unexpected characters/ });
  });

  test('connection refused: retryable', async () => {
    const port = await closedPort();
    const refused = new ReleaseControllerClient(`http://127.0.0.1:${port}`, 2000);
    await expectUpstreamError(refused.latestAccepted(STREAM), { ...rc, retryable: true, message: /ECONNREFUSED/ });
  });

  test('timeout (answer slower than the 300 ms client timeout): retryable', async () => {
    sims.addFault({ endpoint: 'rc.latest', latencyMs: 1500, times: 1 });
    const started = Date.now();
    await expectUpstreamError(new ReleaseControllerClient(sims.releaseControllerUrl, 300).latestAccepted(STREAM), {
      ...rc,
      retryable: true,
      message: /timed out/,
    });
    assert.ok(Date.now() - started < 1200, 'gave up at the client timeout, not when the server answered');
  });
});

describe('ReleaseControllerClient.acceptedStreams', () => {
  const client = () => new ReleaseControllerClient(sims.releaseControllerUrl, 2000);
  const rc = { upstream: 'release-controller' as const };

  test('200: every stream with its Accepted tag names, null for a stream with none', async () => {
    const streams = await client().acceptedStreams();
    assert.deepEqual(Object.keys(streams).sort(), [STREAM, NO_ACCEPTED_STREAM].sort());
    assert.deepEqual([...streams[STREAM]!].sort(), [ACCEPTED, '4.21.0-0.nightly-2026-11-09-040404'].sort(), 'Rejected tags left out');
    assert.equal(streams[NO_ACCEPTED_STREAM], null);
    const [req] = sims.requests('release-controller');
    assert.equal(req?.path, '/api/v1/releasestreams/accepted');
    assert.equal(req?.status, 200);
  });

  test('5xx, 429 and an empty 200: retryable; 404 (a controller without the endpoint): permanent', async () => {
    sims.addFault({ endpoint: 'rc.accepted', status: 503, body: 'upstream connect error', times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: true, httpStatus: 503, message: /releasestreams\/accepted: HTTP 503 upstream connect error/ });
    sims.addFault({ endpoint: 'rc.accepted', status: 429, headers: { 'Retry-After': '1' }, times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: true, httpStatus: 429, retryAfterMs: 1000 });
    sims.addFault({ endpoint: 'rc.accepted', kind: 'empty-body', times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: true, message: /empty answer/ });
    sims.addFault({ endpoint: 'rc.accepted', status: 404, body: '404 page not found', times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: false, httpStatus: 404 });
  });

  test('a cut gzip answer: retryable; HTML, malformed JSON or an unexpected shape: permanent', async () => {
    sims.addFault({ endpoint: 'rc.accepted', kind: 'truncated-gzip', times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: true, httpStatus: 200, message: /cut short/ });
    sims.addFault({ endpoint: 'rc.accepted', kind: 'html-200', times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: false, message: /not JSON \(<!DOCTYPE html>/ });
    sims.addFault({ endpoint: 'rc.accepted', kind: 'malformed-json', times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: false, message: /not JSON/ });
    sims.addFault({ endpoint: 'rc.accepted', status: 200, contentType: 'application/json', body: '{"4.21.0-0.nightly": "4.21.0-0.nightly-x"}', times: 1 });
    await expectUpstreamError(client().acceptedStreams(), { ...rc, retryable: false, message: /malformed answer \(4\.21\.0-0\.nightly: / });
  });

  test('connection refused: retryable', async () => {
    const refused = new ReleaseControllerClient(`http://127.0.0.1:${await closedPort()}`, 2000);
    await expectUpstreamError(refused.acceptedStreams(), { ...rc, retryable: true, message: /ECONNREFUSED/ });
  });
});

describe('DeckClient.recentRuns', () => {
  const client = (timeoutMs = 3000) => new DeckClient(sims.deckUrl, timeoutMs);
  const deck = { upstream: 'deck' as const };

  test('JSON form: only our jobs are kept, scanned counts every ProwJob Deck returned', async () => {
    const snap = await client().recentRuns(DECK_QUERY);
    // 4 in the OSC repo (pj-other-repo is filtered by Deck), 3 of them ours.
    assert.equal(snap.scanned, 4);
    assert.deepEqual(snap.runs.map((r) => r.id).sort(), ['pj-bare', 'pj-env-only', 'pj-ours']);
    assert.ok(!Number.isNaN(Date.parse(snap.fetchedAt)));
    for (const run of snap.runs) assert.ok(JOB_NAMES.includes(run.job));
  });

  test('payloadLabel, triggerKey and payloadEnvValue are extracted; the full job name is matched (label is cut to 63)', async () => {
    const snap = await client().recentRuns(DECK_QUERY);
    const byId = new Map(snap.runs.map((r) => [r.id, r]));
    const ours = byId.get('pj-ours');
    assert.ok(ours);
    assert.equal(ours.job, KATA);
    assert.ok(KATA.length > 63, 'the label prow.k8s.io/job cannot hold this name');
    assert.equal(ours.state, 'success');
    assert.equal(ours.payloadLabel, ACCEPTED);
    assert.equal(ours.triggerKey, triggerKey(KATA, PAYLOAD_PULL_SPEC));
    assert.equal(ours.payloadEnvValue, PAYLOAD_PULL_SPEC);
    assert.ok(ours.startTime && ours.completionTime && ours.url);

    const envOnly = byId.get('pj-env-only');
    assert.equal(envOnly?.state, 'pending');
    assert.equal(envOnly?.payloadLabel, undefined);
    assert.equal(envOnly?.payloadEnvValue, PAYLOAD_PULL_SPEC);

    const bare = byId.get('pj-bare');
    assert.equal(bare?.state, 'failure');
    assert.equal(bare?.payloadLabel, undefined);
    assert.equal(bare?.payloadEnvValue, undefined);
  });

  test('one request, carrying org/repo/omit, and no var=', async () => {
    await client().recentRuns(DECK_QUERY);
    const reqs = sims.requests('deck');
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0]?.path, '/prowjobs.js');
    assert.equal(reqs[0]?.query.org, 'openshift');
    assert.equal(reqs[0]?.query.repo, 'sandboxed-containers-operator');
    assert.equal(reqs[0]?.query.var, undefined);
    // pod_spec must not be omitted, or the payload env is gone (contracts.md §2).
    assert.ok(!(reqs[0]?.query.omit ?? '').split(',').includes('pod_spec'));
    assert.ok(!(reqs[0]?.query.omit ?? '').split(',').includes('labels'));
  });

  test('gzip answer (> 1400 bytes) is decoded and parsed', async () => {
    const query = 'org=openshift&repo=sandboxed-containers-operator&omit=annotations%2Cdecoration_config';
    const raw = await rawGet(`${sims.deckUrl}/prowjobs.js?${query}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(raw.headers['content-encoding'], 'gzip', 'the simulator gzips this answer');
    const plain = gunzipSync(raw.body);
    assert.ok(plain.length > 1400, `answer is ${plain.length} bytes`);
    const expectedIds = (JSON.parse(plain.toString('utf8')) as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name);

    sims.reset();
    const snap = await client().recentRuns(DECK_QUERY);
    assert.equal(snap.scanned, expectedIds.length);
    assert.equal(snap.runs.length, 3);
  });

  test('the var= form (the client never asks for it): JsVarUnwrapper/streamProwJobs give the same items as JSON', async () => {
    const q = 'org=openshift&repo=sandboxed-containers-operator';
    const js = await (await fetch(`${sims.deckUrl}/prowjobs.js?var=allBuilds&${q}`)).text();
    const json = await (await fetch(`${sims.deckUrl}/prowjobs.js?${q}`)).text();
    assert.match(js, /^var allBuilds = \{"items":\[/);
    assert.throws(() => JSON.parse(js), SyntaxError, 'var= is JavaScript, not JSON (bash-step defect 1)');
    const expected = (JSON.parse(json) as { items: unknown[] }).items;

    const collect = async (text: string, size: number) => {
      const items: unknown[] = [];
      const counted = await streamProwJobs(chunks(Buffer.from(text), size), (i) => items.push(i), 2000);
      assert.equal(counted.items, items.length);
      return items;
    };
    for (const size of [1, 9, 4096]) {
      assert.deepEqual(await collect(js, size), expected, `var= form, ${size}-byte chunks`);
      assert.deepEqual(await collect(json, size), expected, `JSON form, ${size}-byte chunks`);
    }
    // The unwrapper alone yields the JSON text.
    assert.equal((await pipeText(js, new JsVarUnwrapper())).trim(), json);
  });

  test(
    'the var= form keeps non-ASCII text intact when a character is split across chunks',
    async () => {
      const items = [{ metadata: { name: 'a' }, spec: { job: KATA }, status: { state: 'failure', description: 'café ✓ 🚀' } }];
      const text = `var allBuilds = ${JSON.stringify({ items })};`;
      const got: unknown[] = [];
      await streamProwJobs(chunks(Buffer.from(text), 1), (i) => got.push(i), 2000);
      assert.deepEqual(got, items);
    },
  );

  test('5xx: retryable, status and body excerpt kept', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', status: 502, body: 'Bad Gateway from the router' });
    await expectUpstreamError(client().recentRuns(DECK_QUERY), { ...deck, retryable: true, httpStatus: 502, message: /HTTP 502 Bad Gateway from the router/ });
  });

  test('401: permanent', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', status: 401, body: 'Unauthorized' });
    await expectUpstreamError(client().recentRuns(DECK_QUERY), { ...deck, retryable: false, httpStatus: 401, message: /HTTP 401/ });
  });

  test('200 with an HTML page: permanent', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'html-200' });
    await expectUpstreamError(client().recentRuns(DECK_QUERY), { ...deck, retryable: false, message: /HTML page/ });
  });

  test('200 with an empty body: an error (retryable, a proxy hiccup), never an empty success', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'empty-body' });
    await expectUpstreamError(client().recentRuns(DECK_QUERY), { ...deck, retryable: true, message: /empty body/ });
  });

  test('200 with malformed JSON: permanent', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'malformed-json' });
    await expectUpstreamError(client().recentRuns(DECK_QUERY), { ...deck, retryable: false, message: /not valid JSON/ });
  });

  test('200 with JSON that has no items list: permanent', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', status: 200, contentType: 'application/json', body: '{"kind":"List","metadata":{}}' });
    await expectUpstreamError(client().recentRuns(DECK_QUERY), { ...deck, retryable: false, message: /no "items" list/ });
  });

  test('truncated gzip: a retryable error, never a silent partial list', async () => {
    // Enough ProwJobs that the first half of the gzip stream holds several complete items.
    const many = Array.from({ length: 40 }, (_, i) => ({ id: `pj-${i}`, job: KATA, state: 'success' as const }));
    const local = await startSimulators(parseScenario({ deck: { prowJobs: many } }));
    try {
      assert.equal((await new DeckClient(local.deckUrl, 3000).recentRuns(DECK_QUERY)).runs.length, 40);
      local.addFault({ endpoint: 'deck.prowjobs', kind: 'truncated-gzip' });
      await assert.rejects(new DeckClient(local.deckUrl, 3000).recentRuns(DECK_QUERY), (e: unknown) => {
        assert.ok(e instanceof UpstreamError, util.inspect(e));
        assert.equal(e.upstream, 'deck');
        // A cut-off transfer is a network fault: the next attempt may well get it whole.
        assert.match(e.message, /cut short/);
        assert.equal(e.retryable, true);
        return true;
      });
    } finally {
      await local.close();
    }
  });

  test('connection reset: retryable', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'reset' });
    await expectUpstreamError(client().recentRuns(DECK_QUERY), { ...deck, retryable: true, message: /ECONNRESET/ });
  });

  test('timeout: retryable', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', latencyMs: 1500, times: 1 });
    await expectUpstreamError(client(300).recentRuns(DECK_QUERY), { ...deck, retryable: true, message: /timed out/ });
  });

  test('a large gzipped answer (20,000 ProwJobs) is streamed with every item counted', async () => {
    // The simulator builds full ProwJobs and takes ~6 s for 20,000: a plain server serves
    // compact, precomputed ones instead, through the same client code (HTTP, gunzip, stream).
    const N = 20_000;
    const items = Array.from({ length: N }, (_, i) => ({
      apiVersion: 'prow.k8s.io/v1',
      kind: 'ProwJob',
      metadata: { name: `pj-${i}`, labels: { 'prow.k8s.io/job': `job-${i % 97}`, ...(i % 1000 === 0 ? { [KEYS.payload]: `tag-${i}` } : {}) } },
      spec: {
        type: 'periodic',
        job: i % 100 === 0 ? JOB_NAMES[i % JOB_NAMES.length] : `periodic-ci-other-${i % 97}`,
        pod_spec: { containers: [{ name: '', env: [{ name: 'RELEASE_IMAGE_LATEST', value: `quay.io/x/release:${i}` }] }] },
      },
      status: { state: 'success', startTime: '2026-11-20T00:00:00Z' },
    }));
    const body = gzipSync(Buffer.from(JSON.stringify({ items })));
    const server = createHttpServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const started = Date.now();
      // CPU time of this process (the server is in it too), not wall time: that holds on a loaded machine.
      const cpuBefore = process.cpuUsage();
      const snap = await new DeckClient(`http://127.0.0.1:${port}`, 5000).recentRuns(DECK_QUERY);
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      assert.equal(snap.scanned, N);
      assert.equal(snap.runs.length, N / 100);
      assert.equal(snap.runs.filter((r) => r.payloadLabel).length, N / 1000);
      assert.equal(snap.runs[5]?.payloadEnvValue, 'quay.io/x/release:500');
      assert.ok(cpuMs < 3000, `took ${Math.round(cpuMs)} ms of CPU (${Date.now() - started} ms)`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('GangwayClient.createExecution', () => {
  const dir = tempDir('osc-clients-test-');
  const tokenFile = writeTokenFile(dir, CANARY_TOKEN);
  const gw = { upstream: 'gangway' as const };
  after(() => rmSync(dir, { recursive: true, force: true }));

  const client = (createForm: 'body' | 'path' = 'body', token: () => Promise<string> = () => readGangwayToken(tokenFile), timeoutMs = 3000) =>
    new GangwayClient({ baseUrl: sims.gangwayUrl, timeoutMs, createForm, token });

  const request = (jobName = KATA): CreateExecutionRequest => ({
    jobName,
    envs: { RELEASE_IMAGE_LATEST: PAYLOAD_PULL_SPEC },
    labels: { [KEYS.payload]: ACCEPTED, [KEYS.triggerKey]: triggerKey(jobName, PAYLOAD_PULL_SPEC), [KEYS.ocpVersion]: '4.21' },
    annotations: { [KEYS.pullSpec]: PAYLOAD_PULL_SPEC },
  });

  /** No thrown error, in any rendering, may carry the token. */
  function assertNoToken(err: unknown, token = CANARY_TOKEN): void {
    const renderings = {
      json: JSON.stringify(err),
      message: (err as Error).message,
      string: String(err),
      inspect: util.inspect(err, { depth: 10 }),
      stack: String((err as Error).stack),
      props: JSON.stringify(Object.getOwnPropertyNames(err).map((k) => util.inspect((err as Record<string, unknown>)[k], { depth: 10 }))),
    };
    for (const [how, text] of Object.entries(renderings)) assert.ok(!text.includes(token), `token leaked through ${how}: ${text}`);
  }
  const expectGangwayError = async (p: Promise<unknown>, e: Omit<Expected, 'upstream'>) => {
    const err = await expectUpstreamError(p, { ...gw, ...e });
    assertNoToken(err);
    return err;
  };

  test('body form, 200: the execution id; job_name, type "1", envs, labels and annotations in the body', async () => {
    const created = await client('body').createExecution(request());
    assert.equal(created.httpStatus, 200);
    assert.match(created.execution.id, /^[0-9a-f-]{36}$/);
    assert.equal(created.execution.job_name, KATA);
    assert.equal(created.execution.job_status, 'TRIGGERED');

    const [req] = sims.requests('gangway');
    assert.equal(req?.method, 'POST');
    assert.equal(req?.path, '/v1/executions');
    assert.equal(req?.authorized, true);
    assert.deepEqual(req?.body, {
      job_name: KATA,
      job_execution_type: '1',
      pod_spec_options: { envs: request().envs, labels: request().labels, annotations: request().annotations },
    });
    // The ProwJob exists, with the payload env Deck will show.
    const pj = sims.prowJobs().find((p) => p.metadata.name === created.execution.id);
    assert.ok(pj);
    assert.ok(pj.spec.pod_spec?.containers[0]?.env?.some((e) => e.name === 'RELEASE_IMAGE_LATEST' && e.value === PAYLOAD_PULL_SPEC));
    assert.equal(sims.counters()['gangway.created'], 1);
  });

  test('path form, 200: the job in the path, no job_name in the body', async () => {
    const created = await client('path').createExecution(request(PEERPODS));
    assert.equal(created.httpStatus, 200);
    assert.ok(created.execution.id);
    const [req] = sims.requests('gangway');
    assert.equal(req?.path, `/v1/executions/${PEERPODS}`);
    const body = req?.body as Record<string, unknown>;
    assert.ok(!('job_name' in body), 'job_name only in the body form');
    assert.equal(body.job_execution_type, '1');
    assert.deepEqual(body.pod_spec_options, { envs: request(PEERPODS).envs, labels: request(PEERPODS).labels, annotations: request(PEERPODS).annotations });
    assert.equal(sims.prowJobs().find((p) => p.metadata.name === created.execution.id)?.spec.job, PEERPODS);
  });

  test('unknown job: 500 "failed to find associated periodic job", permanent (both forms)', async () => {
    for (const form of ['body', 'path'] as const) {
      await expectGangwayError(client(form).createExecution(request(`${KATA}-nope`)), {
        retryable: false,
        httpStatus: 500,
        message: /failed to find associated periodic job/,
      });
    }
    assert.equal(sims.counters()['gangway.created'], 0);
  });

  test('a 500 that is not "unknown job": retryable', async () => {
    sims.addFault({ endpoint: 'gangway.create', status: 500, body: '{"code":13,"message":"internal"}' });
    await expectGangwayError(client().createExecution(request()), { retryable: true, httpStatus: 500 });
  });

  test('wrong token: 403, permanent, and the wrong token is not in the error either', async () => {
    const wrong = 'sha256~WRONG-token-0000000000000000';
    const err = await expectGangwayError(client('body', async () => wrong).createExecution(request()), { retryable: false, httpStatus: 403, message: /Forbidden/ });
    assertNoToken(err, wrong);
    assert.equal(sims.requests('gangway')[0]?.authorized, false);
    assert.equal(sims.counters()['gangway.created'], 0);
  });

  test('missing token file: TokenNotFoundError from readGangwayToken, no request sent', async () => {
    const missing = path.join(dir, 'no-such-dir', 'gangway-api-token');
    await assert.rejects(client('body', () => readGangwayToken(missing)).createExecution(request()), (err: unknown) => {
      assert.ok(err instanceof TokenNotFoundError, util.inspect(err));
      assert.equal(err.name, 'TokenNotFoundError');
      assert.equal(err.message, `Gangway API token not found at ${missing}`);
      assert.equal(err.tokenPath, missing);
      return true;
    });
    assert.equal(sims.requests('gangway').length, 0);
  });

  test('429 with Retry-After: retryable, retryAfterMs honoured', async () => {
    sims.addFault({ endpoint: 'gangway.create', status: 429, body: 'Too Many Requests', headers: { 'Retry-After': '7' } });
    await expectGangwayError(client().createExecution(request()), { retryable: true, httpStatus: 429, retryAfterMs: 7000 });
    assert.equal(sims.counters()['gangway.created'], 0);
  });

  test('503: retryable', async () => {
    sims.addFault({ endpoint: 'gangway.create', status: 503, body: 'upstream connect error' });
    await expectGangwayError(client().createExecution(request()), { retryable: true, httpStatus: 503, message: /HTTP 503 upstream connect error/ });
  });

  test('200 with malformed JSON: retryable, though the job may have been created (a retried trigger looks for it first)', async () => {
    sims.addFault({ endpoint: 'gangway.create', kind: 'malformed-json', afterEffect: true });
    await expectGangwayError(client().createExecution(request()), { retryable: true, httpStatus: 200, message: /not JSON/ });
    assert.equal(sims.counters()['gangway.created'], 1);
  });

  test('200 without an execution id: retryable', async () => {
    sims.addFault({ endpoint: 'gangway.create', status: 200, contentType: 'application/json', body: '{"job_status":"TRIGGERED"}' });
    await expectGangwayError(client().createExecution(request()), { retryable: true, httpStatus: 200, message: /no execution id/ });
  });

  test('connection reset: retryable', async () => {
    sims.addFault({ endpoint: 'gangway.create', kind: 'reset' });
    await expectGangwayError(client().createExecution(request()), { retryable: true, message: /ECONNRESET/ });
  });

  test('connection refused and timeout: retryable', async () => {
    const port = await closedPort();
    const refused = new GangwayClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000, createForm: 'body', token: () => readGangwayToken(tokenFile) });
    await expectGangwayError(refused.createExecution(request()), { retryable: true, message: /ECONNREFUSED/ });
    sims.addFault({ endpoint: 'gangway.create', latencyMs: 1500, times: 1 });
    await expectGangwayError(client('body', undefined, 300).createExecution(request()), { retryable: true, message: /timed out/ });
  });

  test('an upstream that echoes the Authorization header in an error body: the token is redacted', async () => {
    sims.addFault({ endpoint: 'gangway.create', status: 400, body: `bad request; headers: Authorization: Bearer ${CANARY_TOKEN}`, times: 1 });
    const err = await expectGangwayError(client().createExecution(request()), { retryable: false, httpStatus: 400 });
    assert.match(err.message, /\[REDACTED\]/);
    sims.addFault({ endpoint: 'gangway.create', status: 429, headers: { 'Retry-After': '1' }, body: `rate limited: Bearer ${CANARY_TOKEN}` });
    const limited = await expectGangwayError(client().createExecution(request()), { retryable: true, httpStatus: 429, retryAfterMs: 1000 });
    assert.match(limited.message, /\[REDACTED\]/);
  });

  test(
    'an upstream that echoes the token in a 200 body that is not JSON: the token is not in the error',
    async () => {
      sims.addFault({ endpoint: 'gangway.create', kind: 'malformed-json', body: `Bearer ${CANARY_TOKEN}` });
      await expectGangwayError(client().createExecution(request()), { retryable: true, httpStatus: 200 });
    },
  );

  test('the token file is read on every use: a rotated token is picked up', async () => {
    const file = path.join(dir, 'rotating-token');
    writeFileSync(file, 'sha256~old-token\n');
    const c = client('body', () => readGangwayToken(file));
    await expectGangwayError(c.createExecution(request()), { retryable: false, httpStatus: 403 });
    writeFileSync(file, `${CANARY_TOKEN}\n`);
    assert.equal((await c.createExecution(request())).httpStatus, 200);
    assert.deepEqual(sims.requests('gangway').map((r) => r.authorized), [false, true]);
  });
});

describe('readGangwayToken', () => {
  const dir = tempDir('osc-token-test-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('trims surrounding whitespace and the trailing newline', async () => {
    const cases: Array<[string, string]> = [
      [`${CANARY_TOKEN}\n`, CANARY_TOKEN],
      [`  ${CANARY_TOKEN}\r\n\n`, CANARY_TOKEN],
      [`\t${CANARY_TOKEN}`, CANARY_TOKEN],
    ];
    for (const [i, [content, expected]] of cases.entries()) {
      const file = path.join(dir, `token-${i}`);
      writeFileSync(file, content);
      assert.equal(await readGangwayToken(file), expected);
    }
    assert.equal(await readGangwayToken(writeTokenFile(dir)), CANARY_TOKEN);
  });

  test('for local use GANGWAY_API_TOKEN (trimmed) stands in for the file; blank, it does not', async () => {
    const missing = path.join(dir, 'not-there');
    assert.equal(await readGangwayToken(missing, { GANGWAY_API_TOKEN: ` ${CANARY_TOKEN}\n` }), CANARY_TOKEN);
    await assert.rejects(readGangwayToken(missing, { GANGWAY_API_TOKEN: '  ' }), TokenNotFoundError);
    assert.equal(await readGangwayToken(writeTokenFile(dir), { GANGWAY_API_TOKEN: '' }), CANARY_TOKEN);
  });

  test('empty or whitespace-only file, missing file, or a directory: TokenNotFoundError naming the path', async () => {
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '');
    const blank = path.join(dir, 'blank');
    writeFileSync(blank, ' \n\t\n');
    for (const file of [empty, blank, path.join(dir, 'missing'), dir]) {
      await assert.rejects(readGangwayToken(file), (err: unknown) => {
        assert.ok(err instanceof TokenNotFoundError);
        assert.equal(err.message, `Gangway API token not found at ${file}`);
        return true;
      });
    }
  });
});

// ---- helpers ----

function chunks(buf: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

function pipeText(text: string, through: JsVarUnwrapper): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    through.on('data', (c: Buffer | string) => (out += c.toString()));
    through.on('end', () => resolve(out));
    through.on('error', reject);
    chunks(Buffer.from(text), 7).pipe(through);
  });
}


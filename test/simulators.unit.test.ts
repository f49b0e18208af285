import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import YAML from 'yaml';
import { loadScenario, parseScenario, type ProwJob, type Simulators, startSimulators } from '../src/simulators';
import { rawGet } from './helpers/http';

const TOKEN = 'test-token';
const PREFIX = 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release';
const KATA = `${PREFIX}-azure-ipi-kata`;
const PEERPODS = `${PREFIX}-azure-ipi-peerpods`;
const STREAM = '4.21.0-0.nightly';
const NEWEST_ACCEPTED = '4.21.0-0.nightly-2026-11-21-030303';
const CUSTOM_PULL_SPEC = 'quay.io/openshift-release-dev/ocp-release@sha256:0123456789abcdef';
const ARTIFACTS = 'https://openshift-release-artifacts.apps.ci.l2s4.p1.openshiftapps.com';

const scenario = parseScenario({
  releaseController: {
    streams: {
      [STREAM]: {
        tags: [
          { name: '4.21.0-0.nightly-2026-11-09-040404', phase: 'Accepted' },
          { name: '4.21.0-0.nightly-2026-11-22-020202', phase: 'Rejected' },
          { name: '4.21.0-0.nightly-2026-11-20-010101', phase: 'Accepted' },
          { name: NEWEST_ACCEPTED, phase: 'Accepted', pullSpec: CUSTOM_PULL_SPEC },
        ],
      },
      '4.22.0-0.nightly': { tags: [{ name: '4.22.0-0.nightly-2026-11-22-000000', phase: 'Pending' }] },
    },
  },
  deck: {
    prowJobs: [
      { id: 'pj-success', job: KATA, state: 'success', releaseImageLatest: CUSTOM_PULL_SPEC, startTime: '-3h' },
      { id: 'pj-pending', job: PEERPODS, state: 'pending', startTime: '-1h' },
      { id: 'pj-other-repo', job: 'periodic-ci-openshift-release-master-nightly-4.21-e2e-aws', state: 'failure', repo: 'release', startTime: '-2h' },
      { id: 'pj-presubmit', job: 'pull-ci-openshift-sandboxed-containers-operator-devel-unit', type: 'presubmit', state: 'success', startTime: '-30m' },
    ],
  },
  gangway: { token: TOKEN, periodicJobs: [KATA, PEERPODS] },
});

let sims: Simulators;

before(async () => {
  sims = await startSimulators(scenario);
});
after(async () => {
  await sims.close();
});
beforeEach(() => sims.reset());

const rc = (p: string) => fetch(`${sims.releaseControllerUrl}/api/v1/releasestream/${p}`);
const deck = (p: string) => fetch(`${sims.deckUrl}${p}`);
function gangway(p: string, init: { method?: string; body?: unknown; token?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (init.token !== null) headers.Authorization = `Bearer ${init.token ?? TOKEN}`;
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return fetch(`${sims.gangwayUrl}${p}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
}
const createBody = (job = KATA, extra: Record<string, unknown> = {}) => ({ job_name: job, job_execution_type: '1', ...extra });


async function items(query = ''): Promise<ProwJob[]> {
  const res = await deck(`/prowjobs.js${query}`);
  return ((await res.json()) as { items: ProwJob[] }).items;
}

describe('release controller', () => {
  test('latest answers the newest Accepted tag by semver, pretty-printed JSON', async () => {
    const res = await rc(`${STREAM}/latest`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const text = await res.text();
    assert.match(text, /^\{\n  "name": /);
    assert.deepEqual(JSON.parse(text), {
      name: NEWEST_ACCEPTED,
      phase: 'Accepted',
      pullSpec: CUSTOM_PULL_SPEC,
      downloadURL: `${ARTIFACTS}/${NEWEST_ACCEPTED}`,
    });
  });

  test('format= answers one field as text/plain', async () => {
    for (const [format, expected] of [
      ['pullSpec', CUSTOM_PULL_SPEC],
      ['name', NEWEST_ACCEPTED],
      ['downloadURL', `${ARTIFACTS}/${NEWEST_ACCEPTED}`],
    ]) {
      const res = await rc(`${STREAM}/latest?format=${format}`);
      assert.equal(res.headers.get('content-type'), 'text/plain');
      assert.equal(await res.text(), `${expected}\n`);
    }
    const bad = await rc(`${STREAM}/latest?format=yaml`);
    assert.equal(bad.status, 400);
  });

  test('404 texts for an unknown stream and for a stream without Accepted tags', async () => {
    const unknown = await rc('4.99.0-0.nightly/latest');
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal((await unknown.text()).trim(), 'no release configuration exists with the requested name');
    const none = await rc('4.22.0-0.nightly/latest');
    assert.equal(none.status, 404);
    assert.equal((await none.text()).trim(), 'no tags exist within the release that satisfy the request');
  });

  test('rel, prefix and in select among Accepted tags; bad values give 400', async () => {
    const name = async (q: string) => (await rc(`${STREAM}/latest?format=name&${q}`)).text();
    assert.equal(await name('rel=1'), '4.21.0-0.nightly-2026-11-20-010101\n');
    assert.equal(await name('rel=2'), '4.21.0-0.nightly-2026-11-09-040404\n');
    assert.equal((await rc(`${STREAM}/latest?rel=3`)).status, 404);
    assert.equal(await name('prefix=4.21.0-0.nightly-2026-11-0'), '4.21.0-0.nightly-2026-11-09-040404\n');
    assert.equal(await name(`in=${encodeURIComponent('<4.21.0-0.nightly-2026-11-21')}`), '4.21.0-0.nightly-2026-11-20-010101\n');
    for (const q of ['rel=-1', 'rel=abc', 'in=not-a-range']) {
      const res = await rc(`${STREAM}/latest?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    }
  });

  test('tags lists newest first, filters by phase, answers null when nothing matches', async () => {
    const all = (await (await rc(`${STREAM}/tags`)).json()) as { name: string; tags: Array<{ name: string; phase: string }> };
    assert.equal(all.name, STREAM);
    assert.deepEqual(
      all.tags.map((t) => t.name),
      ['4.21.0-0.nightly-2026-11-22-020202', NEWEST_ACCEPTED, '4.21.0-0.nightly-2026-11-20-010101', '4.21.0-0.nightly-2026-11-09-040404'],
    );
    const accepted = (await (await rc(`${STREAM}/tags?phase=Accepted`)).json()) as { tags: unknown[] };
    assert.equal(accepted.tags.length, 3);
    assert.deepEqual(await (await rc(`${STREAM}/tags?phase=Failed`)).json(), { name: STREAM, tags: null });
    assert.equal((await rc('nope/tags')).status, 404);
  });

  test('release info for a tag, 404 for an unknown one', async () => {
    const res = await rc(`${STREAM}/release/${NEWEST_ACCEPTED}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: NEWEST_ACCEPTED, phase: 'Accepted', results: {} });
    const missing = await rc(`${STREAM}/release/4.21.0-0.nightly-2026-01-01-000000`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /unable to find release tag/);
    const wrongStream = await rc(`4.22.0-0.nightly/release/${NEWEST_ACCEPTED}`);
    assert.equal(wrongStream.status, 404);
    assert.match(await wrongStream.text(), /does not belong to release 4\.22\.0-0\.nightly/);
  });

  test('releasestreams/accepted: every stream -> its Accepted tag names, null when none; faults apply', async () => {
    const accepted = () => fetch(`${sims.releaseControllerUrl}/api/v1/releasestreams/accepted`);
    const res = await accepted();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const body = (await res.json()) as Record<string, string[] | null>;
    assert.deepEqual(Object.keys(body).sort(), [STREAM, '4.22.0-0.nightly']);
    assert.deepEqual(body[STREAM], [NEWEST_ACCEPTED, '4.21.0-0.nightly-2026-11-20-010101', '4.21.0-0.nightly-2026-11-09-040404']);
    assert.equal(body['4.22.0-0.nightly'], null, 'a stream with no Accepted tag is null, as Go marshals a nil slice');
    sims.addTag('5.0.0-0.nightly', { name: '5.0.0-0.nightly-2026-11-24-000000', phase: 'Accepted' });
    assert.deepEqual(((await (await accepted()).json()) as Record<string, string[] | null>)['5.0.0-0.nightly'], ['5.0.0-0.nightly-2026-11-24-000000']);
    sims.addFault({ endpoint: 'rc.accepted', status: 502, times: 1 });
    assert.equal((await accepted()).status, 502);
    assert.equal((await accepted()).status, 200);
    assert.equal((await fetch(`${sims.releaseControllerUrl}/api/v1/releasestreams/accepted/x`)).status, 404);
    assert.equal(sims.counters()['rc.accepted'], 4);
  });

  test('addTag makes a new nightly the latest; unknown paths get Go\'s 404', async () => {
    sims.addTag(STREAM, { name: '4.21.0-0.nightly-2026-11-23-000000', phase: 'Accepted' });
    assert.equal(await (await rc(`${STREAM}/latest?format=pullSpec`)).text(), 'registry.ci.openshift.org/ocp/release:4.21.0-0.nightly-2026-11-23-000000\n');
    assert.throws(() => sims.addTag(STREAM, { name: 'not-semver', phase: 'Accepted' }), /not a semantic version/);
    const res = await fetch(`${sims.releaseControllerUrl}/api/v2/nothing`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), '404 page not found\n');
  });
});

describe('deck', () => {
  test('prowjobs.js answers full ProwJobs as JSON, newest first by startTime', async () => {
    const res = await deck('/prowjobs.js');
    assert.equal(res.headers.get('content-type'), 'application/json');
    const jobs = ((await res.json()) as { items: ProwJob[] }).items;
    assert.deepEqual(jobs.map((j) => j.metadata.name), ['pj-presubmit', 'pj-pending', 'pj-other-repo', 'pj-success']);
    const done = jobs.find((j) => j.metadata.name === 'pj-success')!;
    assert.equal(done.apiVersion, 'prow.k8s.io/v1');
    assert.equal(done.kind, 'ProwJob');
    assert.equal(done.spec.type, 'periodic');
    assert.equal(done.spec.job, KATA);
    assert.equal(done.metadata.labels!['prow.k8s.io/job'], KATA.slice(0, 63));
    assert.equal(done.metadata.annotations!['prow.k8s.io/job'], KATA);
    assert.deepEqual(done.spec.extra_refs![0]!.org + '/' + done.spec.extra_refs![0]!.repo, 'openshift/sandboxed-containers-operator');
    const env = done.spec.pod_spec!.containers[0]!.env!;
    assert.deepEqual(env.find((e) => e.name === 'RELEASE_IMAGE_LATEST'), { name: 'RELEASE_IMAGE_LATEST', value: CUSTOM_PULL_SPEC });
    assert.equal(done.status.state, 'success');
    assert.ok(done.status.startTime && done.status.completionTime && done.status.url && done.status.build_id);
  });

  test('var= answers JavaScript, not JSON', async () => {
    const res = await deck('/prowjobs.js?var=allBuilds');
    assert.equal(res.headers.get('content-type'), 'application/javascript');
    const text = await res.text();
    assert.ok(text.startsWith('var allBuilds = {"items":['));
    assert.ok(text.endsWith('};'));
    assert.throws(() => JSON.parse(text));
    assert.equal((JSON.parse(text.slice('var allBuilds = '.length, -1)) as { items: unknown[] }).items.length, 4);
  });

  test('gzip when the client accepts it, identity otherwise', async () => {
    const zipped = await rawGet(`${sims.deckUrl}/prowjobs.js`, { 'Accept-Encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal((JSON.parse(gunzipSync(zipped.body).toString()) as { items: unknown[] }).items.length, 4);
    const plain = await rawGet(`${sims.deckUrl}/prowjobs.js`, { 'Accept-Encoding': 'identity' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal((JSON.parse(plain.body.toString()) as { items: unknown[] }).items.length, 4);
  });

  test('omit= drops annotations, labels, decoration_config and the pod spec details', async () => {
    const [job] = await items('?omit=annotations,labels,decoration_config,pod_spec');
    assert.equal(job!.metadata.annotations, undefined);
    assert.equal(job!.metadata.labels, undefined);
    assert.equal(job!.spec.decoration_config, undefined);
    assert.deepEqual(job!.spec.pod_spec, { containers: [{ name: '', resources: {} }] });
    const [partial] = await items('?omit=labels');
    assert.ok(partial!.metadata.annotations && partial!.spec.pod_spec!.containers[0]!.env);
  });

  test('org/repo filter on refs, or on extra_refs for periodics', async () => {
    const osc = await items('?org=openshift&repo=sandboxed-containers-operator');
    assert.deepEqual(osc.map((j) => j.metadata.name), ['pj-presubmit', 'pj-pending', 'pj-success']);
    assert.ok(osc[0]!.spec.refs && !osc[0]!.spec.extra_refs);
    assert.deepEqual((await items('?repo=release')).map((j) => j.metadata.name), ['pj-other-repo']);
    assert.deepEqual(await items('?org=kubernetes'), []);
  });

  test('/prowjob answers YAML; 400 without the parameter, 404 for an unknown id', async () => {
    const res = await deck('/prowjob?prowjob=pj-success');
    assert.equal(res.status, 200);
    const pj = YAML.parse(await res.text()) as ProwJob;
    assert.equal(pj.metadata.name, 'pj-success');
    assert.equal(pj.spec.job, KATA);
    assert.equal((await deck('/prowjob')).status, 400);
    const missing = await deck('/prowjob?prowjob=nope');
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /ProwJob not found/);
  });

  test('setProwJobState moves a job on, with the status fields that come with it', async () => {
    sims.setProwJobState('pj-pending', 'success');
    const pj = sims.prowJobs().find((j) => j.metadata.name === 'pj-pending')!;
    assert.equal(pj.status.state, 'success');
    assert.ok(pj.status.completionTime);
    assert.throws(() => sims.setProwJobState('nope', 'success'), /no ProwJob nope/);
  });
});

describe('gangway', () => {
  test('401 without a token, 403 with a wrong one, in plain text', async () => {
    const missing = await gangway('/v1/executions', { body: createBody(), token: null });
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type') ?? '', /^text\/plain/);
    const wrong = await gangway('/v1/executions', { body: createBody(), token: 'nope' });
    assert.equal(wrong.status, 403);
    assert.deepEqual(sims.requests('gangway').map((r) => r.authorized), [false, false]);
    assert.equal(sims.counters()['gangway.created'], 0);
  });

  test('create in both forms; job_name in body and path must agree', async () => {
    const viaBody = await gangway('/v1/executions', { body: createBody() });
    assert.equal(viaBody.status, 200);
    const execution = (await viaBody.json()) as Record<string, string>;
    assert.match(execution.id!, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ ...execution, id: '', create_time: '' }, {
      id: '', job_name: KATA, job_type: 'PERIODIC', job_status: 'TRIGGERED', gcs_path: '', create_time: '',
    });
    const viaPath = await gangway(`/v1/executions/${PEERPODS}`, { body: { job_execution_type: 1 } });
    assert.equal(viaPath.status, 200);
    assert.equal(((await viaPath.json()) as { job_name: string }).job_name, PEERPODS);
    const clash = await gangway(`/v1/executions/${PEERPODS}`, { body: createBody(KATA) });
    assert.equal(clash.status, 400);
    assert.equal(sims.counters()['gangway.created'], 2);
    assert.deepEqual(sims.requests('gangway').map((r) => r.authorized), [true, true, true]);
  });

  test('job_execution_type: 1, "1", "PERIODIC", "JOB_EXECUTION_TYPE_PERIODIC"; anything else is 400', async () => {
    for (const type of [1, '1', 'PERIODIC', 'JOB_EXECUTION_TYPE_PERIODIC']) {
      assert.equal((await gangway('/v1/executions', { body: createBody(KATA, { job_execution_type: type }) })).status, 200, String(type));
    }
    for (const type of [0, '2', 'PRESUBMIT', 'FOO', true, undefined]) {
      assert.equal((await gangway('/v1/executions', { body: createBody(KATA, { job_execution_type: type }) })).status, 400, String(type));
    }
  });

  test('bad requests: refs on a periodic, bad labels, empty values, malformed JSON, unknown fields', async () => {
    const bad = [
      createBody(KATA, { refs: { org: 'openshift', repo: 'x', base_ref: 'main', base_sha: 'abc' } }),
      createBody(KATA, { pod_spec_options: { labels: { watcher: 'x'.repeat(64) } } }),
      createBody(KATA, { pod_spec_options: { labels: { watcher: 'registry.ci.openshift.org/ocp/release:4.21' } } }),
      createBody(KATA, { pod_spec_options: { envs: { RELEASE_IMAGE_LATEST: '' } } }),
      createBody(KATA, { pod_spec_options: { annotations: { '': 'x' } } }),
      createBody(KATA, { envs: { A: 'b' } }),
      { job_execution_type: '1' },
      '{"job_name": ',
    ];
    for (const body of bad) {
      const res = await gangway('/v1/executions', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { code: number }).code, 3);
    }
    assert.equal(sims.counters()['gangway.created'], 0);
  });

  test('unknown job: HTTP 500 "failed to find associated periodic job"', async () => {
    const res = await gangway('/v1/executions', { body: createBody('periodic-ci-nope') });
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { code: 2, message: 'failed to find associated periodic job "periodic-ci-nope"', details: [] });
  });

  test('a created execution is a ProwJob in Deck, and GET/list report its state', async () => {
    const options = { envs: { RELEASE_IMAGE_LATEST: CUSTOM_PULL_SPEC }, labels: { 'osc-build-watcher/payload': NEWEST_ACCEPTED }, annotations: { note: 'simulated' } };
    const { id } = (await (await gangway('/v1/executions', { body: createBody(KATA, { pod_spec_options: options }) })).json()) as { id: string };

    const [listed] = await items('?org=openshift&repo=sandboxed-containers-operator');
    assert.equal(listed!.metadata.name, id);
    assert.equal(listed!.spec.job, KATA);
    assert.equal(listed!.spec.type, 'periodic');
    assert.equal(listed!.status.state, 'triggered');
    assert.equal(listed!.metadata.labels!['osc-build-watcher/payload'], NEWEST_ACCEPTED);
    assert.equal(listed!.metadata.labels!['prow.k8s.io/type'], 'periodic');
    assert.equal(listed!.metadata.annotations!.note, 'simulated');
    assert.deepEqual(listed!.spec.extra_refs![0]!.repo, 'sandboxed-containers-operator');
    for (const c of listed!.spec.pod_spec!.containers) assert.equal(c.env!.at(-1)!.value, CUSTOM_PULL_SPEC);

    const get = async () => (await (await gangway(`/v1/executions/${id}`)).json()) as { id: string; job_status: string; job_name: string };
    assert.deepEqual([(await get()).id, (await get()).job_status, (await get()).job_name], [id, 'TRIGGERED', KATA]);
    sims.setProwJobState(id, 'pending');
    assert.equal((await get()).job_status, 'PENDING');
    sims.setProwJobState(id, 'success');
    assert.equal((await get()).job_status, 'SUCCESS');
    assert.equal((await gangway('/v1/executions/nope')).status, 404);

    const list = (await (await gangway(`/v1/executions?job_name=${KATA}&status=SUCCESS`)).json()) as { job_execution: Array<{ id: string }> };
    assert.deepEqual(list.job_execution.map((e) => e.id), [id, 'pj-success']);
    assert.equal((await gangway('/v1/executions?status=BOGUS')).status, 400);
  });
});

describe('faults', () => {
  test('status fault with headers, limited by times', async () => {
    sims.addFault({ endpoint: 'rc.latest', status: 429, headers: { 'Retry-After': '7' }, body: 'slow down', times: 1 });
    const limited = await rc(`${STREAM}/latest`);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.equal(await limited.text(), 'slow down');
    assert.equal((await rc(`${STREAM}/latest`)).status, 200);
    assert.deepEqual(sims.requests('release-controller').map((r) => r.status), [429, 200]);
  });

  test('malformed-json, html-200 and empty-body answer 200 with unusable bodies', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'malformed-json', times: 1 });
    await assert.rejects((await deck('/prowjobs.js')).json());
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'html-200', times: 1 });
    const html = await deck('/prowjobs.js');
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await html.text(), /<html/);
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'empty-body', times: 1 });
    const empty = await deck('/prowjobs.js');
    assert.equal(empty.status, 200);
    assert.equal(await empty.text(), '');
  });

  test('truncated-gzip breaks decoding; reset destroys the connection and logs status 0', async () => {
    sims.addFault({ endpoint: 'deck.prowjobs', kind: 'truncated-gzip', times: 2 });
    const raw = await rawGet(`${sims.deckUrl}/prowjobs.js`);
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.throws(() => gunzipSync(raw.body), /unexpected end of file/);
    // fetch (like axios) inflates leniently: the client gets a cut-off body rather than an error.
    const res = await deck('/prowjobs.js');
    const text = await res.text().catch(() => '');
    assert.throws(() => JSON.parse(text));
    sims.addFault({ endpoint: 'rc.latest', kind: 'reset', times: 1 });
    await assert.rejects(rc(`${STREAM}/latest`));
    assert.equal(sims.requests('release-controller').at(-1)!.status, 0);
    assert.equal((await rc(`${STREAM}/latest`)).status, 200);
  });

  test('latencyMs delays the real answer; match restricts the fault to some requests', async () => {
    sims.addFault({ endpoint: 'rc.latest', latencyMs: 120, match: '4.22', times: 1 });
    const fastStart = Date.now();
    assert.equal((await rc(`${STREAM}/latest`)).status, 200);
    assert.ok(Date.now() - fastStart < 100);
    const slowStart = Date.now();
    assert.equal((await rc('4.22.0-0.nightly/latest')).status, 404);
    assert.ok(Date.now() - slowStart >= 110);
  });

  test('afterEffect: the create happens, then the client sees a 502', async () => {
    sims.addFault({ endpoint: 'gangway.create', status: 502, afterEffect: true, times: 1 });
    assert.equal((await gangway('/v1/executions', { body: createBody() })).status, 502);
    assert.equal(sims.counters()['gangway.created'], 1);
    assert.equal(sims.prowJobs().filter((j) => j.status.state === 'triggered').length, 1);
    sims.addFault({ endpoint: 'gangway.create', status: 503, times: 1 });
    assert.equal((await gangway('/v1/executions', { body: createBody() })).status, 503);
    assert.equal(sims.counters()['gangway.created'], 1);
  });

  test('"*" applies to every server; clearFaults removes all; invalid faults are refused', async () => {
    sims.addFault({ endpoint: '*', status: 503 });
    assert.equal((await rc(`${STREAM}/latest`)).status, 503);
    assert.equal((await deck('/prowjobs.js')).status, 503);
    assert.equal((await gangway('/v1/executions/x')).status, 503);
    sims.clearFaults();
    assert.equal((await deck('/prowjobs.js')).status, 200);
    assert.throws(() => sims.addFault({ endpoint: 'rc.nope' } as never), { message: /^fault: endpoint: invalid enum value/ });
  });
});

describe('log, counters and /__sim control', () => {
  test('counters count per endpoint; the log records bodies; control requests are neither', async () => {
    await rc(`${STREAM}/latest`);
    await rc(`${STREAM}/tags`);
    await deck('/prowjobs.js');
    await deck('/prowjob?prowjob=pj-success');
    await gangway('/v1/executions', { body: createBody() });
    await fetch(`${sims.deckUrl}/__sim/counters`);
    await fetch(`${sims.gangwayUrl}/__sim/requests`);
    assert.deepEqual(sims.counters(), {
      'rc.latest': 1, 'rc.tags': 1, 'rc.release': 0, 'rc.accepted': 0,
      'deck.prowjobs': 1, 'deck.prowjob': 1,
      'gangway.create': 1, 'gangway.get': 0, 'gangway.list': 0, 'gangway.created': 1,
    });
    const log = sims.requests();
    assert.deepEqual(log.map((r) => r.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual(log[3]!.query, { prowjob: 'pj-success' });
    assert.deepEqual(log[4]!.body, createBody());
    assert.equal(sims.requests('deck').length, 2);
  });

  test('/__sim endpoints read the log and counters, arm and clear faults, reset', async () => {
    await rc(`${STREAM}/latest`);
    const control = (base: string, p: string, method = 'GET', body?: unknown) =>
      fetch(`${base}/__sim/${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const log = (await (await control(sims.releaseControllerUrl, 'requests')).json()) as Array<{ path: string }>;
    assert.deepEqual(log.map((r) => r.path), [`/api/v1/releasestream/${STREAM}/latest`]);
    assert.deepEqual(await (await control(sims.releaseControllerUrl, 'counters')).json(), { 'rc.latest': 1, 'rc.tags': 0, 'rc.release': 0, 'rc.accepted': 0 });

    assert.equal((await control(sims.deckUrl, 'faults', 'POST', { endpoint: 'deck.prowjobs', status: 500 })).status, 201);
    assert.equal((await deck('/prowjobs.js')).status, 500);
    const wrongServer = await control(sims.deckUrl, 'faults', 'POST', { endpoint: 'rc.latest', status: 500 });
    assert.equal(wrongServer.status, 400);
    const invalid = await control(sims.deckUrl, 'faults', 'POST', { endpoint: 'deck.prowjobs', colour: 'red' });
    assert.equal(invalid.status, 400);
    assert.equal(await invalid.text(), 'fault: colour: unknown key\n');
    assert.equal((await control(sims.deckUrl, 'faults', 'DELETE')).status, 200);
    assert.equal((await deck('/prowjobs.js')).status, 200);

    assert.equal((await control(sims.releaseControllerUrl, 'tags', 'POST', { stream: STREAM, name: '4.21.0-0.nightly-2026-11-24-000000', phase: 'Accepted' })).status, 200);
    assert.equal((await control(sims.deckUrl, 'prowjobs/pj-pending/state', 'POST', { state: 'failure' })).status, 200);
    await gangway('/v1/executions', { body: createBody() });
    assert.equal(sims.prowJobs().length, 5);

    assert.equal((await control(sims.gangwayUrl, 'reset', 'POST')).status, 200);
    assert.deepEqual(sims.requests(), []);
    assert.equal(sims.counters()['gangway.created'], 0);
    assert.equal(sims.prowJobs().length, 4);
    assert.equal(sims.prowJobs().find((j) => j.metadata.name === 'pj-pending')!.status.state, 'pending');
    assert.equal(await (await rc(`${STREAM}/latest?format=name`)).text(), `${NEWEST_ACCEPTED}\n`);
  });
});

describe('scenarios', () => {
  const projectRoot = path.resolve(__dirname, '../..');
  const demoPath = path.resolve(__dirname, '../../scenarios/demo.yaml');

  test('scenarios/demo.yaml loads and serves what its comments promise', async () => {
    const demo = await startSimulators(loadScenario(demoPath));
    try {
      const latest = async (v: string) => fetch(`${demo.releaseControllerUrl}/api/v1/releasestream/${v}.0-0.nightly/latest?format=name`);
      assert.equal(await (await latest('4.20')).text(), '4.20.0-0.nightly-2026-11-23-173045\n');
      assert.equal(await (await latest('4.21')).text(), '4.21.0-0.nightly-2026-11-24-040107\n');
      assert.equal(await (await latest('4.17')).text(), '4.17.0-0.nightly-2026-11-21-102030\n');
      const none = await latest('4.22');
      assert.equal(none.status, 404);
      assert.match(await none.text(), /no tags exist/);
      const osc = (await (await fetch(`${demo.deckUrl}/prowjobs.js?org=openshift&repo=sandboxed-containers-operator`)).json()) as { items: ProwJob[] };
      assert.equal(osc.items.length, demo.prowJobs().length - 2);
      const created = await fetch(`${demo.gangwayUrl}/v1/executions`, {
        method: 'POST',
        headers: { Authorization: 'Bearer demo-token-not-secret' },
        body: JSON.stringify({ job_name: `${PREFIX}-aws-ipi-coco`, job_execution_type: '1' }),
      });
      assert.equal(created.status, 200);
    } finally {
      await demo.close();
    }
  });

  test('a bad scenario gives a one-line error naming the key path', () => {
    const bad = { releaseController: { streams: { [STREAM]: { tags: [{ name: NEWEST_ACCEPTED, phase: 'Acepted' }] } } } };
    assert.throws(() => parseScenario(bad), (err: Error) => {
      assert.match(err.message, /^scenario: releaseController\.streams\.4\.21\.0-0\.nightly\.tags\.0\.phase: invalid enum value/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.throws(() => parseScenario({ deck: { prowJobs: [{ job: KATA, state: 'success', colour: 1 }] } }), { message: /^scenario: deck\.prowJobs\.0\.colour: unknown key$/ });
    assert.throws(() => parseScenario({ deck: { prowJobs: [{ job: KATA, state: 'success', startTime: 'yesterday' }] } }), /deck\.prowJobs\.0\.startTime: expected an ISO time/);
    assert.throws(() => parseScenario({ gangway: { periodicJobs: [] }, faults: [{ endpoint: 'rc.latest', kind: 'explode' }] }), /faults\.0\.kind: invalid enum value/);
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-scenario-'));
    writeFileSync(path.join(dir, 'broken.yaml'), 'deck: [unclosed\n');
    assert.throws(() => loadScenario(path.join(dir, 'broken.yaml')), { message: /^scenario: .*broken\.yaml: invalid YAML: [^\n]+$/ });
    assert.throws(() => loadScenario(path.join(dir, 'missing.yaml')), /cannot read .*missing\.yaml: ENOENT/);
  });

  test('scenario faults are armed at start and re-armed by reset', async () => {
    const withFault = await startSimulators(parseScenario({ faults: [{ endpoint: 'deck.prowjobs', status: 503, times: 1 }] }));
    try {
      assert.equal((await fetch(`${withFault.deckUrl}/prowjobs.js`)).status, 503);
      assert.equal((await fetch(`${withFault.deckUrl}/prowjobs.js`)).status, 200);
      withFault.reset();
      assert.equal((await fetch(`${withFault.deckUrl}/prowjobs.js`)).status, 503);
    } finally {
      await withFault.close();
    }
  });

  test('the command prints three base URLs, stops on SIGTERM, and exits 2 on bad input', async () => {
    const script = path.join(projectRoot, 'dist/scripts/simulators.js');
    const child = spawn(process.execPath, [script, '--scenario', demoPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.split('\n').length > 3) resolve();
      });
      child.on('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    assert.match(out, /^release-controller http:\/\/127\.0\.0\.1:\d+\ndeck http:\/\/127\.0\.0\.1:\d+\ngangway http:\/\/127\.0\.0\.1:\d+\n$/);
    const rcUrl = out.split('\n')[0]!.split(' ')[1]!;
    assert.equal((await fetch(`${rcUrl}/api/v1/releasestream/4.21.0-0.nightly/latest`)).status, 200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);

    for (const args of [['--scenario', demoPath, '--rc-port', 'abc'], ['--nope'], ['--scenario', path.join(projectRoot, 'package.json')]]) {
      const bad = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      bad.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => bad.on('exit', (c) => resolve(c)));
      assert.equal(code, 2, args.join(' '));
      assert.match(err, /^simulators: .+\n$/, args.join(' '));
    }
  });
});

// Every real fixture in test/fixtures/real/ parses, and our own parsers read it the way
// the watcher needs. The folder is walked, so a fixture added later is at least parsed.
//
// Where a fixture disagrees with (or goes beyond) docs/contracts.md, a "Contract note" says so.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { parseLatestTag } from '../src/clients/releaseController';
import { toDeckRun } from '../src/clients/deck';
import { JsVarUnwrapper, streamProwJobs } from '../src/clients/deckBody';
import { labelKeys } from '../src/domain/labels';
import { judgeFromDeck, runTestsPayload } from '../src/domain/decide';
import type { JobSpec } from '../src/domain/types';
import {
  DEFAULT_CRON,
  DEFAULT_JOB_PREFIX,
  DEFAULT_JOB_SUFFIXES,
  DEFAULT_PAYLOAD_ENV,
  DEFAULT_SECRETS_DIR,
  DEFAULT_STREAM_TEMPLATE,
  DEFAULT_VERSIONS,
  TOKEN_FILE_NAME,
} from '../src/config/defaults';
import { isSemver } from '../src/simulators/semver';
import { JOB_NAMES } from './helpers/config';
import { filesUnder } from './helpers/files';

// In the repository, so a clean clone has them. Compiled tests run from dist/test/.
const FIXTURES_DIR = path.resolve(__dirname, '../../test/fixtures/real');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Fixture {
  /** Path relative to FIXTURES_DIR, with forward slashes. */
  rel: string;
  text: string;
  /** One entry per YAML document; a JSON file is one document. */
  docs: unknown[];
}

function parseFixture(file: string): Fixture {
  const rel = path.relative(FIXTURES_DIR, file).split(path.sep).join('/');
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) return { rel, text, docs: [JSON.parse(text)] };
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${rel}: YAML errors`);
  }
  return { rel, text, docs: list.map((d) => d.toJS()) };
}

const dataFiles = filesUnder(FIXTURES_DIR).filter((f) => /\.(json|ya?ml)$/.test(f));
// Parsed once here (a broken file fails the "parses" test below with its name, not the load).
const parsed = new Map<string, Fixture>();
const parseErrors = new Map<string, unknown>();
for (const file of dataFiles) {
  try {
    const fx = parseFixture(file);
    parsed.set(fx.rel, fx);
  } catch (err) {
    parseErrors.set(path.relative(FIXTURES_DIR, file), err);
  }
}

function fixture(rel: string): Fixture {
  const fx = parsed.get(rel);
  assert.ok(fx, `fixture ${rel} is missing from ${FIXTURES_DIR} (renamed? its checks would silently stop running)`);
  return fx;
}
const only = (rel: string): unknown => {
  const fx = fixture(rel);
  assert.equal(fx.docs.length, 1, `${rel}: one document`);
  return fx.docs[0];
};

/** ProwJobs held by a document: a ProwJob, a YAML list of them, or a `{items: [...]}` list. */
function prowJobsIn(doc: unknown): Obj[] {
  const looksLikeProwJob = (v: unknown): v is Obj =>
    isObj(v) && (v.kind === 'ProwJob' || (isObj(v.metadata) && (isObj(v.spec) || isObj(v.status))));
  if (isObj(doc) && doc.kind === 'ProwJob') return [doc];
  if (Array.isArray(doc) && doc.length > 0 && doc.every(looksLikeProwJob)) return doc;
  if (isObj(doc) && Array.isArray(doc.items) && doc.items.length > 0 && doc.items.every(looksLikeProwJob)) {
    return doc.items as Obj[];
  }
  return [];
}

/** Every ProwJob in every fixture, whichever folder it is in. */
function allProwJobs(): Array<{ rel: string; pj: Obj }> {
  return [...parsed.values()].flatMap((fx) => fx.docs.flatMap((d) => prowJobsIn(d).map((pj) => ({ rel: fx.rel, pj }))));
}

const LABEL_PREFIX = 'osc-build-watcher';
const KEYS = labelKeys(LABEL_PREFIX);
const jobSpec = (name: string, payloadEnv: string | null = DEFAULT_PAYLOAD_ENV): JobSpec => ({
  name,
  shortName: name.split('-').slice(-3).join('-'),
  payloadEnv,
});

function chunked(text: string, size: number): Readable {
  const buf = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return Readable.from(chunks);
}

describe('every real fixture in test/fixtures/real/ parses', () => {
  test('the folder holds at least 12 JSON/YAML fixtures, and every one parses', (t) => {
    t.diagnostic(`fixtures folder: ${FIXTURES_DIR}`);
    assert.ok(dataFiles.length >= 12, `expected ≥ 12 fixtures in ${FIXTURES_DIR}, found ${dataFiles.length}`);
    assert.deepEqual(
      [...parseErrors].map(([rel, err]) => `${rel}: ${(err as Error).message.split('\n')[0]}`),
      [],
      'fixtures that do not parse',
    );
    assert.equal(parsed.size, dataFiles.length);
    for (const fx of parsed.values()) {
      assert.ok(fx.docs.length >= 1, `${fx.rel}: no document`);
      for (const doc of fx.docs) assert.ok(doc !== null && doc !== undefined, `${fx.rel}: empty document`);
    }
  });

  test('SOURCES.md names every data file it sits beside', () => {
    const sources = readFileSync(path.join(FIXTURES_DIR, 'SOURCES.md'), 'utf8');
    const undocumented = [...parsed.keys()].filter((rel) => !sources.includes(rel));
    assert.deepEqual(undocumented, [], 'fixtures without a row in SOURCES.md');
  });
});

describe('release controller /latest samples through parseLatestTag', () => {
  // Contract note: contracts.md §1 says /latest answers pretty-printed JSON. These samples are
  // compact one-liners (`{"name": "4.11.15","phase": ...}`): they were extracted from Go string
  // literals in ci-tools tests, not captured from the wire. The parser must take both forms.
  const samples = () => [...parsed.values()].filter((fx) => /(^|\/)api-latest-[^/]*\.json$/.test(fx.rel));

  test('both samples are present, and each gives name/pullSpec/phase', () => {
    const found = samples();
    assert.ok(found.length >= 2, `expected ≥ 2 api-latest samples, found ${found.map((f) => f.rel).join(', ')}`);
    for (const fx of found) {
      const raw = fx.docs[0] as Obj;
      assert.ok(!fx.text.trimEnd().includes('\n'), `${fx.rel}: expected the compact one-line form`);
      const tag = parseLatestTag(fx.text, fx.rel);
      assert.deepEqual(tag, { name: raw.name, pullSpec: raw.pullSpec, phase: 'Accepted' });
      // The same tag pretty-printed, as contracts.md says the controller sends it.
      assert.deepEqual(parseLatestTag(`${JSON.stringify(raw, null, 2)}\n`, fx.rel), tag);
      assert.equal(typeof raw.downloadURL, 'string');
    }
  });

  test('4.11.15: a quay.io release image, exactly as sent', () => {
    const fx = fixture('release-controller/api-latest-sample-4.11.15.json');
    assert.deepEqual(parseLatestTag(fx.text), {
      name: '4.11.15',
      phase: 'Accepted',
      pullSpec: 'quay.io/openshift-release-dev/ocp-release:4.11.15-x86_64',
    });
  });

  test('4.3.0-0.ci: the old 2020 registry host is still an acceptable (opaque) pullSpec', () => {
    // Contract note: contracts.md §1 calls registry.ci.openshift.org/ocp/release:<tag> "typical";
    // this sample uses registry.svc.ci.openshift.org, so nothing may assume the host.
    const fx = fixture('release-controller/api-latest-sample-4.3.0-0.ci.json');
    const tag = parseLatestTag(fx.text);
    assert.equal(tag.name, '4.3.0-0.ci-2020-05-22-121811');
    assert.equal(tag.pullSpec, 'registry.svc.ci.openshift.org/ocp/release:4.3.0-0.ci-2020-05-22-121811');
  });
});

describe('ProwJob fixtures through toDeckRun', () => {
  test('every ProwJob in every fixture is read without throwing', () => {
    const jobs = allProwJobs();
    // 1 (prow) + 1 (ci-tools override) + 1 (ci-tools aborted list), at least.
    assert.ok(jobs.length >= 3, `expected ≥ 3 ProwJobs, found ${jobs.length}`);
    for (const { rel, pj } of jobs) {
      const job = isObj(pj.spec) && typeof pj.spec.job === 'string' ? pj.spec.job : undefined;
      const wanted = new Map(job ? [[job, jobSpec(job)]] : []);
      const run = toDeckRun(pj, wanted, KEYS);
      if (!job) {
        assert.equal(run, undefined, `${rel}: a ProwJob without spec.job is skipped`);
        continue;
      }
      assert.ok(run, `${rel}: ${job} is wanted, so it must be kept`);
      assert.equal(run.job, job);
      assert.equal(run.id, (pj.metadata as Obj).name);
      // A wanted map without the job filters it out.
      assert.equal(toDeckRun(pj, new Map([['some-other-job', jobSpec('some-other-job')]]), KEYS), undefined);
    }
  });

  test('ci-tools override: triggered, RELEASE_IMAGE_LATEST found in the ci-operator container env', () => {
    const [doc] = fixture('ci-tools/prowjobs-periodic-release-image-override.yaml').docs;
    const [pj] = prowJobsIn(doc);
    assert.ok(pj);
    const job = 'test-org-test-repo-100-test-name';
    const run = toDeckRun(pj, new Map([[job, jobSpec(job)]]), KEYS);
    assert.deepEqual(run, {
      id: 'some-uuid',
      job,
      state: 'triggered',
      // Contract note: a real ProwJob can carry a zero-ish startTime ("1970-01-01T00:00:00Z").
      startTime: '1970-01-01T00:00:00Z',
      url: 'https://prow.ci.openshift.org/view/gs/test-platform-results/test-org-test-repo-100-test-name',
      payloadEnvValue: 'quay.io/openshift-release-dev/ocp-release:4.16.0-ec.1-x86_64',
    });
    // The env is looked up by name, not position: RELEASE_IMAGE_INITIAL sits before it.
    const initial = toDeckRun(pj, new Map([[job, jobSpec(job, 'RELEASE_IMAGE_INITIAL')]]), KEYS);
    assert.equal(initial?.payloadEnvValue, 'quay.io/openshift-release-dev/ocp-release:4.15.12-x86_64');
    // No payload env configured: nothing extracted.
    assert.equal(toDeckRun(pj, new Map([[job, jobSpec(job, null)]]), KEYS)?.payloadEnvValue, undefined);

    // And the decision reads it: a triggered run of this exact payload means "skip".
    const release = { name: '4.16.0-ec.1', phase: 'Accepted', pullSpec: 'quay.io/openshift-release-dev/ocp-release:4.16.0-ec.1-x86_64' };
    assert.ok(run && runTestsPayload(run, release));
    const verdict = judgeFromDeck(jobSpec(job), release, [run], 'exact-payload', Date.now(), 24);
    assert.equal(verdict.skip, true);
    assert.match(verdict.reason, /some-uuid is triggered with this payload/);
    // A different payload of the same job is not covered by it.
    const other = { ...release, name: '4.16.0-ec.2', pullSpec: 'quay.io/openshift-release-dev/ocp-release:4.16.0-ec.2-x86_64' };
    assert.equal(judgeFromDeck(jobSpec(job), other, [run], 'exact-payload', Date.now(), 24).skip, false);
  });

  test('prow valid periodic: no status block at all gives state "unknown", no payload', () => {
    // Contract note: contracts.md §2 lists status.state among the fields; this real (test) ProwJob
    // has no `status` at all, and its only env is GOPROXY.
    const pj = only('prow/prowjob-valid-periodic.yaml') as Obj;
    const job = 'ci-k8s-infra-build-cluster-prow-build';
    assert.equal((pj.spec as Obj).job, job);
    const run = toDeckRun(pj, new Map([[job, jobSpec(job)]]), KEYS);
    assert.deepEqual(run, { id: 'test-job2', job, state: 'unknown' });
  });

  test('ci-tools aborted list: startTime null, no spec.job, no kind: skipped without throwing', () => {
    // Contract note: a ProwJobList item here has no apiVersion/kind, creationTimestamp and
    // startTime are null, and spec has no job. Deck sorts by startTime, so null must be tolerated.
    const doc = only('ci-tools/prowjob-list-aborted-with-completiontime.yaml') as Obj;
    const items = prowJobsIn(doc);
    assert.equal(items.length, 1);
    const item = items[0]!;
    assert.equal((item.status as Obj).startTime, null);
    assert.equal((item.status as Obj).state, 'aborted');
    assert.equal((item.spec as Obj).job, undefined);
    const wanted = new Map(JOB_NAMES.map((n) => [n, jobSpec(n)]));
    assert.equal(toDeckRun(item, wanted, KEYS), undefined);
    // Odd shapes around it do not throw either.
    for (const odd of [null, 'x', [], {}, { metadata: {}, spec: {} }, { metadata: { name: 'a' }, spec: { job: JOB_NAMES[0] }, status: null }]) {
      assert.doesNotThrow(() => toDeckRun(odd, wanted, KEYS));
    }
  });
});

describe('the fixture ProwJobs as a Deck /prowjobs.js body (synthetic wrapper, real items)', () => {
  // No real captured prowjobs.js body exists (SOURCES.md): the wrapper is built here, around the
  // real ProwJob objects.
  const items = () => allProwJobs().map(({ pj }) => pj);

  async function stream(body: string, chunkSize: number): Promise<unknown[]> {
    const got: unknown[] = [];
    const counted = await streamProwJobs(chunked(body, chunkSize), (item) => got.push(item), 5000);
    assert.equal(counted.items, got.length);
    assert.equal(counted.bytes, Buffer.byteLength(body));
    return got;
  }

  test('{"items":[...]} and `var allBuilds = {...};` give the same items, whatever the chunking', async () => {
    const list = items();
    const json = JSON.stringify({ items: list });
    const js = `var allBuilds = ${json};`;
    for (const size of [1, 7, 64, 1 << 16]) {
      const fromJson = await stream(json, size);
      const fromJs = await stream(js, size);
      assert.deepEqual(fromJson, list, `JSON form, ${size}-byte chunks`);
      assert.deepEqual(fromJs, list, `var= form, ${size}-byte chunks`);
    }
    // Deck's own spacing (`var allBuilds = {...};` plus a newline) and Deck's pretty JSON.
    assert.deepEqual(await stream(`var allBuilds = ${JSON.stringify({ items: list }, null, 2)};\n`, 13), list);
  });

  test('JsVarUnwrapper turns the var= form into the exact JSON text', async () => {
    const json = JSON.stringify({ items: items() });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const unwrap = new JsVarUnwrapper();
      unwrap.on('data', (c: Buffer | string) => (out += c.toString()));
      unwrap.on('end', resolve);
      unwrap.on('error', reject);
      chunked(`var allBuilds = ${json};`, 5).pipe(unwrap);
    });
    assert.equal(out.trim(), json);
  });

  test('streamed items reduce to the same runs as the parsed YAML', async () => {
    const list = items();
    const wanted = new Map(
      list.flatMap((pj) => (isObj(pj.spec) && typeof pj.spec.job === 'string' ? [[pj.spec.job, jobSpec(pj.spec.job)] as const] : [])),
    );
    const direct = list.map((pj) => toDeckRun(pj, wanted, KEYS)).filter(Boolean);
    const streamed = (await stream(`var allBuilds = ${JSON.stringify({ items: list })};`, 11))
      .map((pj) => toDeckRun(pj, wanted, KEYS))
      .filter(Boolean);
    assert.deepEqual(streamed, direct);
    assert.ok(direct.some((r) => r?.payloadEnvValue === 'quay.io/openshift-release-dev/ocp-release:4.16.0-ec.1-x86_64'));
  });
});

describe('openshift/release config fixtures match our defaults', () => {
  const expectedJobs = DEFAULT_JOB_SUFFIXES.map((s) => `${DEFAULT_JOB_PREFIX}-${s}`);

  test('the defaults name the five jobs the test helpers use', () => {
    assert.deepEqual(DEFAULT_JOB_SUFFIXES, ['azure-ipi-kata', 'azure-ipi-peerpods', 'azure-ipi-coco', 'aws-ipi-peerpods', 'aws-ipi-coco']);
    assert.deepEqual(expectedJobs, JOB_NAMES);
  });

  test('downstream-release config: the five tests exist, only fire when triggered, and their names give DEFAULT_JOB_PREFIX', () => {
    const cfg = only('openshift-release/openshift-sandboxed-containers-operator-devel__downstream-release.yaml') as Obj;
    const meta = cfg.zz_generated_metadata as Obj;
    const tests = cfg.tests as Obj[];
    const byName = new Map(tests.map((t) => [t.as as string, t]));
    for (const suffix of DEFAULT_JOB_SUFFIXES) {
      const t = byName.get(suffix);
      assert.ok(t, `test ${suffix} in the downstream-release config`);
      // contracts.md §4: a cron that never fires; the jobs run only when triggered.
      assert.equal(t.cron, '0 0 31 2 1');
    }
    // ci-operator's periodic name: periodic-ci-<org>-<repo>-<branch>-<variant>-<test>.
    const names = DEFAULT_JOB_SUFFIXES.map((s) => `periodic-ci-${meta.org}-${meta.repo}-${meta.branch}-${meta.variant}-${s}`);
    assert.deepEqual(names, expectedJobs);
    // Without RELEASE_IMAGE_LATEST these jobs test what `releases.latest` pins, not a nightly
    // (contracts.md §3): that is why DEFAULT_PAYLOAD_ENV is that variable.
    const latest = ((cfg.releases as Obj).latest as Obj).release as Obj;
    assert.equal(typeof latest.version, 'string');
    assert.equal(DEFAULT_PAYLOAD_ENV, 'RELEASE_IMAGE_LATEST');
    // Contract note: the fixture has 7 tests; the two aro-* tests are not among those triggered.
    assert.ok(tests.length >= DEFAULT_JOB_SUFFIXES.length);
  });

  test('build-watcher config: the cron is DEFAULT_CRON and the repo is OSC devel', () => {
    const cfg = only('openshift-release/openshift-sandboxed-containers-operator-devel__build-watcher.yaml') as Obj;
    const tests = cfg.tests as Obj[];
    const watcher = tests.find((t) => JSON.stringify(t.steps).includes('sandboxed-containers-operator-build-watcher'));
    assert.ok(watcher, 'the test that runs the build-watcher step');
    assert.equal(watcher.cron, '0 0 * * *');
    assert.equal(watcher.cron, DEFAULT_CRON);
    const meta = cfg.zz_generated_metadata as Obj;
    assert.deepEqual([meta.org, meta.repo, meta.branch], ['openshift', 'sandboxed-containers-operator', 'devel']);
    assert.ok(DEFAULT_JOB_PREFIX.startsWith(`periodic-ci-${meta.org}-${meta.repo}-${meta.branch}-`));
  });

  test('build-watcher step ref: the token mount is DEFAULT_SECRETS_DIR/TOKEN_FILE_NAME, and it lists the same jobs and versions', () => {
    const doc = only('openshift-release/sandboxed-containers-operator-build-watcher-ref.yaml') as Obj;
    const ref = doc.ref as Obj;
    const creds = ref.credentials as Obj[];
    const mount = creds.find((c) => c.name === 'osc-build-watcher-secrets');
    assert.ok(mount);
    assert.equal(mount.namespace, 'test-credentials');
    assert.equal(mount.mount_path, '/var/run/osc-secrets');
    assert.equal(mount.mount_path, DEFAULT_SECRETS_DIR);
    const docText = String(ref.documentation);
    assert.match(docText, new RegExp(`^- ${TOKEN_FILE_NAME}:`, 'm'), 'the secret key is the token file name');
    const listed = [...docText.matchAll(/^- (periodic-ci-\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(listed, expectedJobs);
    // "Queries Cincinnati API for latest accepted releases (4.17-4.22)"
    const range = /\((\d+\.\d+)-(\d+\.\d+)\)/.exec(docText);
    assert.ok(range);
    assert.deepEqual([range[1], range[2]], [DEFAULT_VERSIONS[0], DEFAULT_VERSIONS.at(-1)]);
    // Contract note: this text says Deck is checked "to avoid duplicate testing within 7 days",
    // but contracts.md §2 says Deck keeps only ~24 h of ProwJobs: a 7-day window cannot be met
    // from Deck alone.
    assert.match(docText, /within 7 days/);
  });

  test('release stream config (arm64 4.21): the stream name follows our template plus the arch suffix', () => {
    const cfg = only('openshift-release/release-ocp-4.21-arm64.json') as Obj;
    assert.equal(cfg.name, `${DEFAULT_STREAM_TEMPLATE.replace('{version}', '4.21')}-arm64`);
    // contracts.md §1: nightly tags expire after 14 days.
    assert.equal(cfg.expires, '336h');
    assert.equal(336 / 24, 14);
    // Contract note: arm64 streams may create a payload every 6 h (21600 s); contracts.md §1's
    // "at most every 8 hours" is about amd64 nightlies.
    assert.equal(cfg.minCreationIntervalSeconds, 21600);
  });
});

describe('other real data', () => {
  test('BigQuery verify results: an array of objects with a nightly release_verify_tag', () => {
    const rows = only('release-controller/bigquery-verify-results-4.22-nightly-console-aws.json');
    assert.ok(Array.isArray(rows) && rows.length > 0);
    // Contract note: despite the file name, not every tag is a nightly: a few rows verify release
    // candidates (`4.22.0-rc.2`). All are 4.22 semantic versions; most are nightlies.
    const nightly = /^4\.22\.0-0\.nightly-\d{4}-\d{2}-\d{2}-\d{6}$/;
    assert.ok(rows.filter((r) => nightly.test(String((r as Obj).release_verify_tag))).length > rows.length / 2);
    for (const row of rows) {
      assert.ok(isObj(row));
      assert.ok(isSemver(String(row.release_verify_tag)), String(row.release_verify_tag));
      assert.match(String(row.release_verify_tag), /^4\.22\.0-(0\.nightly-\d{4}-\d{2}-\d{2}-\d{6}|rc\.\d+)$/);
      assert.equal(typeof row.prowjob_job_name, 'string');
      assert.ok(['success', 'failure', 'aborted', 'error', 'pending', 'triggered'].includes(String(row.prowjob_state)), String(row.prowjob_state));
      // Contract note: these times carry no zone ("2026-05-01T13:28:38"), unlike ProwJob RFC 3339.
      if (row.prowjob_start != null) assert.match(String(row.prowjob_start), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
    }
  });

  test('Cincinnati graphs: nodes with version and payload, edges within range; payloads pass our pullSpec check', () => {
    const graphs = [...parsed.values()].filter((fx) => isObj(fx.docs[0]) && Array.isArray((fx.docs[0] as Obj).nodes));
    assert.ok(graphs.length >= 2, `expected ≥ 2 Cincinnati graphs, found ${graphs.length}`);
    for (const fx of graphs) {
      const graph = fx.docs[0] as { nodes: Obj[]; edges: unknown[] };
      assert.ok(graph.nodes.length > 0, `${fx.rel}: nodes`);
      for (const node of graph.nodes) {
        assert.equal(typeof node.version, 'string', `${fx.rel}: node.version`);
        assert.equal(typeof node.payload, 'string', `${fx.rel}: node.payload`);
        // Contract note: Cincinnati payloads are by digest (`...ocp-release@sha256:...`), another
        // pullSpec form than the release controller's `:<tag>`; our pullSpec check accepts it.
        const tag = parseLatestTag(JSON.stringify({ name: node.version, phase: 'Accepted', pullSpec: node.payload }));
        assert.equal(tag.pullSpec, node.payload);
      }
      assert.ok(Array.isArray(graph.edges), `${fx.rel}: edges`);
      for (const edge of graph.edges) {
        assert.ok(Array.isArray(edge) && edge.length === 2, `${fx.rel}: edge ${JSON.stringify(edge)}`);
        for (const i of edge) assert.ok(Number.isInteger(i) && i >= 0 && i < graph.nodes.length, `${fx.rel}: edge index ${i}`);
      }
      // contracts.md §1: the public graph serves only published releases, never nightlies.
      assert.ok(!graph.nodes.some((n) => String(n.version).includes('nightly')), `${fx.rel}: no nightly in the graph`);
    }
  });
});

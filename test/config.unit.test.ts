import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { compareVersions, ConfigError, discoverVersions, jobsForVersion, loadConfig } from '../src/config/load';
import { applySelection, resolvePassPlan } from '../src/config/plan';
import { parsePassRequest, PassRequestError } from '../src/domain/passRequest';
import { isValidLabelValue, triggerWorkflowId } from '../src/domain/labels';
import { buildTriggerRequest } from '../src/domain/trigger';
import { parseScenario, startSimulators, type Simulators } from '../src/simulators';
import { tempDir } from './helpers/config';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'openshift-ci.yaml');
const DISCOVER_EXAMPLE = path.join(ROOT, 'examples', 'discover.yaml');
const CANDIDATE = 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-candidate';

const dir = tempDir('osc-watcher-config-');
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

function requestError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PassRequestError, `expected PassRequestError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a PassRequestError');
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.message.split('\n').length, 1, 'one line');
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  test('built-in defaults are the bash step\'s', () => {
    const c = loadConfig({ env: {} });
    assert.deepEqual(c.versions.map((v) => v.stream), ['4.17', '4.18', '4.19', '4.20', '4.21', '4.22'].map((v) => `${v}.0-0.nightly`));
    assert.equal(c.endpoints.releaseController, 'https://amd64.ocp.releases.ci.openshift.org');
    assert.equal(c.endpoints.deck, 'https://prow.ci.openshift.org');
    assert.equal(c.endpoints.gangway, 'https://gangway-ci.apps.ci.l2s4.p1.openshiftapps.com');
    const jobs = c.versions[0]!.jobs;
    assert.equal(jobs.length, 5);
    assert.equal(jobs[0]!.name, 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release-azure-ipi-kata');
    assert.equal(jobs[0]!.shortName, 'azure-ipi-kata');
    assert.ok(jobs.every((j) => j.payloadEnv === 'RELEASE_IMAGE_LATEST'));
    assert.ok(c.versions.every((v) => JSON.stringify(v.jobs) === JSON.stringify(jobs)), 'every version has the same jobs');
    assert.equal(c.discover, undefined);
    assert.equal(c.versionsFrom, 'built-in defaults');
    assert.equal(c.gangway.tokenFile, '/var/run/osc-secrets/gangway-api-token');
    assert.equal(c.gangway.createForm, 'body');
    assert.equal(c.schedule.cron, '0 0 * * *');
    assert.equal(c.schedule.timezone, 'UTC');
    assert.equal(c.dedupPolicy, 'exact-payload');
    assert.equal(c.maxCachedWorkflows, 200);
  });

  test('the YAML file overrides, the environment overrides the file', () => {
    const p = file(
      'full.yaml',
      [
        'ocpVersions: ["4.20", "4.21"]',
        'deck: { url: "http://deck.local:8080/" }',
        'gangway: { createForm: path, tokenFile: /etc/token }',
        'jobs:',
        '  - azure-ipi-kata',
        '  - { name: aws-ipi-coco, payloadEnv: false }',
        '  - { name: other-full-job-name, payloadEnv: RELEASE_IMAGE_INITIAL }',
        'dedupPolicy: recent-success',
        'schedule: { cron: "30 2 * * 1-5", catchupWindow: 2h }',
        'retry: { initialInterval: 1s, maximumAttempts: 4 }',
      ].join('\n'),
    );
    const c = loadConfig({ configPath: p, env: { OCP_VERSIONS: '4.22', GANGWAY_URL: 'http://127.0.0.1:9000', TEMPORAL_TASK_QUEUE: 'q1' } });
    assert.deepEqual(c.versions.map((v) => [v.version, v.stream]), [['4.22', '4.22.0-0.nightly']]);
    assert.equal(c.versionsFrom, 'OCP_VERSIONS');
    assert.equal(c.endpoints.deck, 'http://deck.local:8080');
    assert.equal(c.endpoints.gangway, 'http://127.0.0.1:9000');
    assert.equal(c.gangway.createForm, 'path');
    assert.equal(c.gangway.tokenFile, '/etc/token');
    assert.deepEqual(
      c.versions[0]!.jobs.map((j) => [j.shortName, j.payloadEnv]),
      [['azure-ipi-kata', 'RELEASE_IMAGE_LATEST'], ['aws-ipi-coco', null], ['other-full-job-name', 'RELEASE_IMAGE_INITIAL']],
    );
    assert.equal(c.dedupPolicy, 'recent-success');
    assert.equal(c.schedule.catchupWindowMs, 2 * 3600_000);
    assert.equal(c.retry.initialIntervalMs, 1000);
    assert.equal(c.retry.maximumAttempts, 4);
    assert.equal(c.taskQueue, 'q1');
    assert.equal(loadConfig({ env: { WATCHER_CONFIG: p } }).gangway.createForm, 'path');
  });

  test('GANGWAY_TOKEN_FILE wins over SECRETS_DIR', () => {
    assert.equal(loadConfig({ env: { SECRETS_DIR: '/s' } }).gangway.tokenFile, '/s/gangway-api-token');
    assert.equal(loadConfig({ env: { SECRETS_DIR: '/s', GANGWAY_TOKEN_FILE: '/t' } }).gangway.tokenFile, '/t');
  });

  test('bad files and values are rejected with one line naming the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['gangway:\n  tokn: x\n', /unknown key "gangway\.tokn"/],
      ['colour: blue\n', /unknown key "colour"/],
      ['deck: { url: "https://prow.ci.openshift.org/prowjobs.js" }\n', /deck\.url: must be a base URL/],
      ['ocpVersions: []\n', /ocpVersions: must list at least one version/],
      ['ocpVersions: ["4.21", "latest"]\n', /ocpVersions\.1: must be X\.Y/],
      ['ocpVersions: ["4.21", "4.21"]\n', /duplicate version "4\.21"/],
      ['jobs: [azure-ipi-kata, azure-ipi-kata]\n', /jobs: duplicate job "azure-ipi-kata"/],
      ['schedule: { cron: "every day" }\n', /schedule\.cron: must be a 5-field cron/],
      ['dedupPolicy: sometimes\n', /dedupPolicy:/],
      ['retry: { initialInterval: soon }\n', /retry\.initialInterval: must be a duration/],
      ['gangway: { createForm: form }\n', /gangway\.createForm:/],
      ['ocpVersions: [4.21\n', /not valid YAML/],
      ['ocpVersions: [4.20, 4.21]\n', /ocpVersions\.0: must be a quoted string like "4\.20" \(YAML read 4\.2 as a number\)/],
      ['gangway: { rateLimit: { perMinute: 0 } }\n', /gangway\.rateLimit\.perMinute:/],
      ['gangway: { rateLimit: { burst: 5, perHour: 9 } }\n', /unknown key "gangway\.rateLimit\.perHour"/],
      ['trigger: { heartbeatTimeout: 30 }\n', /trigger\.heartbeatTimeout:/],
      ['temporal: { shutdownGrace: soon }\n', /temporal\.shutdownGrace: must be a duration/],
      ['temporal: { maxCachedWorkflows: 1 }\n', /temporal\.maxCachedWorkflows:/],
      ['gangway: { rateLimit: { perMinute: 60001 } }\n', /gangway\.rateLimit\.perMinute:/],
      ['http: { timeout: 90s }\n', /trigger\.inFlightGrace \(60s\) is shorter than http\.timeout \(90s\): a retry could miss a create still in flight/],
    ];
    for (const [text, expected] of cases) {
      const msg = configError(() => loadConfig({ configPath: file('bad.yaml', text), env: {} }));
      assert.match(msg, expected, text);
      assert.match(msg, /^config .*bad\.yaml: /);
    }
    assert.match(configError(() => loadConfig({ configPath: path.join(dir, 'absent.yaml'), env: {} })), /cannot read \(ENOENT\)/);
  });

  test('bad environment overrides are rejected by name', () => {
    assert.match(configError(() => loadConfig({ env: { RELEASE_CONTROLLER_URL: 'ftp://x' } })), /^RELEASE_CONTROLLER_URL: must be a base URL/);
    assert.match(configError(() => loadConfig({ env: { OCP_VERSIONS: ' , ' } })), /^OCP_VERSIONS: must list at least one version/);
    assert.match(configError(() => loadConfig({ env: { OCP_VERSIONS: '4.21,4' } })), /^OCP_VERSIONS: "4" is not a version/);
  });

  test('the plan restricts versions and jobs, and carries no URL or secret path', () => {
    const c = loadConfig({ env: { GANGWAY_TOKEN_FILE: '/very/secret/path' } });
    const plan = resolvePassPlan(c, { versions: ['4.21'], jobs: ['aws-ipi-coco'], dryRun: true });
    assert.deepEqual(plan.versions.map((v) => [v.version, v.stream]), [['4.21', '4.21.0-0.nightly']]);
    assert.deepEqual(plan.versions[0]!.jobs.map((j) => j.shortName), ['aws-ipi-coco']);
    assert.equal(plan.settings.dryRun, true);
    const text = JSON.stringify(resolvePassPlan(c));
    assert.ok(!text.includes('http'), 'no endpoint in the plan');
    assert.ok(!text.includes('/very/secret/path'));
    assert.throws(() => resolvePassPlan(c, { jobs: ['nope'] }), (e: Error) => e instanceof PassRequestError && /^jobs: "nope" is not a configured job/.test(e.message));
    assert.throws(() => resolvePassPlan(c, { versions: ['9.99'] }), /^PassRequestError: versions: "9.99" is not a watched version \(4.17, /);
  });

  test('a pass input is checked field by field, one message naming the field', () => {
    assert.deepEqual(parsePassRequest(undefined), {});
    assert.deepEqual(parsePassRequest(null), {});
    assert.deepEqual(parsePassRequest({ versions: ['4.21'], dryRun: true }), { versions: ['4.21'], dryRun: true });
    const bad: Array<[unknown, RegExp]> = [
      ['4.21', /^input must be a JSON object/],
      [[], /^input must be a JSON object/],
      [{ version: ['4.21'] }, /^input: unknown key "version"/],
      [{ versions: '4.21' }, /^versions: must be a list of strings/],
      [{ versions: [4.21] }, /^versions: every entry must be a non-empty string, got number 4.21/],
      [{ versions: ['4.2x'] }, /^versions: "4.2x" is not an OCP version/],
      [{ versions: [] }, /^versions: must not be empty/],
      [{ versions: ['4.21', '4.21'] }, /^versions: "4.21" is listed twice/],
      [{ jobs: [''] }, /^jobs: every entry must be a non-empty string/],
      [{ dryRun: 'yes' }, /^dryRun: must be true or false, got the string "yes"/],
    ];
    for (const [input, message] of bad) assert.throws(() => parsePassRequest(input), (e: Error) => e instanceof PassRequestError && message.test(e.message), JSON.stringify(input));
  });
});

/** What OSC's CI defines, per variant (extracted from openshift/release; see the file's `about`). */
const variants = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'osc-candidate-variants.json'), 'utf8')) as {
  jobPrefix: string;
  variants: Record<string, { tests: string[] }>;
};
const ciJobNames = new Set(Object.entries(variants.variants).flatMap(([variant, v]) => v.tests.map((t) => `${variants.jobPrefix}-${variant}-${t}`)));

/** The release controller's /api/v1/releasestreams/accepted, shaped like amd64's: nightlies and everything else. */
const ACCEPTED: Record<string, string[] | null> = {
  '4-stable': ['4.20.3', '4.21.0'],
  '4-dev-preview': null,
  '4.9.0-0.nightly': ['4.9.0-0.nightly-2023-01-02-000000'],
  '4.16.0-0.nightly': ['4.16.0-0.nightly-2026-11-20-000000'],
  '4.17.0-0.nightly': ['4.17.0-0.nightly-2026-11-21-000000', '4.17.0-0.nightly-2026-11-20-000000'],
  '4.21.0-0.ci': ['4.21.0-0.ci-2026-11-22-000000'],
  '4.21.0-0.nightly': ['4.21.0-0.nightly-2026-11-22-000000'],
  '4.21.0-0.konflux-nightly': ['4.21.0-0.konflux-nightly-2026-11-22-000000'],
  '4.21.0-0.nightly-arm64': ['4.21.0-0.nightly-arm64-2026-11-22-000000'],
  '4.22.0-0.nightly': null,
  '4.18.0-0.nightly': ['4.18.0-0.nightly-2026-11-22-000000'],
  '5.0.0-0.nightly': ['5.0.0-0.nightly-2026-11-23-000000'],
  '4.09.0-0.nightly': ['not a real stream'],
  'okd-scos-4.21': null,
};

describe('per-version jobs: {version}/{vv} templates and jobsByVersion', () => {
  test('examples/openshift-ci.yaml resolves to the candidate<vv> job of each version, 4.17 to 5.0', () => {
    const c = loadConfig({ configPath: EXAMPLE, env: {} });
    assert.deepEqual(c.versions.map((v) => v.version), ['4.17', '4.18', '4.19', '4.20', '4.21', '4.22', '5.0']);
    const v50 = c.versions.at(-1)!;
    assert.equal(v50.stream, '5.0.0-0.nightly');
    assert.deepEqual(v50.jobs[0], { name: `${CANDIDATE}50-azure-ipi-kata`, shortName: 'azure-ipi-kata', payloadEnv: 'RELEASE_IMAGE_LATEST' });
    assert.deepEqual(v50.jobs.map((j) => j.shortName), ['azure-ipi-kata', 'azure-ipi-peerpods', 'azure-ipi-coco', 'aws-ipi-peerpods'], '5.0 has its own list');
    const v421 = c.versions.find((v) => v.version === '4.21')!;
    assert.equal(v421.stream, '4.21.0-0.nightly');
    assert.deepEqual(v421.jobs.map((j) => j.name), ['azure-ipi-kata', 'azure-ipi-peerpods', 'azure-ipi-coco', 'aws-ipi-peerpods', 'aws-ipi-coco'].map((t) => `${CANDIDATE}421-${t}`));
    assert.equal(c.versions[0]!.jobs[4]!.name, `${CANDIDATE}417-aws-ipi-coco`);
    for (const v of c.versions) {
      for (const job of v.jobs) assert.ok(ciJobNames.has(job.name), `${job.name} is a job of OSC's CI`);
    }
    assert.equal(c.versionsFrom, `ocpVersions in ${EXAMPLE}`);
    assert.equal(c.jobTemplates.allFrom, `jobs in ${EXAMPLE}`);
    assert.deepEqual(Object.keys(c.jobTemplates.byVersion), ['5.0']);
  });

  test('the candidate names fit the trigger workflow ID and the labels (which hold only the payload, a hash and the version)', () => {
    const c = loadConfig({ configPath: EXAMPLE, env: {} });
    const release = { name: '5.0.0-0.nightly-2026-11-23-000000', phase: 'Accepted', pullSpec: 'registry.ci.openshift.org/ocp/release:5.0.0-0.nightly-2026-11-23-000000' };
    for (const v of c.versions) {
      for (const job of v.jobs) {
        assert.ok(job.name.length > 63, 'longer than a label value may be');
        const id = triggerWorkflowId(job.name, release.name);
        assert.ok(id.length < 1000, `${id.length} chars is within Temporal's workflow ID limit`);
        const req = buildTriggerRequest(job, v.version, release, c.labelPrefix, id);
        for (const [key, value] of Object.entries(req.labels)) assert.ok(isValidLabelValue(value), `${key}=${value}`);
        assert.ok(!Object.values(req.labels).includes(job.name), 'the job name is in no label');
      }
    }
  });

  test('the short name drops the part with the placeholder, or is given with short:', () => {
    const c = loadConfig({
      configPath: file(
        'templates.yaml',
        [
          'ocpVersions: ["4.21", "5.0"]',
          'jobPrefix: pre',
          'jobs:',
          '  - candidate{vv}-azure-ipi-kata',
          '  - aws-ipi-coco-{version}',
          '  - pre-x{vv}-full-name',
          '  - other-repo-job-{vv}',
          '  - { name: "nightly-{version}-upgrade", short: upgrade, payloadEnv: false }',
          '  - plain',
        ].join('\n'),
      ),
      env: {},
    });
    const at = (version: string) => c.versions.find((v) => v.version === version)!.jobs.map((j) => [j.name, j.shortName, j.payloadEnv]);
    assert.deepEqual(at('4.21'), [
      ['pre-candidate421-azure-ipi-kata', 'azure-ipi-kata', 'RELEASE_IMAGE_LATEST'],
      ['pre-aws-ipi-coco-4.21', 'aws-ipi-coco', 'RELEASE_IMAGE_LATEST'],
      ['pre-x421-full-name', 'full-name', 'RELEASE_IMAGE_LATEST'],
      ['pre-other-repo-job-421', 'other-repo-job', 'RELEASE_IMAGE_LATEST'],
      ['pre-nightly-4.21-upgrade', 'upgrade', null],
      ['pre-plain', 'plain', 'RELEASE_IMAGE_LATEST'],
    ]);
    assert.deepEqual(at('5.0').map(([name]) => name), ['pre-candidate50-azure-ipi-kata', 'pre-aws-ipi-coco-5.0', 'pre-x50-full-name', 'pre-other-repo-job-50', 'pre-nightly-5.0-upgrade', 'pre-plain']);
    assert.deepEqual(at('5.0').map(([, short]) => short), at('4.21').map(([, short]) => short), 'short names do not depend on the version');
  });

  test('jobsForVersion resolves any version, jobsByVersion first; versions compare numerically', () => {
    const c = loadConfig({ configPath: EXAMPLE, env: {} });
    assert.deepEqual(jobsForVersion(c, '5.1').map((j) => j.name), ['azure-ipi-kata', 'azure-ipi-peerpods', 'azure-ipi-coco', 'aws-ipi-peerpods', 'aws-ipi-coco'].map((t) => `${CANDIDATE}51-${t}`));
    assert.equal(jobsForVersion(c, '5.0').length, 4);
    assert.equal(jobsForVersion(c, '4.100')[0]!.name, `${CANDIDATE}4100-azure-ipi-kata`);
    assert.match(configError(() => jobsForVersion(c, '5')), /"5" is not a version/);
    assert.deepEqual(['5.0', '4.17', '4.9', '4.100', '4.2'].sort(compareVersions), ['4.2', '4.9', '4.17', '4.100', '5.0']);
  });

  test('bad templates, per-version lists and discovery settings: one line naming the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['jobs: ["candidate{v}-azure"]\n', /jobs\.0: may only use the placeholders \{version\} and \{vv\}/],
      ['jobs: ["candidate{vv-azure"]\n', /jobs\.0: may only use the placeholders/],
      ['jobs: [{ name: "c{vv}-a", short: "a-{vv}" }]\n', /jobs\.0\.short: must not hold a placeholder/],
      ['jobs: [{ name: "c{vv}-a", shrt: a }]\n', /unknown key "jobs\.0\.shrt"/],
      ['jobs: [{ payloadEnv: false }]\n', /jobs\.0\.name: /],
      ['jobs: [3]\n', /jobs\.0: must be a job name or \{ name, short\?, payloadEnv\? \}/],
      ['jobs: ["{vv}"]\n', /jobs\.0: no short name left in "\{vv\}" once the placeholder part is dropped; add short:/],
      ['jobs: ["c{vv}-azure-ipi-kata", "c{vv}-azure-ipi-kata"]\n', /jobs: duplicate job "azure-ipi-kata"/],
      ['jobs: ["candidate{vv}-azure-ipi-kata", "release{vv}-azure-ipi-kata"]\n', /jobs: two jobs have the short name "azure-ipi-kata" \(.*candidate\{vv\}-azure-ipi-kata and .*release\{vv\}-azure-ipi-kata\); set short: on one of them/],
      ['ocpVersions: ["4.20", "4.21"]\njobs: ["x-{vv}-a", "x-421-a"]\n', /jobs: duplicate job "x-421-a" for 4\.21$/],
      ['ocpVersions: ["4.21"]\njobsByVersion: { "4.21": [a, a] }\n', /jobsByVersion\.4\.21: duplicate job "a"/],
      ['ocpVersions: ["4.21"]\njobsByVersion: { "4.21": [] }\n', /jobsByVersion\.4\.21: must list at least one job/],
      ['ocpVersions: ["4.21"]\njobsByVersion: { "4.2x": [a] }\n', /jobsByVersion\.4\.2x: /],
      ['ocpVersions: ["4.20"]\njobsByVersion:\n  4.20: [a]\n', /jobsByVersion: key 4\.20 must be a quoted string like "4\.20" \(YAML read it as the number 4\.2\)/],
      ['ocpVersions: ["4.20"]\njobsByVersion: { "4.2": [a] }\n', /jobsByVersion\.4\.2: not a version in ocpVersions \(4\.20\)/],
      ['jobsByVersion: { "5.0": [a] }\n', /jobsByVersion\.5\.0: not a version in ocpVersions \(4\.17, 4\.18, 4\.19, 4\.20, 4\.21, 4\.22\)/],
      ['ocpVersions: discover\n', /ocpVersions: discover needs discover\.min, like discover: \{ min: "4\.17" \}/],
      ['ocpVersions: discover\ndiscover: {}\n', /discover\.min: /],
      ['ocpVersions: discover\ndiscover: { min: 4.17 }\n', /discover\.min: must be a quoted string like "4\.20" \(YAML read 4\.17 as a number\)/],
      ['ocpVersions: discover\ndiscover: { min: "4.17", max: "4.9" }\n', /discover\.max \(4\.9\) is lower than discover\.min \(4\.17\)/],
      ['ocpVersions: discover\ndiscover: { min: "4.17", mx: "5.0" }\n', /unknown key "discover\.mx"/],
      ['ocpVersions: ["4.21"]\ndiscover: { min: "4.17" }\n', /discover: only used with ocpVersions: discover/],
      ['ocpVersions: latest\n', /ocpVersions: must be a list of versions like \["4\.20", "4\.21"\], or "discover"/],
      ['ocpVersions: ["5.0", 5.1]\n', /ocpVersions\.1: must be a quoted string like "4\.20" \(YAML read 5\.1 as a number\)/],
    ];
    for (const [text, expected] of cases) {
      const msg = configError(() => loadConfig({ configPath: file('bad.yaml', text), env: {} }));
      assert.match(msg, expected, text);
      assert.match(msg, /^config .*bad\.yaml: /, text);
    }
    // The file is checked on its own: OCP_VERSIONS does not make a bad discovery setting pass.
    assert.match(configError(() => loadConfig({ configPath: file('bad.yaml', 'ocpVersions: discover\n'), env: { OCP_VERSIONS: '4.21' } })), /discover needs discover\.min/);
  });

  test('--jobs matches a short or a full name in any version; a version without a match is left out', () => {
    const c = loadConfig({ configPath: EXAMPLE, env: {} });
    const picked = applySelection(c.versions, { jobs: ['aws-ipi-coco', `${CANDIDATE}50-azure-ipi-kata`] });
    assert.deepEqual(
      picked.map((v) => [v.version, v.jobs.map((j) => j.name)]),
      [
        ...['417', '418', '419', '420', '421', '422'].map((vv) => [`4.${vv.slice(1)}`, [`${CANDIDATE}${vv}-aws-ipi-coco`]]),
        ['5.0', [`${CANDIDATE}50-azure-ipi-kata`]],
      ],
    );
    assert.deepEqual(applySelection(c.versions, { versions: ['4.18', '5.0'], jobs: ['azure-ipi-kata'] }).map((v) => v.jobs[0]!.name), [`${CANDIDATE}418-azure-ipi-kata`, `${CANDIDATE}50-azure-ipi-kata`]);
    assert.match(requestError(() => applySelection(c.versions, { versions: ['5.0'], jobs: ['aws-ipi-coco'] })), /^jobs: aws-ipi-coco is configured for none of 5\.0$/);
    assert.match(requestError(() => applySelection(c.versions, { jobs: ['aro-ipi-coco'] })), /^jobs: "aro-ipi-coco" is not a configured job \(azure-ipi-kata, azure-ipi-peerpods, azure-ipi-coco, aws-ipi-peerpods, aws-ipi-coco\)$/);
    assert.match(requestError(() => applySelection(c.versions, { versions: ['4.16'] })), /^versions: "4\.16" is not a watched version \(4\.17, .*, 5\.0\)$/);
  });

  test('the plan carries each version with its own jobs, and discovered versions when given', () => {
    const c = loadConfig({ configPath: EXAMPLE, env: {} });
    const plan = resolvePassPlan(c);
    assert.equal(plan.versions.find((v) => v.version === '4.18')!.jobs[0]!.name, `${CANDIDATE}418-azure-ipi-kata`);
    assert.equal(plan.versions.find((v) => v.version === '5.0')!.jobs[0]!.name, `${CANDIDATE}50-azure-ipi-kata`);
    const d = loadConfig({ configPath: DISCOVER_EXAMPLE, env: {} });
    const found = discoverVersions(d, { '4.21.0-0.nightly': ['4.21.0-0.nightly-2026-11-24-040107'], '4.16.0-0.nightly': null });
    const discovered = resolvePassPlan(d, {}, found);
    assert.deepEqual(discovered.versions.map((v) => v.version), ['4.21']);
    assert.deepEqual(discovered.discovered, { min: '4.17', versions: ['4.21'], skipped: ['4.16.0-0.nightly'] });
  });
});

describe('ocpVersions: discover', () => {
  test('examples/discover.yaml: no fixed versions, the rule from 4.17', () => {
    const c = loadConfig({ configPath: DISCOVER_EXAMPLE, env: {} });
    assert.deepEqual(c.versions, []);
    assert.deepEqual(c.discover, { min: '4.17' });
    assert.equal(c.versionsFrom, `discover in ${DISCOVER_EXAMPLE}`);
    // OCP_VERSIONS still wins, as over a list.
    const pinned = loadConfig({ configPath: DISCOVER_EXAMPLE, env: { OCP_VERSIONS: '4.21,5.0' } });
    assert.equal(pinned.discover, undefined);
    assert.deepEqual(pinned.versions.map((v) => [v.version, v.jobs.length]), [['4.21', 5], ['5.0', 4]]);
  });

  test('discoverVersions keeps the nightly streams from min, in numeric order, with their jobs', () => {
    const c = loadConfig({ configPath: DISCOVER_EXAMPLE, env: {} });
    const { versions, skipped } = discoverVersions(c, ACCEPTED);
    assert.deepEqual(versions.map((v) => [v.version, v.stream]), [
      ['4.17', '4.17.0-0.nightly'],
      ['4.18', '4.18.0-0.nightly'],
      ['4.21', '4.21.0-0.nightly'],
      ['4.22', '4.22.0-0.nightly'], // no Accepted payload yet: watched, the pass reports "no release"
      ['5.0', '5.0.0-0.nightly'],
    ]);
    assert.deepEqual(skipped, ['4.9.0-0.nightly', '4.16.0-0.nightly']);
    const v50 = versions.at(-1)!;
    assert.deepEqual(v50.jobs.map((j) => j.name), ['azure-ipi-kata', 'azure-ipi-peerpods', 'azure-ipi-coco', 'aws-ipi-peerpods'].map((t) => `${CANDIDATE}50-${t}`), 'jobsByVersion applies to discovered versions');
    assert.equal(versions[0]!.jobs[0]!.shortName, 'azure-ipi-kata');
    assert.equal(versions[0]!.jobs.length, 5);
    assert.deepEqual(discoverVersions(c, {}), { versions: [], skipped: [] });
  });

  test('discover.max, and a stream template of another architecture', () => {
    const capped = loadConfig({ configPath: file('max.yaml', 'ocpVersions: discover\ndiscover: { min: "4.9", max: "4.21" }\n'), env: {} });
    const found = discoverVersions(capped, ACCEPTED);
    assert.deepEqual(found.versions.map((v) => v.version), ['4.9', '4.16', '4.17', '4.18', '4.21']);
    assert.deepEqual(found.skipped, ['4.22.0-0.nightly', '5.0.0-0.nightly']);
    assert.equal(found.versions[0]!.jobs[0]!.name, 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release-azure-ipi-kata', 'built-in jobs');
    const arm = loadConfig({ configPath: file('arm.yaml', 'ocpVersions: discover\ndiscover: { min: "4.17" }\nstreamTemplate: "{version}.0-0.nightly-arm64"\n'), env: {} });
    assert.deepEqual(discoverVersions(arm, ACCEPTED).versions.map((v) => v.stream), ['4.21.0-0.nightly-arm64']);
    assert.match(configError(() => discoverVersions(loadConfig({ env: {} }), ACCEPTED)), /not "discover"/);
  });
});

describe('osc-build-watcher config check', () => {
  const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const sims: Simulators[] = [];
  after(async () => {
    for (const s of sims) await s.close();
  });

  function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  test('examples/openshift-ci.yaml: exit 0, each version with its stream and its jobs', async () => {
    const r = await run(['--config', EXAMPLE, 'config', 'check']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^Configuration: ${EXAMPLE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(r.stdout, /^5\.0 {2}stream 5\.0\.0-0\.nightly {2}\(4 job\(s\) from jobsByVersion in .*openshift-ci\.yaml\)$/m);
    assert.match(r.stdout, new RegExp(`^ {2}${CANDIDATE}50-azure-ipi-kata {2}\\(azure-ipi-kata\\)$`, 'm'));
    assert.match(r.stdout, /^OK: 7 version\(s\), 34 job\(s\)$/m);
    const json = await run(['--config', EXAMPLE, 'config', 'check', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { versions: Array<{ version: string; stream: string; jobs: Array<{ name: string }> }> };
    assert.equal(parsed.versions.at(-1)!.jobs[0]!.name, `${CANDIDATE}50-azure-ipi-kata`);
  });

  test('a bad file: exit 2 and one line on stderr', async () => {
    const bad = file('bad-cli.yaml', 'ocpVersions: discover\n');
    const r = await run(['--config', bad, 'config', 'check']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `ERROR: config ${bad}: ocpVersions: discover needs discover.min, like discover: { min: "4.17" }\n`);
  });

  test('ocpVersions: discover prints the rule; --discover asks the release controller what it would watch now', async () => {
    const rule = await run(['--config', DISCOVER_EXAMPLE, 'config', 'check']);
    assert.equal(rule.code, 0, rule.stderr);
    assert.match(rule.stdout, /^Discovery: at each pass, every release controller stream named \{version\}\.0-0\.nightly for a version 4\.17 and newer$/m);
    assert.match(rule.stdout, new RegExp(`^ {2}${CANDIDATE}\\{vv\\}-aws-ipi-coco {2}\\(aws-ipi-coco\\)$`, 'm'));
    assert.match(rule.stdout, /^Own job lists \(jobsByVersion\): 5\.0$/m);

    const tag = (stream: string) => `${stream.replace('nightly', 'nightly-2026-11-24-000000').replace(/-0\.ci$/, '-0.ci-2026-11-24-000000')}`;
    const s = await startSimulators(
      parseScenario({
        releaseController: {
          streams: Object.fromEntries(
            ['4.16.0-0.nightly', '4.17.0-0.nightly', '4.21.0-0.nightly', '4.21.0-0.ci', '5.0.0-0.nightly'].map((stream) => [stream, { tags: [{ name: tag(stream), phase: 'Accepted' }] }]),
          ),
        },
      }),
    );
    sims.push(s);
    s.addTag('4.22.0-0.nightly', { name: '4.22.0-0.nightly-2026-11-24-000000', phase: 'Rejected' });
    const r = await run(['--config', DISCOVER_EXAMPLE, 'config', 'check', '--discover'], { RELEASE_CONTROLLER_URL: s.releaseControllerUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}would watch now: 4\.17, 4\.21, 4\.22, 5\.0$/m);
    assert.match(r.stdout, /^ {2}outside the range: 4\.16\.0-0\.nightly$/m);
    assert.match(r.stdout, /^4\.22 {2}stream 4\.22\.0-0\.nightly {2}\(5 job\(s\) from jobs in .*, no Accepted payload now\)$/m);
    assert.match(r.stdout, new RegExp(`^ {2}${CANDIDATE}50-aws-ipi-peerpods {2}\\(aws-ipi-peerpods\\)$`, 'm'));
    assert.match(r.stdout, /^OK: 4 version\(s\), 19 job\(s\)$/m);

    // A listed version whose stream the release controller does not have is pointed out.
    const listed = await run(['--config', EXAMPLE, 'config', 'check', '--discover', '--json'], { RELEASE_CONTROLLER_URL: s.releaseControllerUrl });
    assert.equal(listed.code, 0, listed.stderr);
    const parsed = JSON.parse(listed.stdout) as { releaseController: { unknownStreams: string[] } };
    assert.deepEqual(parsed.releaseController.unknownStreams, ['4.18.0-0.nightly', '4.19.0-0.nightly', '4.20.0-0.nightly']);

    // The release controller failing is no configuration error: exit 1.
    s.addFault({ endpoint: 'rc.accepted', status: 404 });
    const down = await run(['--config', DISCOVER_EXAMPLE, 'config', 'check', '--discover'], { RELEASE_CONTROLLER_URL: s.releaseControllerUrl });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^ERROR: release controller releasestreams\/accepted: HTTP 404/);
  });
});

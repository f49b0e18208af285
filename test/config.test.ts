import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load';
import { resolvePassPlan } from '../src/config/plan';
import { parsePassRequest, PassRequestError } from '../src/domain/passRequest';
import { tempDir } from './helpers/config';

const dir = tempDir('osc-watcher-config-');
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
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
    assert.equal(c.jobs.length, 5);
    assert.equal(c.jobs[0].name, 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release-azure-ipi-kata');
    assert.equal(c.jobs[0].shortName, 'azure-ipi-kata');
    assert.ok(c.jobs.every((j) => j.payloadEnv === 'RELEASE_IMAGE_LATEST'));
    assert.equal(c.gangway.tokenFile, '/var/run/osc-secrets/gangway-api-token');
    assert.equal(c.gangway.createForm, 'body');
    assert.equal(c.schedule.cron, '0 0 * * *');
    assert.equal(c.schedule.timezone, 'UTC');
    assert.equal(c.dedupPolicy, 'exact-payload');
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
    assert.deepEqual(c.versions, [{ version: '4.22', stream: '4.22.0-0.nightly' }]);
    assert.equal(c.endpoints.deck, 'http://deck.local:8080');
    assert.equal(c.endpoints.gangway, 'http://127.0.0.1:9000');
    assert.equal(c.gangway.createForm, 'path');
    assert.equal(c.gangway.tokenFile, '/etc/token');
    assert.deepEqual(
      c.jobs.map((j) => [j.shortName, j.payloadEnv]),
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

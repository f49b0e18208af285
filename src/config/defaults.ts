// The bash step's settings: a fresh install behaves like the job it replaces.

export const DEFAULT_VERSIONS = ['4.17', '4.18', '4.19', '4.20', '4.21', '4.22'];
export const DEFAULT_STREAM_TEMPLATE = '{version}.0-0.nightly';
export const DEFAULT_RELEASE_CONTROLLER_URL = 'https://amd64.ocp.releases.ci.openshift.org';
export const DEFAULT_DECK_URL = 'https://prow.ci.openshift.org';
export const DEFAULT_GANGWAY_URL = 'https://gangway-ci.apps.ci.l2s4.p1.openshiftapps.com';
export const DEFAULT_JOB_PREFIX = 'periodic-ci-openshift-sandboxed-containers-operator-devel-downstream-release';
export const DEFAULT_JOB_SUFFIXES = [
  'azure-ipi-kata',
  'azure-ipi-peerpods',
  'azure-ipi-coco',
  'aws-ipi-peerpods',
  'aws-ipi-coco',
];
export const DEFAULT_SECRETS_DIR = '/var/run/osc-secrets';
export const TOKEN_FILE_NAME = 'gangway-api-token';
export const DEFAULT_PAYLOAD_ENV = 'RELEASE_IMAGE_LATEST';
export const DEFAULT_TASK_QUEUE = 'osc-build-watcher';
export const DEFAULT_SCHEDULE_ID = 'osc-build-watcher-daily';
export const DEFAULT_CRON = '0 0 * * *';

/**
 * Workflows one worker keeps in memory (the SDK's own default grows with the heap limit, about
 * 2,000 on this machine): the ledgers and a pass's children stay cached, finished triggers are
 * the ones evicted; a workflow evicted and needed again is replayed from its history.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 200;

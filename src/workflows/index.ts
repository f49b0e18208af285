// The worker bundles this file: it must export every workflow and import nothing from Node.
export { buildWatcher } from './buildWatcher';
export { watchVersion } from './watchVersion';
export { triggerJob } from './triggerJob';

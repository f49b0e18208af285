// The worker bundles this file: it must export every workflow and import nothing from Node.
export { buildWatcher } from './buildWatcher';
export { versionPass } from './versionPass';
export { triggerJob } from './triggerJob';
export { versionLedger } from './ledger';
export { gangwayPermit } from './gangwayPermit';
// The version child of passes started with the old whole-configuration input.
export { watchVersion } from './legacy/watchVersion';
export { upstreamHealth } from './upstreamHealth';

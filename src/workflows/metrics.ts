import { metricMeter } from '@temporalio/workflow';
import { MetricRecorder, type LabelsOf, type MetricKey } from '../domain/metrics';

/**
 * Adds one to a watcher counter from workflow code. The SDK's workflow meter records nothing
 * while a workflow replays, so a worker that replays a history (after a restart, a cache
 * eviction, a query) counts none of it again; and recording emits no command, so history and
 * replay are unchanged.
 */
export function countInWorkflow<K extends MetricKey>(key: K, labels: LabelsOf<K>): void {
  new MetricRecorder(metricMeter).add(key, labels);
}

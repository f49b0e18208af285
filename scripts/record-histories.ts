// `npm run record-histories`: records the workflow histories that test/replay.unit.test.ts replays.
//
// Runs three passes against the simulators, on an in-memory dev server with a real worker, then
// fetches the histories of the pass, of some version children and of some trigger records, and
// writes each to test/histories/<name>.json (the old files are deleted first). Run it after an
// intended change to workflow code (README, "Changing workflow code"), and commit the new files.
// test/histories/legacy/ holds histories of passes started with the old whole-configuration
// input (and its `watchVersion` children); they are never re-recorded, and must keep replaying.
//
//   Triggers run one at a time here (gangway.concurrency 1), so the faults hit known jobs.
//   pass 1 (4.18, 4.21): 4.18 has no Accepted nightly; on 4.21 Deck shows azure-ipi-kata succeeded
//     and azure-ipi-peerpods pending (skipped), azure-ipi-coco gets 503 three times (retried, then
//     failed), aws-ipi-peerpods gets a 429 with Retry-After then succeeds, aws-ipi-coco succeeds.
//   pass 2 (4.19, 4.21), Deck forgot the new runs: 4.19 triggers all five; on 4.21 the failed
//     azure-ipi-coco is triggered again, the two aws jobs are "already triggered by this watcher".
//     The 4.21 ledger follows its executions (every second at first): pass 1's are no longer in
//     Deck, pass 2's azure-ipi-coco ends success, and the ledger records that verdict.
//     4.19's aws-ipi-coco then ends ERROR: its ledger retries it after the (shortened) backoff, as
//     attempt 2 with its own trigger workflow, which is recorded too.
//   pass 3 (4.20, 4.21), dry run with Deck down (HTTP 400): everything is decided from the
//     trigger records: would-trigger, or skipped as already triggered.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LedgerClient } from '../src/clients/ledger';
import type { WatcherConfig } from '../src/config/load';
import { attemptWorkflowId, triggerWorkflowId } from '../src/domain/labels';
import type { Decision, PassRequest, PassSummary } from '../src/domain/types';
import { startSimulators } from '../src/simulators';
import { buildWatcher } from '../src/workflows/buildWatcher';
import { CANARY_TOKEN, JOB_PREFIX, simConfig, tempDir, writeTokenFile } from '../test/helpers/config';
import { containsSecret, historyToJSON, type RecordedHistory } from '../test/helpers/historyJson';
import { basicScenario, pullSpecOf } from '../test/helpers/scenarios';
import { startTestTemporal, type TestTemporal } from '../test/helpers/temporal';

const HISTORIES_DIR = path.resolve(__dirname, '..', '..', 'test', 'histories');
/** Fixed, so that the tag names (and so the trigger IDs) are the same at every recording. */
const SEED = 1;
const MAX_TOTAL_BYTES = 1_000_000;

interface Wanted {
  name: string;
  description: string;
  workflowId: string;
  workflowType: 'buildWatcher' | 'versionPass' | 'triggerJob' | 'versionLedger';
  /** An entity workflow that never closes: its history so far. */
  running?: boolean;
}

const recorded: RecordedHistory[] = [];

async function main(): Promise<void> {
  const { tags } = basicScenario(SEED);
  const { scenario } = basicScenario(SEED, {
    deck: {
      prowJobs: [
        { job: job('azure-ipi-kata'), state: 'success', releaseImageLatest: pullSpecOf(tags['4.21']), startTime: '-3h', completionTime: '-1h' },
        { job: job('azure-ipi-peerpods'), state: 'pending', releaseImageLatest: pullSpecOf(tags['4.21']), startTime: '-1h' },
        { job: job('azure-ipi-coco'), state: 'failure', releaseImageLatest: pullSpecOf(tags['4.21']), startTime: '-5h', completionTime: '-4h' },
      ],
    },
  });
  const sims = await startSimulators(scenario);
  const tokenDir = tempDir('osc-watcher-record-');
  let temporal: TestTemporal | undefined;
  try {
    temporal = await startTestTemporal();
    const base = simConfig(sims, writeTokenFile(tokenDir), { taskQueue: 'record-histories' });
    // Follow-through looks soon enough for a verdict to be in the ledger's recorded history.
    const config: WatcherConfig = {
      ...base,
      gangway: { ...base.gangway, concurrency: 1 },
      follow: { pollEveryMs: 1000, maxPollEveryMs: 4000, deadlineMs: 3600_000 },
      // A retry soon enough to be in the 4.19 ledger's recorded history.
      retrigger: { ...base.retrigger, initialMs: 500, maxMs: 1000 },
    };
    const t = temporal;
    await t.withWorker(config, async () => {
      // Pass 1. Only 4.21 triggers, one job at a time, so the faults hit known jobs:
      // the first three creates (azure-ipi-coco's three attempts), then one 429.
      sims.addFault({ endpoint: 'gangway.create', status: 503, times: 3 });
      sims.addFault({ endpoint: 'gangway.create', status: 429, headers: { 'Retry-After': '1' }, times: 1 });
      const pass1 = await runPass(t, config, 'recorded-pass-1', { versions: ['4.18', '4.21'] });
      expectVersion(pass1, '4.18', 'no-release');
      expectJobs(pass1, '4.21', { 'azure-ipi-kata': 'skipped', 'azure-ipi-peerpods': 'skipped', 'azure-ipi-coco': 'failed', 'aws-ipi-peerpods': 'triggered', 'aws-ipi-coco': 'triggered' });
      await keep(t, [
        { name: 'buildWatcher-pass-1', workflowType: 'buildWatcher', workflowId: 'recorded-pass-1', description: 'Pass over 4.18 (no Accepted nightly) and 4.21 (Deck skips, a failed trigger, a 429 retried)' },
        { name: 'versionPass-pass-1-ocp-4.21-triggers', workflowType: 'versionPass', workflowId: 'recorded-pass-1/ocp-4.21', description: 'Two jobs skipped from Deck, one trigger failed, two triggered' },
        { name: 'triggerJob-4.21-azure-ipi-coco-failed', workflowType: 'triggerJob', workflowId: trigger('azure-ipi-coco', tags['4.21']), description: 'Gangway 503 three times: retried, then failed' },
        { name: 'triggerJob-4.21-aws-ipi-peerpods-after-429', workflowType: 'triggerJob', workflowId: trigger('aws-ipi-peerpods', tags['4.21']), description: 'Gangway 429 with Retry-After, then triggered' },
      ]);

      // Pass 2. Deck forgets the runs pass 1 created; the trigger records in Temporal do not.
      sims.reset();
      const pass2 = await runPass(t, config, 'recorded-pass-2', { versions: ['4.19', '4.21'] });
      expectJobs(pass2, '4.19', { 'azure-ipi-kata': 'triggered', 'azure-ipi-peerpods': 'triggered', 'azure-ipi-coco': 'triggered', 'aws-ipi-peerpods': 'triggered', 'aws-ipi-coco': 'triggered' });
      expectJobs(pass2, '4.21', { 'azure-ipi-kata': 'skipped', 'azure-ipi-peerpods': 'skipped', 'azure-ipi-coco': 'triggered', 'aws-ipi-peerpods': 'skipped', 'aws-ipi-coco': 'skipped' });
      const retried = pass2.versions.find((v) => v.version === '4.21')!.jobs.find((j) => j.shortName === 'azure-ipi-coco')!.executionId!;
      sims.setProwJobState(retried, 'success');
      await ledgerVerdict(new LedgerClient(t.client, { taskQueue: config.taskQueue }), '4.21', tags['4.21'], 'azure-ipi-coco', 'success');
      await keep(t, [
        { name: 'buildWatcher-pass-2', workflowType: 'buildWatcher', workflowId: 'recorded-pass-2', description: 'Second pass: 4.19 triggers all, 4.21 mostly already triggered' },
        { name: 'versionPass-pass-2-ocp-4.21-already-triggered', workflowType: 'versionPass', workflowId: 'recorded-pass-2/ocp-4.21', description: 'Already triggered by this watcher (ID reuse policy), and a failed trigger tried again' },
        { name: 'versionLedger-4.21-after-pass-2', workflowType: 'versionLedger', workflowId: `osc-ledger/${config.taskQueue}/ocp-4.21`, description: 'The ledger of 4.21 (still running): claims and recorded triggers of passes 1 and 2, a failed trigger claimed again; follow-through looking at the executions, one verdict (success) recorded', running: true },
        { name: 'triggerJob-4.21-azure-ipi-coco-retried-by-pass-2', workflowType: 'triggerJob', workflowId: trigger('azure-ipi-coco', tags['4.21']), description: 'The second run of a failed trigger record, triggered' },
      ]);

      // Bounded retrigger: 4.19's aws-ipi-coco ends ERROR; its ledger retries it (attempt 2, its own trigger).
      const errored = pass2.versions.find((v) => v.version === '4.19')!.jobs.find((j) => j.shortName === 'aws-ipi-coco')!.executionId!;
      sims.setProwJobState(errored, 'error');
      await ledgerAttempts(new LedgerClient(t.client, { taskQueue: config.taskQueue }), '4.19', tags['4.19'], 'aws-ipi-coco', 2);
      await keep(t, [
        { name: 'versionLedger-4.19-retry-after-error', workflowType: 'versionLedger', workflowId: `osc-ledger/${config.taskQueue}/ocp-4.19`, description: 'The ledger of 4.19 (still running): an ERROR verdict, the backoff timer, the retry started as a child (attempt 2) and recorded', running: true },
        { name: 'triggerJob-4.19-aws-ipi-coco-attempt-2', workflowType: 'triggerJob', workflowId: attemptWorkflowId(job('aws-ipi-coco'), tags['4.19'], 2), description: "A retry's trigger, started by the ledger under its own ID, key and attempt label" },
      ]);

      // Pass 3: a dry run while Deck answers 400 (permanent), so only the trigger records decide.
      sims.addFault({ endpoint: 'deck.prowjobs', status: 400, body: 'bad request' });
      const pass3 = await runPass(t, config, 'recorded-pass-3-dry-run', { versions: ['4.20', '4.21'], dryRun: true });
      if (pass3.deck.state !== 'unavailable') throw new Error(`pass 3: expected Deck unavailable, got ${pass3.deck.state}`);
      expectJobs(pass3, '4.20', { 'azure-ipi-kata': 'would-trigger', 'azure-ipi-peerpods': 'would-trigger', 'azure-ipi-coco': 'would-trigger', 'aws-ipi-peerpods': 'would-trigger', 'aws-ipi-coco': 'would-trigger' });
      expectJobs(pass3, '4.21', { 'azure-ipi-kata': 'would-trigger', 'azure-ipi-peerpods': 'would-trigger', 'azure-ipi-coco': 'skipped', 'aws-ipi-peerpods': 'skipped', 'aws-ipi-coco': 'skipped' });
      await keep(t, [
        { name: 'buildWatcher-pass-3-dry-run-deck-down', workflowType: 'buildWatcher', workflowId: 'recorded-pass-3-dry-run', description: 'Dry run with Deck unavailable' },
        { name: 'versionPass-pass-3-dry-run-ocp-4.21', workflowType: 'versionPass', workflowId: 'recorded-pass-3-dry-run/ocp-4.21', description: 'Dry run: trigger record lookups, would-trigger and already triggered' },
      ]);
    });
  } finally {
    await temporal?.stop();
    await sims.close();
    rmSync(tokenDir, { recursive: true, force: true });
  }

  write();
}

function job(shortName: string): string {
  return `${JOB_PREFIX}-${shortName}`;
}

function trigger(shortName: string, payload: string): string {
  return triggerWorkflowId(job(shortName), payload);
}

/** Bounded retrigger: waits (up to 30 s) for the ledger to record attempt `n` of the job as posted. */
async function ledgerAttempts(ledgers: LedgerClient, version: string, payload: string, shortName: string, n: number): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const m = await ledgers.matrix(version);
    const attempt = m?.payloads.find((p) => p.name === payload)?.jobs.find((j) => j.shortName === shortName)?.attempts[n - 1];
    if (attempt?.executionId) return;
    if (Date.now() > until) throw new Error(`ledger of ${version}: expected attempt ${n} of ${shortName} for ${payload} posted, got ${JSON.stringify(attempt)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Follow-through: waits (up to 30 s) for the ledger to record the job's verdict. */
async function ledgerVerdict(ledgers: LedgerClient, version: string, payload: string, shortName: string, verdict: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const m = await ledgers.matrix(version);
    const got = m?.payloads.find((p) => p.name === payload)?.jobs.find((j) => j.shortName === shortName)?.verdict;
    if (got === verdict) return;
    if (Date.now() > until) throw new Error(`ledger of ${version}: expected ${shortName} ${verdict} for ${payload}, got ${got}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runPass(t: TestTemporal, config: WatcherConfig, workflowId: string, request: PassRequest): Promise<PassSummary> {
  const started = Date.now();
  const handle = await t.client.workflow.start(buildWatcher, {
    workflowId,
    taskQueue: config.taskQueue,
    args: [request],
  });
  const summary = await handle.result();
  const totals = Object.entries(summary.totals).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(`${workflowId}: ${totals} (${Date.now() - started} ms)\n`);
  return summary;
}

/** The recording is only worth keeping if the passes took the paths it is meant to cover. */
function expectVersion(summary: PassSummary, version: string, state: string): void {
  const v = summary.versions.find((x) => x.version === version);
  if (v?.state !== state) throw new Error(`${summary.workflowId}: expected ${version} ${state}, got ${v?.state}: ${v?.releaseError ?? ''}`);
}

function expectJobs(summary: PassSummary, version: string, expected: Record<string, Decision>): void {
  const v = summary.versions.find((x) => x.version === version);
  const got = Object.fromEntries((v?.jobs ?? []).map((j) => [j.shortName, j.decision]));
  for (const [shortName, decision] of Object.entries(expected)) {
    if (got[shortName] !== decision) {
      const detail = v?.jobs.find((j) => j.shortName === shortName)?.reason ?? v?.releaseError ?? '';
      throw new Error(`${summary.workflowId}: expected ${version} ${shortName} ${decision}, got ${got[shortName]} (${detail})`);
    }
  }
}

async function keep(t: TestTemporal, wanted: Wanted[]): Promise<void> {
  for (const w of wanted) {
    const handle = t.client.workflow.getHandle(w.workflowId);
    const description = await handle.describe();
    if (description.type !== w.workflowType) throw new Error(`${w.workflowId}: expected a ${w.workflowType}, found a ${description.type}`);
    if (description.status.name === 'RUNNING' && !w.running) throw new Error(`${w.workflowId}: still running`);
    // Pinned to the run just described: a trigger record's ID gets a new run when retried.
    const history = await t.client.workflow.getHandle(w.workflowId, description.runId).fetchHistory();
    recorded.push({ ...w, runId: description.runId, history: JSON.parse(historyToJSON(history)) });
  }
}

function write(): void {
  const files = recorded.map((r) => ({ file: `${r.name}.json`, text: `${JSON.stringify(r, null, 1)}\n`, r }));
  const total = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
  for (const f of files) {
    if (containsSecret(f.r, CANARY_TOKEN)) throw new Error(`${f.file}: the Gangway token is in the history; nothing written`);
  }
  if (total > MAX_TOTAL_BYTES) throw new Error(`histories total ${total} bytes, over ${MAX_TOTAL_BYTES}; nothing written`);

  mkdirSync(HISTORIES_DIR, { recursive: true });
  for (const old of readdirSync(HISTORIES_DIR)) if (old.endsWith('.json')) rmSync(path.join(HISTORIES_DIR, old));
  for (const f of files) {
    writeFileSync(path.join(HISTORIES_DIR, f.file), f.text);
    const events = (f.r.history as { events: unknown[] }).events.length;
    process.stdout.write(`wrote test/histories/${f.file}: ${f.r.workflowType}, ${events} events, ${Buffer.byteLength(f.text)} bytes\n`);
  }
  process.stdout.write(`${files.length} histories, ${total} bytes, no token in any of them\n`);
}

main().then(
  // The SDK runtime may keep handles open; the work is done.
  () => process.exit(0),
  (err) => {
    process.stderr.write(`record-histories failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);

import type { Command } from 'commander';
import type { JobTemplate, WatcherConfig } from '../config/load';
import type { VersionSpec } from '../domain/types';

// `osc-build-watcher config check [--discover] [--json]`: what the configuration resolves to,
// version by version, without Temporal. A bad file is a ConfigError: main prints its one line
// and exits 2. The configuration and the release controller's client are loaded when the command
// runs (the client only with --discover), not when the CLI starts.

export interface ConfigCheckOptions {
  /** Ask the release controller which streams it has now. */
  discover?: boolean;
  json?: boolean;
}

export interface ConfigCheckIo {
  out: (text: string) => void;
  /** The release controller's accepted streams (tests may pass their own). */
  acceptedStreams?: (config: WatcherConfig) => Promise<Record<string, string[] | null>>;
}

/** What `config check` found, also its `--json` output. */
export interface ConfigCheckResult {
  source: string;
  versionsFrom: string;
  streamTemplate: string;
  /** Versions listed in the configuration (none with `ocpVersions: discover`). */
  versions: CheckedVersion[];
  /** With `ocpVersions: discover`: the rule, and the job templates any discovered version gets. */
  discover?: { min: string; max?: string; jobs: JobTemplate[]; jobsFrom: string; jobsByVersion: string[] };
  /** With `--discover`: what the release controller has now. */
  releaseController?: {
    url: string;
    /** Discovered versions (with `ocpVersions: discover`). */
    versions?: CheckedVersion[];
    /** Matching streams outside discover.min..max. */
    skipped?: string[];
    /** Listed streams the release controller does not have. */
    unknownStreams?: string[];
  };
}

export interface CheckedVersion extends VersionSpec {
  /** `jobs in FILE`, `jobsByVersion in FILE` or `built-in defaults`. */
  jobsFrom: string;
  /** Accepted payloads the release controller has for the stream now (with `--discover`); null: none. */
  accepted?: number | null;
  /** With `--discover`: false when the release controller has no such stream. */
  onReleaseController?: boolean;
}

export async function checkConfig(config: WatcherConfig, options: ConfigCheckOptions, io: Pick<ConfigCheckIo, 'acceptedStreams'> = {}): Promise<ConfigCheckResult> {
  const jobsFrom = (version: string) =>
    config.jobTemplates.byVersion[version] ? `jobsByVersion in ${config.source}` : config.jobTemplates.allFrom;
  const result: ConfigCheckResult = {
    source: config.source,
    versionsFrom: config.versionsFrom,
    streamTemplate: config.streamTemplate,
    versions: config.versions.map((v) => ({ ...v, jobsFrom: jobsFrom(v.version) })),
  };
  if (config.discover) {
    result.discover = {
      ...config.discover,
      jobs: config.jobTemplates.all,
      jobsFrom: config.jobTemplates.allFrom,
      jobsByVersion: Object.keys(config.jobTemplates.byVersion),
    };
  }
  if (!options.discover) return result;

  const fetch =
    io.acceptedStreams ??
    (async (c: WatcherConfig) => {
      const { ReleaseControllerClient } = await import('../clients/releaseController');
      return new ReleaseControllerClient(c.endpoints.releaseController, c.httpTimeoutMs).acceptedStreams();
    });
  const accepted = await fetch(config);
  const seen = (v: CheckedVersion): CheckedVersion => ({ ...v, accepted: accepted[v.stream]?.length ?? null, onReleaseController: v.stream in accepted });
  const rc: NonNullable<ConfigCheckResult['releaseController']> = { url: config.endpoints.releaseController };
  if (config.discover && config.versions.length === 0) {
    const { discoverVersions } = await import('../config/load');
    const found = discoverVersions(config, accepted);
    rc.versions = found.versions.map((v) => seen({ ...v, jobsFrom: jobsFrom(v.version) }));
    rc.skipped = found.skipped;
  } else {
    result.versions = result.versions.map(seen);
    rc.unknownStreams = config.versions.filter((v) => !(v.stream in accepted)).map((v) => v.stream);
  }
  result.releaseController = rc;
  return result;
}

export function formatConfigCheck(r: ConfigCheckResult): string {
  const lines: string[] = [`Configuration: ${r.source}`, `Versions from: ${r.versionsFrom}`];
  if (r.discover) {
    const range = r.discover.max ? `from ${r.discover.min} to ${r.discover.max}` : `${r.discover.min} and newer`;
    lines.push(
      '',
      `Discovery: at each pass, every release controller stream named ${r.streamTemplate} for a version ${range}`,
      '  (from GET /api/v1/releasestreams/accepted; versions compare numerically: 4.9 < 4.17 < 5.0)',
      `Jobs of a discovered version (${r.discover.jobsFrom}; {version} = 4.21, {vv} = 421):`,
      ...r.discover.jobs.map((t) => `  ${t.name}  (${t.shortName})`),
    );
    if (r.discover.jobsByVersion.length > 0) lines.push(`Own job lists (jobsByVersion): ${r.discover.jobsByVersion.join(', ')}`);
  }
  const block = (v: CheckedVersion) => {
    const accepted =
      v.onReleaseController === false
        ? ', stream not on the release controller'
        : v.accepted === undefined
          ? ''
          : v.accepted === null
            ? ', no Accepted payload now'
            : `, ${v.accepted} Accepted payload(s) now`;
    lines.push('', `${v.version}  stream ${v.stream}  (${v.jobs.length} job(s) from ${v.jobsFrom}${accepted})`);
    for (const job of v.jobs) lines.push(`  ${job.name}  (${job.shortName})`);
  };
  r.versions.forEach(block);
  const rc = r.releaseController;
  if (rc) {
    lines.push('', `Release controller ${rc.url}:`);
    if (rc.versions) {
      lines.push(rc.versions.length > 0 ? `  would watch now: ${rc.versions.map((v) => v.version).join(', ')}` : '  would watch nothing now: no stream matches');
      if (rc.skipped && rc.skipped.length > 0) lines.push(`  outside the range: ${rc.skipped.join(', ')}`);
      rc.versions.forEach(block);
    } else if (rc.unknownStreams && rc.unknownStreams.length > 0) {
      lines.push(`  has no stream ${rc.unknownStreams.join(', ')}`);
    } else {
      lines.push('  has every listed stream');
    }
  }
  const versions = rc?.versions ?? r.versions;
  const jobs = versions.reduce((n, v) => n + v.jobs.length, 0);
  lines.push('', r.discover && !rc?.versions && r.versions.length === 0 ? 'OK (versions are discovered at run time; --discover shows them now)' : `OK: ${versions.length} version(s), ${jobs} job(s)`);
  return `${lines.join('\n')}\n`;
}

/** Registers `config check` on the program; the global `--config` names the file. */
export function registerConfigCommand(program: Command, io: ConfigCheckIo): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the configuration and print each version with its stream and jobs (exit 2 when invalid)')
    .option('--discover', "ask the release controller which of the configured streams it has (with ocpVersions: discover: which versions it would watch now)")
    .option('--json', 'print the resolution as JSON')
    .action(async (opts: ConfigCheckOptions) => {
      const path = program.opts<{ config?: string }>().config;
      const { loadConfig } = await import('../config/load');
      const loaded = loadConfig(path ? { configPath: path } : {});
      const result = await checkConfig(loaded, opts, io);
      io.out(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatConfigCheck(result));
    });
}

import type { PassSummary } from '../domain/types';
import { jobLine } from './report';

/** Turns successive summaries into one line per new fact, for a live log of the pass. */
export class ProgressPrinter {
  private readonly seen = new Set<string>();

  constructor(private readonly write: (line: string) => void) {}

  update(summary: PassSummary): void {
    if (summary.deck.state === 'ok') this.once('deck', `Deck: ${summary.deck.matched} runs of the watched jobs among ${summary.deck.scanned} ProwJobs`);
    if (summary.deck.state === 'unavailable') this.once('deck', `Deck unavailable: ${summary.deck.reason}`);
    for (const v of summary.versions) {
      if (v.release) this.once(`${v.version}/release`, `[${v.version}] latest accepted release ${v.release.name}`);
      if (v.state === 'no-release' || v.state === 'error') this.once(`${v.version}/release`, `[${v.version}] no release: ${v.releaseError}`);
      for (const job of v.jobs) {
        if (job.decision !== 'pending') this.once(`${v.version}/${job.job}`, `[${v.version}] ${job.shortName}: ${jobLine(job, v.release?.name)}`);
      }
    }
  }

  private once(key: string, line: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.write(line);
  }
}

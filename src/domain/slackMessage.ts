// A notification as Slack's incoming-webhook JSON: `text` (the notification and fallback line)
// and `blocks` (the same, laid out). The idempotency key is in the message too, so a receiver
// that only sees the body can still tell a repeat. Pure.
import type { NoticeJobRow, NotificationEvent } from './notifications';

export interface SlackMessage {
  text: string;
  blocks?: SlackBlock[];
}

export type SlackBlock =
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> };

/** Slack refuses a section text over 3000 characters. */
const MAX_SECTION = 2900;
const MAX_LINES = 40;

/** The tally's order, whatever the row's. */
const VERDICT_ORDER = ['success', 'failure', 'error', 'aborted', 'unknown', 'failed-to-trigger'];

const ICON: Record<string, string> = {
  success: ':white_check_mark:',
  failure: ':x:',
  error: ':warning:',
  aborted: ':warning:',
  unknown: ':grey_question:',
  'failed-to-trigger': ':no_entry:',
};

export function slackMessage(event: NotificationEvent): SlackMessage {
  const { title, lines } = describeEvent(event);
  const blocks: SlackBlock[] = [section(`*${esc(title)}*`)];
  if (lines.length) blocks.push(section(clipLines(lines)));
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `osc-build-watcher · key \`${esc(event.key)}\`` }] });
  return { text: `${title} [${event.key}]`, blocks };
}

/** The headline and the detail lines (Slack mrkdwn, already escaped). */
export function describeEvent(event: NotificationEvent): { title: string; lines: string[] } {
  switch (event.kind) {
    case 'payload-final': {
      const counts = new Map<string, number>();
      for (const j of event.jobs) counts.set(j.verdict, (counts.get(j.verdict) ?? 0) + 1);
      const order = (v: string) => (VERDICT_ORDER.indexOf(v) + 1 || VERDICT_ORDER.length + 1);
      const tally = [...counts].sort(([a], [b]) => order(a) - order(b)).map(([v, n]) => `${n} ${v}`).join(', ');
      const green = event.jobs.every((j) => j.verdict === 'success');
      return {
        title: `OCP ${event.version}: ${event.payload} ${green ? 'is green' : 'is not green'} on OSC (${tally})`,
        lines: event.jobs.map(jobLine),
      };
    }
    case 'retries-exhausted':
      return {
        title: `OCP ${event.version}: ${event.job.shortName} gave up on ${event.payload} after ${event.job.attempts} attempts (${event.job.verdict})`,
        lines: [jobLine(event.job)],
      };
    case 'pass-failed':
      return {
        title: `Build watcher pass ${event.passId} failed`,
        lines: [...event.reasons.slice(0, 10).map((r) => `• ${esc(r)}`), ...(event.reasons.length > 10 ? [`… and ${event.reasons.length - 10} more`] : [])],
      };
    case 'upstream-down':
      return {
        title: `${UPSTREAM_NAME[event.upstream]} unreachable for ${event.passes} passes in a row (since pass ${event.since})`,
        lines: event.reason ? [`Last error: ${esc(event.reason)}`] : [],
      };
  }
}

const UPSTREAM_NAME: Record<string, string> = { 'release-controller': 'Release controller', deck: 'Deck', gangway: 'Gangway' };

function jobLine(j: NoticeJobRow): string {
  const attempts = `attempts ${j.attempts}${j.maxAttempts !== undefined ? `/${j.maxAttempts}` : ''}`;
  const link = j.url ? ` <${j.url.replace(/[<>|]/g, encodeURIComponent)}|Prow>` : '';
  const reason = j.reason && j.verdict !== 'success' ? ` (${esc(j.reason)})` : '';
  return `${ICON[j.verdict] ?? ':hourglass:'} \`${esc(j.shortName)}\` ${j.verdict}, ${attempts}${link}${reason}`;
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function clipLines(lines: string[]): string {
  const shown = lines.slice(0, MAX_LINES);
  if (lines.length > MAX_LINES) shown.push(`… and ${lines.length - MAX_LINES} more`);
  const text = shown.join('\n');
  return text.length > MAX_SECTION ? `${text.slice(0, MAX_SECTION - 1)}…` : text;
}

/** Slack's three control characters in mrkdwn. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

import type { Scenario } from '../../src/simulators';
import { parseScenario } from '../../src/simulators/scenario';
import { CANARY_TOKEN, JOB_NAMES } from './config';

export const pullSpecOf = (tag: string) => `registry.ci.openshift.org/ocp/release:${tag}`;

/**
 * Three versions with an Accepted newest tag (4.20's newest tag is Rejected), an empty Deck.
 * `seed` makes the tag names unique: trigger records live in Temporal across tests.
 */
export function basicScenario(seed: number, extra: Record<string, unknown> = {}) {
  const t = String(seed).padStart(6, '0');
  const tags = {
    '4.19': `4.19.0-0.nightly-2026-11-23-${t}`,
    '4.20': `4.20.0-0.nightly-2026-11-22-${t}`,
    '4.21': `4.21.0-0.nightly-2026-11-24-${t}`,
  };
  const scenario: Scenario = parseScenario({
    releaseController: {
      streams: {
        // No Accepted tag yet: a normal state, not an error.
        '4.18.0-0.nightly': { tags: [{ name: `4.18.0-0.nightly-2026-11-23-${t}`, phase: 'Rejected' }] },
        '4.19.0-0.nightly': { tags: [{ name: tags['4.19'], phase: 'Accepted' }] },
        '4.20.0-0.nightly': {
          tags: [
            { name: `4.20.0-0.nightly-2026-11-23-${t}`, phase: 'Rejected' },
            { name: tags['4.20'], phase: 'Accepted' },
          ],
        },
        '4.21.0-0.nightly': { tags: [{ name: tags['4.21'], phase: 'Accepted' }] },
      },
    },
    gangway: { token: CANARY_TOKEN, periodicJobs: JOB_NAMES },
    ...extra,
  });
  return { scenario, tags };
}

export const VERSIONS = ['4.19', '4.20', '4.21'];

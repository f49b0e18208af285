// Imports run downward (README, "Where things are decided"): cli -> worker -> workflows ->
// activities -> clients -> domain, with config and the Temporal plumbing between the CLI and the
// clients. A module may import its own layer or a lower one, never a higher one; nothing but the
// simulators themselves imports the simulators (the image ships without them).
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { filesUnder } from './helpers/files';

const SRC = path.resolve(__dirname, '..', '..', 'src');

/** Higher imports lower. Files directly in src/ (worker.ts, metricsCollector.ts, workflowBundle.ts) are the worker layer. */
const RANK: Record<string, number> = {
  cli: 7,
  '(src)': 6,
  workflows: 5,
  activities: 4,
  temporal: 3,
  config: 3,
  clients: 2,
  domain: 1,
};

function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? '(src)' : rel[0]!;
}

const sources = (dir: string): string[] => filesUnder(dir).filter((p) => p.endsWith('.ts'));

/** `../activities` names the directory src/activities; `../worker` the file src/worker.ts. */
function target(from: string, spec: string): string {
  const resolved = path.resolve(path.dirname(from), spec);
  try {
    if (statSync(resolved).isDirectory()) return path.join(resolved, 'index.ts');
  } catch {
    // a file without its extension
  }
  return `${resolved}.ts`;
}

test('imports run downward, and only the simulators import the simulators', () => {
  const upward: string[] = [];
  const simulators: string[] = [];
  for (const file of sources(SRC)) {
    const from = layerOf(file);
    // Static imports and re-exports (`from '…'`), and the lazy ones (`import('…')`, `require('…')`).
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from |import\(|require\()'(\.[^']+)'/g)) {
      const to = layerOf(target(file, m[1]!));
      const rel = `${path.relative(SRC, file)} -> ${m[1]}`;
      if (to === 'simulators' && from !== 'simulators') simulators.push(rel);
      if (from === 'simulators' || to === 'simulators') continue;
      assert.ok(RANK[from] !== undefined && RANK[to] !== undefined, `a layer without a rank: ${rel} (${from} -> ${to})`);
      if (RANK[to]! > RANK[from]!) upward.push(`${rel} (${from} imports ${to})`);
    }
  }
  assert.deepEqual(upward, [], 'imports that go up a layer');
  assert.deepEqual(simulators, [], 'production code that imports the simulators');
});

test('the import check sees lazy imports too', () => {
  // The CLI loads most of its modules inside the command that needs them (src/cli/main.ts).
  const main = readFileSync(path.join(SRC, 'cli', 'main.ts'), 'utf8');
  const lazy = [...main.matchAll(/(?:from |import\(|require\()'(\.[^']+)'/g)].map((m) => m[1]);
  assert.ok(lazy.includes('./run') && lazy.includes('./session'), `main.ts's lazy imports are matched: ${lazy.join(', ')}`);
});

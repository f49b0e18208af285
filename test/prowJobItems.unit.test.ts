// Deck's answer split into its items (src/clients/prowJobItems.ts) against JSON.parse, the
// reference: random documents, cut into random chunks, then mutated one character at a time.
// Whatever JSON.parse accepts gives exactly its items; whatever it rejects is an error, never a
// shorter list. The seed is in the tests' names; PROWJOB_ITEMS_SEED replays a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { streamProwJobs } from '../src/clients/deckBody';
import { MAX_OUTSIDE_ITEMS } from '../src/clients/prowJobItems';
import { UpstreamError } from '../src/clients/errors';

const SEED = Number(process.env.PROWJOB_ITEMS_SEED ?? Date.now() % 1_000_000);

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** Text that exercises the string scanner: escapes, quotes, brackets and multi-byte characters. */
const TRICKY = ['plain', 'a "quoted" word', 'back\\slash', 'ends with \\', '[not] {an} "array",', 'café ✓ 🚀', '\u0000\u001f', 'items', '\\"', ''];

function value(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 3 || r < 0.3) return TRICKY[Math.floor(random() * TRICKY.length)];
  if (r < 0.4) return Math.floor(random() * 1e6) / (random() < 0.5 ? 1 : 7);
  if (r < 0.45) return random() < 0.5 ? null : random() < 0.5;
  if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 4); i > 0; i--) obj[TRICKY[Math.floor(random() * TRICKY.length)]! + i] = value(random, depth + 1);
  return obj;
}

/** A ProwJob list: mostly objects, at times other values; other members around `items`; Go's or pretty spacing. */
function documentText(random: () => number): string {
  const items = Array.from({ length: Math.floor(random() * 6) }, () => (random() < 0.8 ? { metadata: { name: `pj-${Math.floor(random() * 1000)}` }, spec: value(random, 1) } : value(random, 2)));
  const doc: Record<string, unknown> = {};
  if (random() < 0.3) doc.kind = 'List';
  if (random() < 0.3) doc.metadata = { items: ['not', 'these'], resourceVersion: '1' };
  doc.items = items;
  if (random() < 0.3) doc['items-count'] = items.length;
  const text = JSON.stringify(doc, null, random() < 0.3 ? 2 : undefined);
  return random() < 0.2 ? `var allBuilds = ${text};` : text;
}

function chunked(buf: Buffer, random: () => number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const size = random() < 0.3 ? 1 : 1 + Math.floor(random() * 64);
    parts.push(buf.subarray(i, i + size));
    i += size;
  }
  return Readable.from(parts);
}

/** What JSON.parse makes of the text (the var= wrapper taken off as the client does), or undefined when it rejects it. */
function reference(raw: string): { items?: unknown } | undefined {
  // As the bytes on the wire say it: a mutation can leave half an emoji, which UTF-8 cannot carry.
  const text = Buffer.from(raw).toString('utf8');
  const m = /^\s*var\s+[A-Za-z_$][\w$]*\s*=\s*([\s\S]*?);?\s*$/.exec(text);
  try {
    return JSON.parse(m ? m[1]! : text) as { items?: unknown };
  } catch {
    return undefined;
  }
}

async function split(text: string, random: () => number): Promise<{ items: unknown[] } | { error: UpstreamError }> {
  const items: unknown[] = [];
  try {
    const counted = await streamProwJobs(chunked(Buffer.from(text), random), (i) => items.push(i), 2000);
    assert.equal(counted.items, items.length);
    return { items };
  } catch (err) {
    assert.ok(err instanceof UpstreamError, String(err));
    return { error: err };
  }
}

test(`random documents in random chunks give JSON.parse's items (seed ${SEED})`, async () => {
  const random = rng(SEED);
  for (let n = 0; n < 300; n++) {
    const text = documentText(random);
    const got = await split(text, random);
    assert.ok('items' in got, `${text}: ${'error' in got ? got.error.message : ''}`);
    assert.deepEqual(got.items, reference(text)!.items, text);
  }
});

test(`one character changed, added or dropped: the items JSON.parse gives, or an error that is not retried (seed ${SEED})`, async () => {
  const random = rng(SEED + 1);
  const noise = ['"', '\\', '[', ']', '{', '}', ',', ':', ' ', '0', 'x', '\u00e9'];
  let rejected = 0;
  for (let n = 0; n < 600; n++) {
    const original = documentText(random);
    const at = Math.floor(random() * original.length);
    const r = random();
    const char = noise[Math.floor(random() * noise.length)]!;
    const text = r < 0.33 ? original.slice(0, at) + original.slice(at + 1) : r < 0.66 ? original.slice(0, at) + char + original.slice(at) : original.slice(0, at) + char + original.slice(at + 1);
    const expected = reference(text);
    const got = await split(text, random);
    const expectedItems = expected && typeof expected === 'object' && !Array.isArray(expected) && Array.isArray(expected.items) ? expected.items : undefined;
    if (expectedItems) {
      assert.ok('items' in got, `${JSON.stringify(text)}: JSON.parse takes it, the splitter said ${'error' in got ? got.error.message : ''}`);
      assert.deepEqual(got.items, expectedItems, JSON.stringify(text));
    } else {
      assert.ok('error' in got, `${JSON.stringify(text)}: JSON.parse rejects it (or it has no items list), the splitter gave ${JSON.stringify('items' in got ? got.items : '')}`);
      assert.equal(got.error.retryable, false, got.error.message);
      assert.match(got.error.message, /not valid JSON|no "items" list|neither JSON|empty body/);
      rejected++;
    }
  }
  assert.ok(rejected > 100, `only ${rejected} of 600 mutations were invalid: the test would not notice a lenient splitter`);
});

test('the items key written with an escape is the items key, as for JSON.parse', async () => {
  const got = await split('{"it\\u0065ms": [{"a": 1}], "items\\u0000": [2]}', rng(SEED + 4));
  assert.deepEqual(got, { items: [{ a: 1 }] });
});

test('a document with more than 1 MB outside its items is refused, without holding it', async () => {
  const text = `{"note": "${'x'.repeat(MAX_OUTSIDE_ITEMS)}", "items": []}`;
  const got = await split(text, rng(SEED + 2));
  assert.ok('error' in got);
  assert.match(got.error.message, /not a ProwJob list: more than 1 MB of it outside its "items"/);
  assert.equal(got.error.retryable, false);
});

test('thousands of items: each parsed once, in order', async () => {
  const items = Array.from({ length: 5000 }, (_, i) => ({ metadata: { name: `pj-${i}`, labels: { 'a/b': `"${i}"` } }, status: { state: i % 2 ? 'success' : 'failure' } }));
  const got = await split(JSON.stringify({ items }), rng(SEED + 3));
  assert.ok('items' in got);
  assert.deepEqual(got.items, items);
});

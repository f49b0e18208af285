// The pass's batching of ledger Updates (src/workflows/batcher.ts), without a server: the first
// request goes at once, those that arrive while it is in flight go together next, each caller
// gets its own answer, and a failed call answers each of its requests with the error.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Batcher } from '../src/workflows/batcher';

describe('Batcher', () => {
  test('one call in flight; what arrives meanwhile goes in the next call, answers in order', async () => {
    const calls: number[][] = [];
    const releases: Array<() => void> = [];
    const batcher = new Batcher<number, string>(
      (requests) => {
        calls.push(requests);
        return new Promise((resolve) => releases.push(() => resolve(requests.map((r) => `answer ${r}`))));
      },
      () => 'error',
    );
    const first = batcher.submit(1);
    const second = batcher.submit(2);
    const third = batcher.submit(3);
    assert.deepEqual(calls, [[1]]);
    releases.shift()!();
    assert.equal(await first, 'answer 1');
    assert.deepEqual(calls, [[1], [2, 3]]);
    releases.shift()!();
    assert.deepEqual(await Promise.all([second, third]), ['answer 2', 'answer 3']);
    // Idle again: the next request goes at once.
    const fourth = batcher.submit(4);
    assert.deepEqual(calls.at(-1), [4]);
    releases.shift()!();
    assert.equal(await fourth, 'answer 4');
  });

  test('at most maxBatch requests per call; the rest go in the next, in order', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<number, number>(
      async (requests) => {
        calls.push(requests);
        if (calls.length === 1) await gate;
        return requests.map((r) => r * 10);
      },
      () => -1,
      2,
    );
    const all = Promise.all([1, 2, 3, 4, 5, 6].map((n) => batcher.submit(n)));
    release();
    assert.deepEqual(await all, [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(calls, [[1], [2, 3], [4, 5], [6]]);
  });

  test('a failed call, or one answering the wrong count, answers each of its requests with onError; the next call goes on', async () => {
    let n = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<string, string>(
      async (requests) => {
        n++;
        if (n === 1) {
          await gate;
          throw new Error('ledger away');
        }
        if (n === 2) return ['only one'];
        return requests.map((r) => `ok ${r}`);
      },
      (err) => `failed: ${(err as Error).message}`,
    );
    const a = batcher.submit('a');
    const bc = Promise.all([batcher.submit('b'), batcher.submit('c')]);
    release();
    assert.equal(await a, 'failed: ledger away');
    assert.deepEqual(await bc, ['failed: expected 2 answers, got 1', 'failed: expected 2 answers, got 1']);
    assert.equal(await batcher.submit('d'), 'ok d');
    assert.equal(n, 3);
  });
});

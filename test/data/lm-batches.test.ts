import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalWindows, randomWindows } from '../../src/data/lm-batches.js';
import type { LmBatch } from '../../src/data/lm-batches.js';

// Ids equal to their positions, so a window's values say exactly where it came from.
const positions = (n: number): Uint16Array => Uint16Array.from({ length: n }, (_, i) => i);

const rows = (t: LmBatch['x']): number[][] => t.toArray() as number[][];

test('random windows: (B, T) int64, y is x shifted by one, every window inside the tokens', () => {
  const tokens = positions(50);
  const sampler = randomWindows(tokens, { blockSize: 8, batchSize: 4, seed: 1 });
  const starts = new Set<number>();
  for (let step = 0; step < 200; step++) {
    const { x, y } = sampler.next();
    assert.deepEqual(x.shape, [4, 8]);
    assert.deepEqual(y.shape, [4, 8]);
    assert.equal(x.dtype, 'int64');
    assert.equal(y.dtype, 'int64');
    const xs = rows(x);
    const ys = rows(y);
    for (let b = 0; b < 4; b++) {
      const start = xs[b]![0]!;
      starts.add(start);
      assert.deepEqual(xs[b], Array.from({ length: 8 }, (_, t) => start + t));
      assert.deepEqual(ys[b], Array.from({ length: 8 }, (_, t) => start + t + 1));
      assert.ok(start >= 0 && start + 8 <= 49, `window at ${start} runs past the last token`);
    }
  }
  // 800 draws over the 42 possible starts [0, 41]: both ends are reached.
  assert.ok(starts.has(0) && starts.has(41) && starts.size === 42, `${[...starts].sort((a, b) => a - b)}`);
  assert.equal(sampler.step, 200);
});

test('random windows: the same seed gives the same batches, another seed others', () => {
  const tokens = positions(1000);
  const draw = (seed: number): number[][][] => {
    const sampler = randomWindows(tokens, { blockSize: 16, batchSize: 3, seed });
    return Array.from({ length: 5 }, () => rows(sampler.next().x));
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
  const sampler = randomWindows(tokens, { blockSize: 16, batchSize: 3, seed: 7 });
  assert.notDeepEqual(sampler.startsAt(0), sampler.startsAt(1));
});

test('random windows: a saved state continues exactly where the run stopped', () => {
  const tokens = Uint32Array.from({ length: 5000 }, (_, i) => (i * 7919) % 100_003);
  const options = { blockSize: 32, batchSize: 4, seed: 123 };
  const uninterrupted = randomWindows(tokens, options);
  const expected = Array.from({ length: 10 }, () => rows(uninterrupted.next().y));

  const first = randomWindows(tokens, options);
  for (let i = 0; i < 6; i++) first.next();
  const saved = JSON.parse(JSON.stringify(first.state())) as { seed: number; step: number };
  assert.deepEqual(saved, { seed: 123, step: 6 });

  const resumed = randomWindows(tokens, { blockSize: 32, batchSize: 4, state: saved });
  assert.deepEqual(Array.from({ length: 4 }, () => rows(resumed.next().y)), expected.slice(6));
  const restored = randomWindows(tokens, options);
  restored.restore({ seed: 123, step: 2 });
  assert.deepEqual(rows(restored.next().y), expected[2]);
  assert.throws(() => restored.restore({ seed: 5, step: 0 }), /saved state has seed 5 but this sampler has seed 123/);
  assert.throws(() => randomWindows(tokens, { ...options, seed: 1, state: saved }), /contradicts the restored state's seed/);
});

test('eval windows: sequential, non-overlapping, covering the tokens in order', () => {
  const val = positions(103); // 102 predictable ids → floor(102 / 10) = 10 windows of T = 10
  const windows = evalWindows(val, { blockSize: 10, batchSize: 4 });
  const batches = [...windows];
  assert.equal(windows.length, 3);
  assert.equal(windows.windows, 10);
  assert.deepEqual(batches.map((b) => b.x.shape), [[4, 10], [4, 10], [2, 10]]);
  const xs = batches.flatMap((b) => rows(b.x)).flat();
  const ys = batches.flatMap((b) => rows(b.y)).flat();
  assert.deepEqual(xs, Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(ys, Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual([...windows].map((b) => b.x.shape[0]), [4, 4, 2], 'iterating again starts over');

  const capped = evalWindows(val, { blockSize: 10, batchSize: 4, maxBatches: 2 });
  assert.equal(capped.length, 2);
  assert.deepEqual([...capped].flatMap((b) => rows(b.x)).flat(), Array.from({ length: 80 }, (_, i) => i));
  // Exactly blockSize + 1 tokens make one window.
  assert.deepEqual(rows([...evalWindows(positions(11), { blockSize: 10, batchSize: 4 })][0]!.y)[0], Array.from({ length: 10 }, (_, i) => i + 1));
});

test('too few tokens and bad sizes are clear errors', () => {
  assert.throws(() => randomWindows(positions(8), { blockSize: 8, batchSize: 2 }), /8 tokens are too few for one window of blockSize 8 \(needs blockSize \+ 1 = 9\)/);
  assert.throws(() => evalWindows(positions(5), { blockSize: 8, batchSize: 2 }), /evalWindows: 5 tokens are too few/);
  assert.throws(() => randomWindows(positions(100), { blockSize: 0, batchSize: 2 }), /blockSize must be a positive integer/);
  assert.throws(() => evalWindows(positions(100), { blockSize: 4, batchSize: 2.5 }), /batchSize must be a positive integer/);
  assert.throws(() => evalWindows(positions(100), { blockSize: 4, batchSize: 2, maxBatches: 0 }), /maxBatches must be a positive integer/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, SeededRandom, TensorDataset, arange, tensor } from '../../src/index.js';

test('batches cover the dataset once, in order without shuffle', () => {
  const data = new TensorDataset(arange(10).view(10, 1), arange(10));
  const loader = new DataLoader(data, { batchSize: 4 });
  const batches = [...loader];
  assert.equal(loader.length, 3);
  assert.deepEqual(batches.map(([, y]) => y!.toArray()), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(batches[0]![0]!.shape, [4, 1]);
});

test('shuffling is seeded, differs per pass, and dropLast drops the remainder', () => {
  const data = new TensorDataset(arange(10));
  const order = (seed: number): number[][] => {
    const loader = new DataLoader(data, { batchSize: 3, shuffle: true, seed, dropLast: true });
    return [0, 1].map(() => [...loader].flatMap(([x]) => x!.toArray() as number[]));
  };
  const [first, second] = order(5);
  assert.deepEqual(order(5), [first, second]);
  assert.notDeepEqual(first, second);
  assert.equal(first!.length, 9);
  assert.equal(new Set(first).size, 9);
});

test('datasets without a batch method are collated by stacking', () => {
  const items = [tensor([1, 2]), tensor([3, 4]), tensor([5, 6])];
  const dataset = { length: 3, get: (i: number) => ({ x: items[i]!, id: i }) };
  const [batch] = [...new DataLoader(dataset, { batchSize: 3 })];
  assert.deepEqual(batch!.x.toArray(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(batch!.id, [0, 1, 2]);
});

test('bad inputs are clear errors', () => {
  assert.throws(() => new TensorDataset(arange(3), arange(4)), /same first dim/);
  assert.throws(() => new DataLoader(new TensorDataset(arange(3)), { batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(() => new TensorDataset(arange(3)).get(3), /outside \[0, 3\)/);
});

test('SeededRandom permutations are uniform enough', () => {
  const random = new SeededRandom(1);
  const firstCounts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) firstCounts[random.permutation(4)[0]!]!++;
  for (const c of firstCounts) assert.ok(Math.abs(c - 1000) < 120, `counts ${firstCounts}`);
});

// Creation, dtypes, conversion and printing, checked against closed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arange, eye, full, fullLike, getRngState, linspace, manualSeed, setRngState, ones, rand, randint, randn, randperm, tensor, zeros, zerosLike,
} from '../../src/index.js';

test('tensor() infers dtypes like PyTorch', () => {
  assert.equal(tensor([1, 2, 3]).dtype, 'int64');
  assert.equal(tensor([1.5, 2]).dtype, 'float32');
  assert.equal(tensor([true, false]).dtype, 'bool');
  assert.equal(tensor(new Float64Array([1])).dtype, 'float64');
  assert.equal(tensor(new Int32Array([1])).dtype, 'int32');
  assert.equal(tensor(new Uint8Array([1])).dtype, 'uint8');
  assert.equal(tensor(3.5).dtype, 'float32');
  assert.deepEqual(tensor(3.5).shape, []);
});

test('nested arrays keep their shape and values', () => {
  const t = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], { dtype: 'float64' });
  assert.deepEqual(t.shape, [2, 2, 2]);
  assert.deepEqual(t.toArray(), [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
  assert.equal(t.numel(), 8);
});

test('typed arrays with a shape, and typed-array export per dtype', () => {
  const t = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.ok(t.toTypedArray() instanceof Float32Array);
  assert.ok(t.to('int64').toTypedArray() instanceof BigInt64Array);
  assert.ok(t.to('int32').toTypedArray() instanceof Int32Array);
  assert.ok(t.to('bool').toTypedArray() instanceof Uint8Array);
  assert.ok(t.to('float64').toTypedArray() instanceof Float64Array);
  assert.ok(t.to('float16').toTypedArray() instanceof Float32Array);
});

test('int64 values beyond 2^31 survive a round trip', () => {
  const big = 2 ** 40 + 3;
  assert.equal(tensor([big]).item(), big);
  assert.equal(tensor(new BigInt64Array([2n ** 50n])).toTypedArray()[0], 2n ** 50n);
});

test('half precision rounds as IEEE float16 and bfloat16 do', () => {
  // 1 + 2^-11 is halfway between float16 neighbours 1 and 1 + 2^-10: ties to even -> 1.
  assert.equal(tensor([1 + 2 ** -11], { dtype: 'float16' }).item(), 1);
  assert.equal(tensor([1 + 2 ** -10], { dtype: 'float16' }).item(), 1 + 2 ** -10);
  // bfloat16 keeps 8 significant bits: 1 + 2^-7 is representable, 1 + 2^-9 is not.
  assert.equal(tensor([1 + 2 ** -7], { dtype: 'bfloat16' }).item(), 1 + 2 ** -7);
  assert.equal(tensor([1 + 2 ** -9], { dtype: 'bfloat16' }).item(), 1);
  assert.equal(tensor([65504], { dtype: 'float16' }).item(), 65504);
});

test('filled tensors', () => {
  assert.deepEqual(zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
  assert.deepEqual(ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
  assert.deepEqual(full([2], 7.5).toArray(), [7.5, 7.5]);
  assert.deepEqual(eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
  const like = zerosLike(tensor([[1, 2]], { dtype: 'float64' }));
  assert.equal(like.dtype, 'float64');
  assert.deepEqual(like.shape, [1, 2]);
  assert.equal(fullLike(like, 2).sum().item(), 4);
});

test('ranges', () => {
  assert.deepEqual(arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(arange(4).dtype, 'int64');
  assert.deepEqual(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(arange(10, 0, -3).toArray(), [10, 7, 4, 1]);
});

test('manualSeed makes random draws reproducible', () => {
  manualSeed(42);
  const a = randn([5]).toArray();
  manualSeed(42);
  const b = randn([5]).toArray();
  assert.deepEqual(a, b);
  assert.notDeepEqual(randn([5]).toArray(), a);
});

test('getRngState/setRngState replay the same random numbers', () => {
  manualSeed(5);
  randn([3]);
  const state = getRngState();
  const first = [randn([4]).toArray(), rand([2]).toArray(), randint(0, 100, [3]).toArray()];
  randn([10]);
  setRngState(state);
  const again = [randn([4]).toArray(), rand([2]).toArray(), randint(0, 100, [3]).toArray()];
  assert.deepEqual(again, first);
  assert.equal(state.dtype, 'uint8');
  assert.throws(() => setRngState(randn([4])), /setRngState needs a uint8 vector/);
});

test('random tensors have the right ranges and moments', () => {
  manualSeed(0);
  const u = rand([20000], { dtype: 'float64' });
  assert.ok(u.min().item() >= 0 && u.max().item() < 1);
  assert.ok(Math.abs(u.mean().item() - 0.5) < 0.01);
  const n = randn([20000], { dtype: 'float64' });
  assert.ok(Math.abs(n.mean().item()) < 0.03);
  assert.ok(Math.abs(n.std().item() - 1) < 0.03);
  const r = randint(3, 7, [1000]);
  assert.equal(r.dtype, 'int64');
  assert.ok(r.min().item() >= 3 && r.max().item() <= 6);
  assert.deepEqual((randperm(6).sort().values.toArray()), [0, 1, 2, 3, 4, 5]);
});

test('toString looks like PyTorch and summarises large tensors', () => {
  assert.equal(tensor([[1, 2], [3, 4]], { dtype: 'float32' }).toString(),
    'tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], dtype=float32)');
  assert.equal(tensor([1, 2]).toString(), 'tensor([1, 2], dtype=int64)');
  const big = zeros([100, 100]).toString();
  assert.match(big, /shape=\[100, 100\]/);
  assert.ok(big.includes('...'));
  assert.ok(big.length < 1000);
});

test('to() casts and copies', () => {
  const t = tensor([1.7, -1.7]);
  assert.deepEqual(t.to('int64').toArray(), [1, -1]);
  // Without copy, a no-op cast shares memory (as in PyTorch); with copy it does not.
  t.to('float32').mul_(2);
  assert.equal(t.sum().item(), 0);
  assert.ok(Math.abs((t.toArray() as number[])[0]! - 3.4) < 1e-6);
  t.to({ dtype: 'float32', copy: true }).fill_(0);
  assert.ok(Math.abs((t.toArray() as number[])[0]! - 3.4) < 1e-6);
});

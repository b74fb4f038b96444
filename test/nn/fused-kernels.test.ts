/**
 * Kiln's fused CPU kernels (native/src/fused_ops.cc) — GELU's tanh form, causal attention,
 * cross-entropy from logits — against their ATen references and against PyTorch:
 * test/fixtures/fused.json holds PyTorch 1.13's values on the same inputs (written by
 * test/fixtures/fused_reference.py), in float32 and bf16, with float64 values for how close
 * float32 can be. Every vector width the CPU has (AVX-512, AVX2) is run and must give the same
 * bits; without AVX2 the fused ops are their references.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/tensor/native.js';
import { manualSeed, randn, tensor } from '../../src/tensor/creation.js';
import { grad, noGrad } from '../../src/tensor/autograd.js';
import { attentionReference, crossEntropy, crossEntropyReference, linear, mseLoss, scaledDotProductAttention } from '../../src/nn/functional.js';
import { autocast } from '../../src/tensor/autocast.js';
import { scope } from '../../src/tensor/scope.js';
import { profile } from '../../src/tensor/profile.js';
import { Linear } from '../../src/nn/linear.js';
import { ReLU, Sequential } from '../../src/nn/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import type { Reduction } from '../../src/nn/functional.js';
import {
  type VectorLevel,
  geluReference,
  geluTanhBackward,
  geluTanhBackwardReference,
  cpuHasBf16Products,
  setFusedKernels,
  setVectorLevel,
} from '../../src/tensor/fused.js';
import type { DType } from '../../src/tensor/dtype.js';
import type { Tensor } from '../../src/tensor/tensor.js';

interface GeluFixture {
  x: number[];
  g: number[];
  float32: { y: number[]; dx: number[] };
  bfloat16: { y: number[]; dx: number[] };
  y64: number[];
  dx64: number[];
}

interface AttentionFixture {
  shape: number[];
  q: number[];
  k: number[];
  v: number[];
  g: number[];
  out: number[];
  dq: number[];
  dk: number[];
  dv: number[];
}

/** The same in bf16, with PyTorch's bf16 attention beside the float64 values. */
interface AttentionBf16Fixture extends AttentionFixture {
  torch_out: number[];
  torch_dq: number[];
  torch_dk: number[];
  torch_dv: number[];
}

interface CrossEntropyFixture {
  shape: [number, number];
  logits: number[];
  target: number[];
  g: number[];
  mean: { loss: number[]; grad: number[] };
  sum: { loss: number[]; grad: number[] };
  none: { loss: number[]; grad: number[] };
}

const fixture = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'fused.json'), 'utf8')) as {
  gelu_tanh: GeluFixture;
  causal_attention: AttentionFixture;
  causal_attention_bf16: AttentionBf16Fixture;
  cross_entropy: CrossEntropyFixture;
};

const values = (t: Tensor): number[] => Array.from(t.to('float32').flatten().toArray() as number[]);

/** The largest |a − b| / (atol + rtol·|b|); ≤ 1 means within tolerance. */
function worst(a: number[], b: number[], atol: number, rtol: number): number {
  assert.equal(a.length, b.length);
  let w = 0;
  a.forEach((v, i) => {
    w = Math.max(w, Math.abs(v - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  });
  return w;
}

/**
 * The vector widths the fused kernels run at on this CPU: AVX-512 and AVX2 where it has
 * AVX-512, AVX2 where it has AVX2. (At the baseline width, 0, every fused op is its ATen
 * reference: tested below.)
 */
function levels(): VectorLevel[] {
  const top = setVectorLevel();
  return ([2, 1] as VectorLevel[]).filter((l) => l <= top);
}

function atLevel<T>(level: VectorLevel, fn: () => T): T {
  const before = setVectorLevel(level);
  try {
    return fn();
  } finally {
    setVectorLevel(before);
  }
}

function geluForwardBackward(dtype: DType): { y: number[]; dx: number[] } {
  const f = fixture.gelu_tanh;
  const x = tensor(f.x).to(dtype).requiresGrad_(true);
  const y = x.gelu('tanh');
  y.backward(tensor(f.g).to(dtype));
  return { y: values(y), dx: values(x.grad!) };
}

test('fused GELU (tanh): float32 matches PyTorch and the float64 values', () => {
  const f = fixture.gelu_tanh;
  for (const level of levels()) {
    const { y, dx } = atLevel(level, () => geluForwardBackward('float32'));
    // PyTorch's ½x(1 + tanh u) loses digits where 1 + tanh u cancels (x ≪ 0); Kiln's x·σ(2u) does not
    assert.ok(worst(y, f.float32.y, 1e-6, 1e-5) <= 1, `level ${level}: forward vs PyTorch`);
    assert.ok(worst(dx, f.float32.dx, 1e-6, 1e-5) <= 1, `level ${level}: backward vs PyTorch`);
    assert.ok(worst(y, f.y64, 1e-7, 1e-6) <= 1, `level ${level}: forward vs float64`);
    assert.ok(worst(dx, f.dx64, 1e-7, 1e-5) <= 1, `level ${level}: backward vs float64`);
  }
});

test('fused GELU (tanh): bf16 is the float64 value rounded once, closer than PyTorch 1.13\'s bf16', () => {
  const f = fixture.gelu_tanh;
  const distance = (got: number[], truth: number[]): number => got.reduce((sum, v, i) => sum + Math.abs(v - truth[i]!), 0);
  for (const level of levels()) {
    const { y, dx } = atLevel(level, () => geluForwardBackward('bfloat16'));
    // the kernel computes in float32 from the bf16 inputs and rounds once (8 bits: 2^-8 relative);
    // the float64 values are of the float32 inputs, which the bf16 cast moved by another 2^-9
    const x16 = values(tensor(f.x).to('bfloat16'));
    const truth16 = values(geluReference(tensor(x16, { dtype: 'float64' }), 'tanh'));
    // (float64's own ½x(1 + tanh u) is 0 where the true value is below ~1e-16)
    assert.ok(worst(y, truth16, 1e-15, 2 ** -8 + 1e-6) <= 1, `level ${level}: forward`);
    // PyTorch 1.13 rounds to bf16 between its steps: at x = -3 it gives -0.00586 for -0.00364
    assert.ok(distance(y, f.y64) < distance(f.bfloat16.y, f.y64), `level ${level}: forward no closer than PyTorch's`);
    assert.ok(distance(dx, f.dx64) < distance(f.bfloat16.dx, f.dx64), `level ${level}: backward no closer than PyTorch's`);
  }
});

test('fused GELU (tanh) against its ATen reference on a large tensor; bf16 is float32 rounded; every vector width the same bits', () => {
  manualSeed(5);
  const x = randn([300, 257]).mul(3); // 77,100 elements: split across threads
  const g = randn([300, 257]);
  const x16 = x.to('bfloat16');
  const g16 = g.to('bfloat16');
  for (const level of levels()) {
    atLevel(level, () => {
      // float32: ATen's ½x(1 + tanh u) and its backward lose up to ~1e-5 where tanh saturates
      assert.ok(worst(values(x.gelu('tanh')), values(geluReference(x, 'tanh')), 1e-6, 1e-5) <= 1, `level ${level}: forward`);
      assert.ok(worst(values(geluTanhBackward(g, x)), values(geluTanhBackwardReference(g, x)), 1e-5, 1e-5) <= 1, `level ${level}: backward`);
      // bf16: the float32 computation on the same (bf16) inputs, rounded to bf16 once
      const x32 = x16.to('float32');
      const g32 = g16.to('float32');
      assert.deepEqual(values(x16.gelu('tanh')), values(x32.gelu('tanh').to('bfloat16')), `level ${level}: bf16 forward`);
      assert.deepEqual(values(geluTanhBackward(g16, x16)), values(geluTanhBackward(g32, x32).to('bfloat16')), `level ${level}: bf16 backward`);
    });
  }
  // AVX-512 and AVX2 give identical floats (no FMA contraction, IEEE division)
  const byWidth = levels()
    .filter((l) => l >= 1)
    .map((level) => atLevel(level, () => [values(x.gelu('tanh')), values(geluTanhBackward(g, x))]));
  for (const got of byWidth.slice(1)) assert.deepEqual(got, byWidth[0]);
});

test('fused GELU (tanh): switched off, and on the baseline width, it is ATen bit for bit', () => {
  manualSeed(6);
  const x = randn([64, 33]).mul(3);
  const ref = values(geluReference(x, 'tanh'));
  const before = setFusedKernels(false);
  try {
    assert.deepEqual(values(x.gelu('tanh')), ref);
  } finally {
    setFusedKernels(before);
  }
  assert.equal(setFusedKernels(before), before);
  assert.deepEqual(atLevel(0, () => values(x.gelu('tanh'))), ref);
  // on, with AVX2 or wider, it is the fused kernel: not bit-equal to ATen everywhere
  if (setVectorLevel() >= 1) assert.notDeepEqual(values(x.gelu('tanh')), ref);
});

test('fused GELU (tanh): NaN propagates, saturation is exact, float64 and non-contiguous inputs work', () => {
  const y = values(tensor([Number.NaN, Number.POSITIVE_INFINITY, 100, -100, 0]).gelu('tanh'));
  assert.ok(Number.isNaN(y[0]));
  assert.deepEqual(y.slice(1), [Number.POSITIVE_INFINITY, 100, -0, 0]); // σ is exactly 0 or 1 far out
  manualSeed(8);
  const x64 = randn([5, 7], { dtype: 'float64' });
  assert.deepEqual(x64.gelu('tanh').toArray(), geluReference(x64, 'tanh').toArray()); // float64: ATen's
  const xt = randn([40, 30]).transpose(0, 1); // non-contiguous
  assert.ok(worst(values(xt.gelu('tanh')), values(geluReference(xt, 'tanh')), 1e-6, 1e-5) <= 1);
  assert.deepEqual(xt.gelu('tanh').shape, [30, 40]);
});

test('fused GELU (tanh): the gradient of the gradient (createGraph) is ATen\'s', () => {
  manualSeed(9);
  const run = (fused: boolean): number[] => {
    const before = setFusedKernels(fused);
    try {
      const x = randn([6, 5], { dtype: 'float32' }).mul(2).requiresGrad_(true);
      const [dx] = grad(x.gelu('tanh').sum(), x, { createGraph: true });
      const [ddx] = grad(dx!.mul(dx!).sum(), x);
      return values(ddx!);
    } finally {
      setFusedKernels(before);
    }
  };
  manualSeed(9);
  const fused = run(true);
  manualSeed(9);
  const reference = run(false);
  assert.ok(worst(fused, reference, 1e-6, 1e-5) <= 1);
  assert.ok(fused.some((v) => Math.abs(v) > 1e-3));
});

// ---- causal self-attention ----

/** Causal attention's output and the gradients of (output · g).sum() for q, k, v (B, H, L, E). */
function attend(
  q0: Tensor,
  k0: Tensor,
  v0: Tensor,
  g: Tensor,
  run: (q: Tensor, k: Tensor, v: Tensor) => Tensor = (q, k, v) => scaledDotProductAttention(q, k, v, { isCausal: true }),
): { out: number[]; dq: number[]; dk: number[]; dv: number[] } {
  const [q, k, v] = [q0, k0, v0].map((t) => t.detach().requiresGrad_(true)) as [Tensor, Tensor, Tensor];
  const out = run(q, k, v);
  out.backward(g);
  return { out: values(out), dq: values(q.grad!), dk: values(k.grad!), dv: values(v.grad!) };
}

const reference = (q: Tensor, k: Tensor, v: Tensor): Tensor => attentionReference(q, k, v, { isCausal: true });

test('fused causal attention: float32 output and gradients match PyTorch\'s (float64) values', () => {
  const f = fixture.causal_attention;
  const [q, k, v, g] = [f.q, f.k, f.v, f.g].map((xs) => tensor(xs).view(f.shape)) as [Tensor, Tensor, Tensor, Tensor];
  for (const level of levels()) {
    const got = atLevel(level, () => attend(q, k, v, g));
    const composed = atLevel(level, () => attend(q, k, v, g, reference));
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
      assert.ok(worst(got[key], f[key], 1e-5, 1e-4) <= 1, `level ${level}: ${key} vs PyTorch`);
      // no less accurate than ATen's composition in float32
      const error = (xs: number[]): number => xs.reduce((sum, x, i) => sum + Math.abs(x - f[key][i]!), 0);
      assert.ok(error(got[key]) <= 1.5 * error(composed[key]), `level ${level}: ${key} less accurate than the composition`);
    }
  }
});

test('bf16 causal attention (oneDNN\'s products where the CPU has bf16 dot products, else the fused kernel) is as close to the float64 values as PyTorch\'s bf16 attention', () => {
  const f = fixture.causal_attention_bf16;
  const [q, k, v, g] = [f.q, f.k, f.v, f.g].map((xs) => tensor(xs).view(f.shape).to('bfloat16')) as [Tensor, Tensor, Tensor, Tensor];
  const error = (xs: number[], want: number[]): number => xs.reduce((sum, x, i) => sum + Math.abs(x - want[i]!), 0);
  for (const level of levels()) {
    const got = atLevel(level, () => attend(q, k, v, g));
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
      const torch = f[`torch_${key}`];
      assert.ok(worst(got[key], f[key], 2e-2, 2 ** -7) <= 1, `level ${level}: ${key} vs the float64 values`);
      // PyTorch's bf16 attention rounds the scores, their scaled copy and the probabilities to bf16;
      // Kiln rounds the scores and the probabilities
      assert.ok(error(got[key], f[key]) <= 1.05 * error(torch, f[key]), `level ${level}: ${key} less accurate than PyTorch's bf16 (${error(got[key], f[key])} vs ${error(torch, f[key])})`);
    }
  }
});

test('fused attention, causal and not, from packed heads (non-contiguous views), bf16, and every vector width the same bits', () => {
  manualSeed(11);
  const [B, T, H, E] = [3, 50, 4, 24]; // T and E not multiples of 16: the kernel's padding
  const qkv = randn([B, T, 3 * H * E]);
  const heads = (x: Tensor): Tensor[] => x.split(H * E, -1).map((t) => t.view(B, T, H, E).transpose(1, 2));
  const g = randn([B, H, T, E]);
  for (const isCausal of [true, false]) {
    for (const dtype of ['float32', 'bfloat16'] as DType[]) {
      const [q, k, v] = heads(qkv.to(dtype)) as [Tensor, Tensor, Tensor];
      const gd = g.to(dtype);
      // the reference in float32 on the same (rounded) inputs
      const [q32, k32, v32] = [q, k, v].map((t) => t.to('float32')) as [Tensor, Tensor, Tensor];
      const want = attend(q32, k32, v32, gd.to('float32'), (a, b, c) => attentionReference(a, b, c, { isCausal }));
      const tol = dtype === 'float32' ? [1e-5, 1e-4] : [2e-2, 2 ** -7];
      const byWidth = levels().map((level) => atLevel(level, () => attend(q, k, v, gd, (a, b, c) => scaledDotProductAttention(a, b, c, { isCausal }))));
      for (const got of byWidth) {
        for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
          assert.ok(worst(got[key], want[key], tol[0]!, tol[1]!) <= 1, `causal ${isCausal} ${dtype} ${key}`);
        }
      }
      for (const got of byWidth.slice(1)) assert.deepEqual(got, byWidth[0], `causal ${isCausal} ${dtype}: vector widths differ`);
    }
  }
  // the output is laid out (B, T, H, E): merging the heads back copies nothing
  const [q, k, v] = heads(qkv) as [Tensor, Tensor, Tensor];
  const y = scaledDotProductAttention(q, k, v, { isCausal: true });
  assert.deepEqual(y.shape, [B, H, T, E]);
  if (levels().length > 0) assert.ok(y.transpose(1, 2).isContiguous());
});

test('fused causal attention: masks, dropout, unequal lengths, the bf16 shapes it loses at and fused kernels off take the composition', () => {
  manualSeed(12);
  const [q, k, v] = [0, 1, 2].map(() => randn([2, 2, 9, 8])) as [Tensor, Tensor, Tensor];
  const same = (a: Tensor, b: Tensor): void => assert.deepEqual(values(a), values(b));
  const before = setFusedKernels(false);
  try {
    same(scaledDotProductAttention(q, k, v, { isCausal: true }), reference(q, k, v));
  } finally {
    setFusedKernels(before);
  }
  same(atLevel(0, () => scaledDotProductAttention(q, k, v, { isCausal: true })), reference(q, k, v));
  const mask = randn([9, 9]).gt(0);
  same(scaledDotProductAttention(q, k, v, { attnMask: mask }), attentionReference(q, k, v, { attnMask: mask }));
  same(scaledDotProductAttention(q, k.narrow(2, 0, 5), v.narrow(2, 0, 5), { isCausal: true }),
    attentionReference(q, k.narrow(2, 0, 5), v.narrow(2, 0, 5), { isCausal: true }));
  // bf16 with 64-wide heads, causal at 256–512 positions or without a mask: on a CPU without bf16
  // dot products, measured faster composed
  if (!cpuHasBf16Products()) {
    const wide = randn([1, 1, 300, 64]).to('bfloat16');
    same(scaledDotProductAttention(wide, wide, wide, { isCausal: true }), reference(wide, wide, wide));
    const narrow = wide.narrow(2, 0, 40);
    same(scaledDotProductAttention(narrow, narrow, narrow), attentionReference(narrow, narrow, narrow));
  } else {
    // with them, bf16 takes the products at every shape: within bf16 tolerance of the composition
    const [qw, kw, vw] = [0, 1, 2].map(() => randn([1, 2, 300, 64]).to('bfloat16')) as [Tensor, Tensor, Tensor];
    const g = randn([1, 2, 300, 64]).to('bfloat16');
    const got = attend(qw, kw, vw, g);
    const want = attend(qw, kw, vw, g, reference);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assert.ok(worst(got[key], want[key], 2e-2, 2 ** -7) <= 1, key);
  }
  // dropout draws a mask: the same generator state gives the same output as the composition
  manualSeed(13);
  const dropped = scaledDotProductAttention(q, k, v, { isCausal: true, dropoutP: 0.5 });
  manualSeed(13);
  same(dropped, attentionReference(q, k, v, { isCausal: true, dropoutP: 0.5 }));
  // fused (when this CPU has AVX2): not the composition's bits
  if (levels().length > 0) assert.notDeepEqual(values(scaledDotProductAttention(q, k, v, { isCausal: true })), values(reference(q, k, v)));
});

test('fused causal attention: the gradient of the gradient (createGraph) goes through the composition', () => {
  manualSeed(14);
  const [q0, k0, v0] = [0, 1, 2].map(() => randn([1, 2, 6, 4])) as [Tensor, Tensor, Tensor];
  const run = (fn: (q: Tensor, k: Tensor, v: Tensor) => Tensor): number[] => {
    const [q, k, v] = [q0, k0, v0].map((t) => t.detach().requiresGrad_(true)) as [Tensor, Tensor, Tensor];
    const [dq] = grad(fn(q, k, v).pow(2).sum(), q, { createGraph: true });
    const [dk] = grad(dq!.pow(2).sum(), k);
    return values(dk!);
  };
  const fused = run((q, k, v) => scaledDotProductAttention(q, k, v, { isCausal: true }));
  const composed = run(reference);
  assert.ok(worst(fused, composed, 1e-5, 1e-4) <= 1);
  assert.ok(composed.some((x) => Math.abs(x) > 1e-3));
});

// ---- cross-entropy from logits ----

type CrossEntropyFn = typeof crossEntropy;

/** The loss and the logits' gradient of loss (mean, sum) or (losses · g).sum() (none). */
function crossEntropyAndGrad(logits0: Tensor, target: Tensor, reduction: Reduction, g: Tensor, fn: CrossEntropyFn = crossEntropy): { loss: number[]; grad: number[]; dtype: DType } {
  const logits = logits0.detach().requiresGrad_(true);
  const loss = fn(logits, target, { reduction });
  (reduction === 'none' ? loss.mul(g).sum() : loss).backward();
  return { loss: values(loss), grad: values(logits.grad!), dtype: loss.dtype };
}

test('fused cross-entropy: float32 loss and gradient match PyTorch\'s (float64) values, ignored rows included', () => {
  const f = fixture.cross_entropy;
  const logits = tensor(f.logits).view(f.shape);
  const target = tensor(f.target, { dtype: 'int64' });
  const g = tensor(f.g);
  for (const level of levels()) {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const got = atLevel(level, () => crossEntropyAndGrad(logits, target, reduction, g));
      assert.equal(got.dtype, 'float32');
      assert.ok(worst(got.loss, f[reduction].loss, 1e-5, 1e-5) <= 1, `level ${level} ${reduction}: loss`);
      assert.ok(worst(got.grad, f[reduction].grad, 1e-7, 1e-5) <= 1, `level ${level} ${reduction}: gradient`);
    }
  }
  // the ignored rows' gradients are exactly zero
  const { grad } = crossEntropyAndGrad(logits, target, 'mean', g);
  assert.ok(grad.slice(5 * 83, 6 * 83).every((v) => v === 0));
});

test('fused cross-entropy against ATen\'s on a large vocabulary, bf16 under autocast, every vector width the same bits', () => {
  manualSeed(21);
  const [N, V] = [64, 5003]; // V not a multiple of 16
  const logits = randn([N, V]).mul(4);
  const target = randn([N]).abs().mul(1000).floor().to('int64');
  const g = randn([N]);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    const want = crossEntropyAndGrad(logits, target, reduction, g, crossEntropyReference);
    const byWidth = levels().map((level) => atLevel(level, () => crossEntropyAndGrad(logits, target, reduction, g)));
    for (const got of byWidth) {
      assert.ok(worst(got.loss, want.loss, 1e-5, 1e-5) <= 1, `${reduction}: loss`);
      assert.ok(worst(got.grad, want.grad, 1e-8, 1e-4) <= 1, `${reduction}: gradient`);
    }
    for (const got of byWidth.slice(1)) assert.deepEqual(got, byWidth[0], `${reduction}: vector widths differ`);
  }
  // bf16 logits under autocast: ATen casts them to float32 for the loss; the fused kernel reads them as they are
  const l16 = logits.to('bfloat16');
  const fused = autocast('bf16', () => crossEntropyAndGrad(l16, target, 'mean', g));
  const aten = autocast('bf16', () => crossEntropyAndGrad(l16, target, 'mean', g, crossEntropyReference));
  assert.equal(fused.dtype, aten.dtype);
  assert.ok(worst(fused.loss, aten.loss, 1e-5, 1e-5) <= 1);
  assert.ok(worst(fused.grad, aten.grad, 1e-6, 2 ** -7) <= 1); // both gradients are bf16
});

test('fused cross-entropy: weights, smoothing, soft targets, N-d logits and bf16 outside autocast take ATen\'s; bad targets are a clear error', () => {
  manualSeed(22);
  const logits = randn([6, 9]);
  const target = tensor([0, 8, 3, 3, 1, 5], { dtype: 'int64' });
  const same = (a: Tensor, b: Tensor): void => assert.deepEqual(values(a), values(b));
  const weight = randn([9]).abs();
  same(crossEntropy(logits, target, { weight }), crossEntropyReference(logits, target, { weight }));
  same(crossEntropy(logits, target, { labelSmoothing: 0.1 }), crossEntropyReference(logits, target, { labelSmoothing: 0.1 }));
  const soft = randn([6, 9]).softmax(-1);
  same(crossEntropy(logits, soft), crossEntropyReference(logits, soft));
  const image = randn([2, 9, 3, 3]);
  const pixels = tensor([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[8, 7, 6], [5, 4, 3], [2, 1, 0]]], { dtype: 'int64' });
  same(crossEntropy(image, pixels), crossEntropyReference(image, pixels));
  const l16 = logits.to('bfloat16');
  assert.equal(crossEntropy(l16, target).dtype, crossEntropyReference(l16, target).dtype);
  same(crossEntropy(l16, target), crossEntropyReference(l16, target));
  assert.throws(() => crossEntropy(logits, tensor([0, 9, 0, 0, 0, 0], { dtype: 'int64' })), /target 9 at row 1 is out of bounds for 9 classes/);
  assert.throws(() => crossEntropy(logits, tensor([0, -3, 0, 0, 0, 0], { dtype: 'int64' })), /out of bounds/);
  // every row ignored: the mean is 0/0, as in PyTorch
  assert.ok(Number.isNaN(crossEntropy(logits, tensor([-100, -100, -100, -100, -100, -100], { dtype: 'int64' })).item()));
  // fused kernels off: ATen bit for bit
  const before = setFusedKernels(false);
  try {
    same(crossEntropy(logits, target), crossEntropyReference(logits, target));
  } finally {
    setFusedKernels(before);
  }
});

test('fused cross-entropy: the gradient of the gradient (createGraph) goes through ATen\'s', () => {
  manualSeed(23);
  const logits0 = randn([5, 7]);
  const target = tensor([1, 2, 3, 4, 5], { dtype: 'int64' });
  const run = (fn: CrossEntropyFn): number[] => {
    const x = logits0.detach().requiresGrad_(true);
    const [dx] = grad(fn(x, target), x, { createGraph: true });
    const [ddx] = grad(dx!.pow(2).sum(), x);
    return values(ddx!);
  };
  const fused = run(crossEntropy);
  const aten = run(crossEntropyReference);
  assert.ok(worst(fused, aten, 1e-7, 1e-5) <= 1);
  assert.ok(aten.some((v) => Math.abs(v) > 1e-4));
});

test('one-row linear (a matrix-vector product): values and gradients equal the float64 dot products; other inputs, bf16, autocast and fused kernels off are at::linear bit for bit', () => {
  manualSeed(11);
  const [C, O] = [96, 40];
  const w = randn([O, C]).requiresGrad_(true);
  const b = randn([O]).requiresGrad_(true);
  const exact = (xs: number[], ws: number[][], bs: number[] | null): number[] => ws.map((row, o) => row.reduce((s, wv, i) => s + wv * xs[i]!, bs === null ? 0 : bs[o]!));
  const W = w.toArray() as number[][];
  const B = b.toArray() as number[];
  for (const shape of [[C], [1, C], [1, 1, C]]) {
    for (const bias of [b, null]) {
      const x = randn(shape).requiresGrad_(true);
      const y = linear(x, w, bias);
      assert.deepEqual(y.shape, [...shape.slice(0, -1), O]);
      const want = exact(x.flatten().toArray() as number[], W, bias === null ? null : B);
      (y.flatten().toArray() as number[]).forEach((v, o) => assert.ok(Math.abs(v - want[o]!) <= 1e-5 * (1 + Math.abs(want[o]!)), `${shape} y[${o}] ${v} vs ${want[o]}`));
      // Gradients: dx = Wᵀg, dW = g xᵀ, db = g, in float64 from the same numbers.
      const g = randn(y.shape);
      const grads = grad([y], bias === null ? [x, w] : [x, w, bias], { gradOutputs: [g] });
      const G = g.flatten().toArray() as number[];
      const X = x.flatten().toArray() as number[];
      const dx = X.map((_, i) => G.reduce((s, gv, o) => s + gv * W[o]![i]!, 0));
      (grads[0]!.flatten().toArray() as number[]).forEach((v, i) => assert.ok(Math.abs(v - dx[i]!) <= 1e-5 * (1 + Math.abs(dx[i]!)), `dx[${i}]`));
      (grads[1]!.toArray() as number[][]).forEach((row, o) => row.forEach((v, i) => assert.ok(Math.abs(v - G[o]! * X[i]!) <= 1e-5 * (1 + Math.abs(G[o]! * X[i]!)), `dW[${o}][${i}]`)));
      if (bias !== null) assert.deepEqual(grads[2]!.toArray(), G.map((v) => Math.fround(v)));
    }
  }
  // What stays at::linear: two rows, bf16, under autocast, fused kernels off — the same bits as the reference.
  const reference = <T>(fn: () => T): T => {
    setFusedKernels(false);
    try {
      return fn();
    } finally {
      setFusedKernels(true);
    }
  };
  const two = randn([2, C]);
  assert.deepEqual(linear(two, w, b).toArray(), reference(() => linear(two, w, b).toArray()));
  const one = randn([1, C]);
  assert.deepEqual(linear(one.to('bfloat16'), w.to('bfloat16'), b.to('bfloat16')).toArray(), reference(() => linear(one.to('bfloat16'), w.to('bfloat16'), b.to('bfloat16')).toArray()));
  assert.deepEqual(autocast('bf16', () => linear(one, w, b)).toArray(), reference(() => autocast('bf16', () => linear(one, w, b)).toArray()));
  const off = reference(() => linear(one, w, b).toArray() as number[][]);
  const on = linear(one, w, b).toArray() as number[][];
  on[0]!.forEach((v, o) => assert.ok(Math.abs(v - off[0]![o]!) <= 1e-5 * (1 + Math.abs(v)), 'gemv and gemm agree to rounding'));
});

// ---- bf16 copies of weights under autocast ----

/** Five AdamW steps of a small MLP under bf16 autocast; `between(step, model)` runs after each step. */
function mlpUnderAutocast(fused: boolean, between: (step: number, model: Sequential) => void = () => {}): { losses: number[]; params: number[][] } {
  const before = setFusedKernels(fused);
  try {
    manualSeed(21);
    const model = new Sequential(new Linear(16, 32), new ReLU(), new Linear(32, 8));
    const optimizer = new AdamW([{ params: model.parameters() }], { lr: 1e-2, weightDecay: 0.1, fused: true });
    const x = randn([64, 16]);
    const y = randn([64, 8]);
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      scope(() => {
        optimizer.zeroGrad();
        const loss = autocast('bf16', () => mseLoss(model.forward(x).to('float32'), y));
        losses.push(loss.item());
        loss.backward();
        optimizer.step();
        between(step, model);
      });
    }
    return { losses, params: model.parameters().map(values) };
  } finally {
    setFusedKernels(before);
  }
}

test('bf16 weight copies under autocast: training is bit for bit autocast\'s own cast, also after a weight changes outside AdamW', () => {
  // fused kernels off: autocast casts each weight every forward, the reference
  assert.deepEqual(mlpUnderAutocast(true), mlpUnderAutocast(false));
  // a weight scaled in place and another loaded between steps: the copies are stale, the next forward casts afresh
  const meddle = (step: number, model: Sequential): void => {
    if (step === 1) noGrad(() => model.parameters()[0]!.mul_(0.5));
    if (step === 2) model.loadStateDict(new Map([['2.weight', randn([8, 32]).mul(0.1)]]), { strict: false });
  };
  manualSeed(22);
  const kept = mlpUnderAutocast(true, meddle);
  manualSeed(22);
  const reference = mlpUnderAutocast(false, meddle);
  assert.deepEqual(kept, reference);
  assert.notDeepEqual(kept.losses, mlpUnderAutocast(true).losses, 'the meddling changed the run');
});

test('bf16 weight copies under autocast: after a step, a forward casts no weight (profiled), and fp32 outside autocast is untouched', () => {
  manualSeed(23);
  const layer = new Linear(64, 128);
  const optimizer = new AdamW([{ params: layer.parameters() }], { lr: 1e-3, fused: true });
  const x = randn([8, 64]);
  const casts = (): number => profile(() => autocast('bf16', () => layer.forward(x))).rows.find((r) => r.name === 'aten::_to_copy')?.calls ?? 0;
  const step = (): void => scope(() => {
    optimizer.zeroGrad();
    autocast('bf16', () => layer.forward(x)).float().pow(2).mean().backward();
    optimizer.step();
  });
  step();
  // x and the bias are cast; the weight's copy was written by the step
  assert.equal(casts(), 2);
  const before = setFusedKernels(false);
  try {
    assert.equal(casts(), 3, 'autocast itself casts the weight too');
  } finally {
    setFusedKernels(before);
  }
  step();
  assert.equal(casts(), 2);
  // outside autocast the float32 weight is used as it is
  const out = layer.forward(x);
  assert.equal(out.dtype, 'float32');
  assert.deepEqual(values(out), values(linear(x, layer.weight, layer.bias!)));
});

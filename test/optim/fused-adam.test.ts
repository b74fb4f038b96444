/**
 * The fused Adam/AdamW step (one native pass per parameter) against the composed one (the
 * reference, itself checked against PyTorch in trajectories.test.ts): the same parameters and
 * moments after 30 steps, with and without weight decay, maximize, a parameter larger than one
 * thread's share, a float64 parameter and a non-contiguous gradient (both taken op by op), and a
 * state dict that resumes either way; and the same floats at every vector width the CPU has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, clipCoefficient, clipGradNorm_ } from '../../src/optim/index.js';
import { manualSeed, randn } from '../../src/tensor/creation.js';
import { noGrad } from '../../src/tensor/autograd.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { type VectorLevel, setVectorLevel } from '../../src/tensor/fused.js';

const SHAPES = [[7], [33, 5], [300, 257]]; // the last: 77,100 elements, split across threads

function params(): Tensor[] {
  manualSeed(7);
  return [...SHAPES.map((s) => randn(s).requiresGrad_(true)), randn([4, 3], { dtype: 'float64' }).requiresGrad_(true)];
}

/** 30 steps on a loss whose gradients change every step; the last parameter's gradient is a transposed (non-contiguous) view. */
function train(kind: 'Adam' | 'AdamW', options: Record<string, unknown>, fused: boolean): { values: number[][]; optimizer: Adam | AdamW } {
  const ps = params();
  const Optim = kind === 'Adam' ? Adam : AdamW;
  const optimizer = new Optim(ps, { lr: 0.01, ...options, fused });
  manualSeed(3);
  for (let step = 0; step < 30; step++) {
    optimizer.zeroGrad();
    noGrad(() => {
      ps.forEach((p, i) => {
        const g = i === 1 ? randn([5, 33]).transpose(0, 1) : randn(p.shape, { dtype: p.dtype });
        p.grad = g.add(p.mul(0.1));
      });
    });
    optimizer.step();
  }
  return { values: ps.map((p) => Array.from(p.detach().flatten().toArray() as number[])), optimizer };
}

for (const kind of ['Adam', 'AdamW'] as const) {
  for (const options of [{}, { weightDecay: 0.1, betas: [0.8, 0.95] as const, eps: 1e-6 }, { maximize: true, weightDecay: 0.01 }]) {
    test(`${kind} ${JSON.stringify(options)}: fused equals composed after 30 steps (1e-6)`, () => {
      const composed = train(kind, options, false).values;
      const fused = train(kind, options, true).values;
      let worst = 0;
      composed.forEach((values, i) => values.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - fused[i]![k]!)))));
      assert.ok(worst <= 1e-6, `largest difference ${worst}`);
      assert.notDeepEqual(composed[0], params()[0]!.flatten().toArray(), 'the parameters moved');
    });
  }
}

test('the fused step gives the same floats at every vector width (AVX-512, AVX2, baseline)', () => {
  const top = setVectorLevel();
  const byLevel = ([2, 1, 0] as VectorLevel[])
    .filter((l) => l <= top)
    .map((level) => {
      const before = setVectorLevel(level);
      try {
        return train('AdamW', { weightDecay: 0.1 }, true).values;
      } finally {
        setVectorLevel(before);
      }
    });
  for (const values of byLevel.slice(1)) assert.deepEqual(values, byLevel[0]);
});

test('a fused optimizer state dict loads into a composed one and back (fused is a group setting)', () => {
  const { optimizer } = train('AdamW', { weightDecay: 0.1 }, true);
  const saved = optimizer.stateDict();
  assert.equal(saved.paramGroups[0]!['fused'], true);
  const other = new AdamW(params(), { lr: 0.01 });
  other.loadStateDict(saved);
  assert.equal(other.paramGroups[0]!.fused, true);
  assert.throws(() => new AdamW(params(), { fused: 'yes' as never }), /fused must be true or false/);
});

test('stepScaled(c) is clipping by c then step(): the same floats as grad.mul_(c) then step(), fused and composed; .grad is left as it was', () => {
  for (const fused of [true, false]) {
    const run = (scaled: boolean): number[][] => {
      const ps = params();
      const optimizer = new AdamW(ps, { lr: 0.01, weightDecay: 0.1, fused });
      manualSeed(3);
      for (let step = 0; step < 5; step++) {
        optimizer.zeroGrad();
        noGrad(() => ps.forEach((p) => (p.grad = randn(p.shape, { dtype: p.dtype }).mul(3))));
        const c = 0.3 + step / 10;
        if (scaled) {
          const before = ps.map((p) => p.grad!.toArray());
          optimizer.stepScaled(c);
          assert.deepEqual(ps.map((p) => p.grad!.toArray()), before, 'the gradients are untouched');
        } else {
          noGrad(() => ps.forEach((p) => p.grad!.mul_(Math.fround(c))));
          optimizer.step();
        }
      }
      return ps.map((p) => p.detach().flatten().toArray() as number[]);
    };
    assert.deepEqual(run(true), run(false), fused ? 'fused' : 'composed');
  }
});

test('clipCoefficient: the 2-norm of every gradient within float32 rounding of the float64 value, the coefficient clipGradNorm_ scales by, the same at every vector width', () => {
  const ps = params().slice(0, 3); // float32: one native read each
  noGrad(() => ps.forEach((p, i) => (p.grad = randn(p.shape).mul(i + 1))));
  const exact = Math.sqrt(ps.reduce((s, p) => s + (p.grad!.flatten().toArray() as number[]).reduce((a, v) => a + v * v, 0), 0));
  const top = setVectorLevel();
  const byLevel = ([2, 1, 0] as VectorLevel[]).filter((l) => l <= top).map((level) => {
    const before = setVectorLevel(level);
    try {
      return clipCoefficient(ps, 1);
    } finally {
      setVectorLevel(before);
    }
  });
  for (const r of byLevel) assert.deepEqual(r, byLevel[0]);
  const { norm, coefficient } = byLevel[0]!;
  assert.ok(Math.abs(norm - exact) <= 1e-6 * exact, `${norm} vs ${exact}`);
  // clipGradNorm_ scales every gradient by its coefficient: read it off one of them.
  const g0 = ps[0]!.grad!.toArray() as number[];
  const reference = clipGradNorm_(ps, 1).item();
  const scaled = ps[0]!.grad!.toArray() as number[];
  assert.ok(Math.abs(reference - norm) <= 1e-6 * norm, 'clipGradNorm_ sees the same norm');
  assert.ok(Math.abs(scaled[0]! / g0[0]! - coefficient) <= 1e-6 * coefficient, `coefficient ${coefficient} vs ${scaled[0]! / g0[0]!}`);
  // Nothing to clip: a coefficient of 1; float64 gradients take ATen's norms.
  assert.equal(clipCoefficient(ps, 1e9).coefficient, 1);
  const p64 = randn([3, 4], { dtype: 'float64' }).requiresGrad_(true);
  p64.grad = randn([3, 4], { dtype: 'float64' });
  const n64 = Math.sqrt((p64.grad.flatten().toArray() as number[]).reduce((a, v) => a + v * v, 0));
  assert.ok(Math.abs(clipCoefficient([p64], 0.5).norm - Math.fround(n64)) <= 1e-6 * n64);
});

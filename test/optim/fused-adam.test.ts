/**
 * The fused Adam/AdamW step (one native pass per parameter) against the composed one (the
 * reference, itself checked against PyTorch in trajectories.test.ts): the same parameters and
 * moments after 30 steps, with and without weight decay, maximize, a parameter larger than one
 * thread's share, a float64 parameter and a non-contiguous gradient (both taken op by op), and a
 * state dict that resumes either way; and the same floats at every vector width the CPU has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW } from '../../src/optim/index.js';
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

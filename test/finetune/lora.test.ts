import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildBackbone } from '../../src/finetune/backbone.js';
import { SequenceClassifier } from '../../src/finetune/classifier.js';
import { applyLora, loadLoraAdapter, loraLayers, mergeLora, saveLoraAdapter, withLoraMerged } from '../../src/finetune/lora.js';
import { setUpTrainable } from '../../src/finetune/trainable.js';
import { GPT } from '../../src/models/gpt.js';
import { Linear } from '../../src/nn/linear.js';
import { LoRALinear } from '../../src/nn/lora-linear.js';
import { normal_ } from '../../src/nn/init.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { manualSeed, randint, randn, tensor } from '../../src/tensor/creation.js';
import { scope } from '../../src/tensor/scope.js';

const maxAbsDiff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
const flat = (t: { toArray(): unknown }): number[] => (t.toArray() as unknown[]).flat(3) as number[];

test('LoRALinear computes x Wᵀ + b + (α/r) x Aᵀ Bᵀ, starts equal to the base layer, and trains only A and B', () => {
  manualSeed(0);
  const base = new Linear(6, 5);
  const x = randn([3, 6]);
  const before = flat(base.forward(x));
  const lora = new LoRALinear(base, { rank: 2, alpha: 4 });
  assert.ok(maxAbsDiff(flat(lora.forward(x)), before) === 0, 'B = 0 at the start: outputs unchanged');
  noGrad(() => normal_(lora.lora_B, 0, 1));
  // The closed form, written out with explicit sums over plain arrays.
  const [X, W, b, A, B] = [x, base.weight, base.bias!, lora.lora_A, lora.lora_B].map((t) => t.toArray()) as [number[][], number[][], number[], number[][], number[][]];
  const expected: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let o = 0; o < 5; o++) {
      let y = b[o]!;
      for (let k = 0; k < 6; k++) y += X[i]![k]! * W[o]![k]!;
      for (let r = 0; r < 2; r++) {
        let ax = 0;
        for (let k = 0; k < 6; k++) ax += A[r]![k]! * X[i]![k]!;
        y += (4 / 2) * B[o]![r]! * ax;
      }
      expected.push(y);
    }
  }
  assert.ok(maxAbsDiff(flat(lora.forward(x)), expected) < 1e-5);
  assert.deepEqual(lora.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n), ['lora_A', 'lora_B']);
  assert.deepEqual(Object.keys(lora.stateDict()).sort(), ['bias', 'lora_A', 'lora_B', 'weight']);
});

test('LoRA on a GPT classifier: ≤ 5% of parameters train; merged outputs equal unmerged to 1e-5; adapters save and load on their own', () => {
  manualSeed(1);
  const backbone = buildBackbone('gpt', { layers: 4, heads: 4, dim: 128, blockSize: 64, dropout: 0 }, 100);
  const classifier = new SequenceClassifier(backbone, ['ham', 'spam'], 'last', 0);
  const setup = setUpTrainable(classifier, backbone, { mode: 'lora', freezeLayers: 0, loraRank: 8, loraAlpha: 16, loraDropout: 0, loraTargets: [] }, (n) => n.startsWith('score.'));
  assert.deepEqual(setup.loraLayers.slice(0, 2), ['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_proj']);
  assert.equal(setup.loraLayers.length, 8);
  // Counted independently: per block c_attn 8·128 + 384·8, c_proj 8·128 + 128·8; head 128·2 + 2.
  const expectedTrainable = 4 * (8 * 128 + 384 * 8 + 8 * 128 + 128 * 8) + 128 * 2 + 2;
  assert.equal(setup.trainableParameters, expectedTrainable);
  assert.ok(setup.trainableFraction <= 0.05, `trainable fraction ${setup.trainableFraction}`);

  noGrad(() => {
    for (const [, layer] of loraLayers(backbone.module)) normal_(layer.lora_B, 0, 0.05);
  });
  classifier.eval();
  const ids = randint(0, 100, [3, 20], { dtype: 'int64' });
  const lengths = tensor([20, 7, 1], { dtype: 'int64' });
  const unmerged = flat(classifier.forward(ids, lengths));
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-lora-'));
  saveLoraAdapter(backbone.module, dir, { rank: 8, alpha: 16, dropout: 0, targets: ['*.attn.c_attn', '*.attn.c_proj'] });
  const during = withLoraMerged(backbone.module, () => {
    assert.equal(loraLayers(backbone.module).length, 0, 'plain Linears while merged');
    return flat(classifier.forward(ids, lengths));
  });
  assert.ok(maxAbsDiff(during, unmerged) < 1e-5, `merged vs unmerged ${maxAbsDiff(during, unmerged)}`);
  assert.ok(maxAbsDiff(flat(classifier.forward(ids, lengths)), unmerged) < 1e-5, 'adapters restored');

  // A fresh copy of the base weights plus the saved adapter gives the same outputs.
  const base = new GPT((backbone.module as GPT).config);
  scope(() => {
    manualSeed(1);
    const again = buildBackbone('gpt', { layers: 4, heads: 4, dim: 128, blockSize: 64, dropout: 0 }, 100); // same seed: the same base weights
    base.loadStateDict(again.module.stateDict());
  });
  loadLoraAdapter(base, dir);
  base.eval();
  const viaAdapter = flat(base.transformer.forward(ids));
  const reference = flat((backbone.module as GPT).transformer.forward(ids));
  assert.ok(maxAbsDiff(viaAdapter, reference) < 1e-5, 'base + saved adapter = adapted model');

  mergeLora(backbone.module);
  assert.equal(loraLayers(backbone.module).length, 0);
  assert.ok(maxAbsDiff(flat(classifier.forward(ids, lengths)), unmerged) < 1e-5, 'mergeLora keeps the outputs');
  assert.deepEqual(applyLora(backbone.module, { rank: 2, alpha: 2, dropout: 0, targets: ['*.mlp.c_fc'] }).length, 4);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBackbone } from '../../src/finetune/backbone.js';
import { SequenceClassifier } from '../../src/finetune/classifier.js';
import { finetuneOptimizer, setUpTrainable } from '../../src/finetune/trainable.js';
import { manualSeed } from '../../src/tensor/creation.js';

const MODE = { mode: 'full' as const, freezeLayers: 0, loraRank: 4, loraAlpha: 8, loraDropout: 0, loraTargets: [] };

test('layer-wise lr decay: embeddings lr·d³, block 0 lr·d², block 1 lr·d, final norm and head lr; vectors without weight decay', () => {
  manualSeed(0);
  const backbone = buildBackbone('gpt', { layers: 2, heads: 2, dim: 8, blockSize: 8, dropout: 0 }, 11);
  const classifier = new SequenceClassifier(backbone, ['a', 'b'], 'last', 0);
  setUpTrainable(classifier, backbone, MODE, (n) => n.startsWith('score.'));
  const { optimizer } = finetuneOptimizer(classifier, backbone, { lr: 0.1, weightDecay: 0.01, layerDecay: 0.5 });
  const groupOf = new Map<unknown, { lr: number; weightDecay: number }>();
  for (const group of optimizer.paramGroups) for (const p of group.params) groupOf.set(p, group);
  const expected: [string, number, number][] = [
    ['model.transformer.wte.weight', 0.1 * 0.125, 0.01],
    ['model.transformer.wpe.weight', 0.1 * 0.125, 0.01],
    ['model.transformer.h.0.attn.c_attn.weight', 0.1 * 0.25, 0.01],
    ['model.transformer.h.0.ln_1.bias', 0.1 * 0.25, 0],
    ['model.transformer.h.1.mlp.c_fc.weight', 0.1 * 0.5, 0.01],
    ['model.transformer.ln_f.weight', 0.1, 0],
    ['score.weight', 0.1, 0.01],
    ['score.bias', 0.1, 0],
  ];
  const byName = new Map(classifier.namedParameters());
  for (const [name, lr, weightDecay] of expected) {
    const group = groupOf.get(byName.get(name));
    assert.ok(group !== undefined, `${name} is trained`);
    assert.ok(Math.abs(group.lr - lr) < 1e-15, `${name}: lr ${group.lr}, expected ${lr}`);
    assert.equal(group.weightDecay, weightDecay, name);
  }
});

test('freeze-layers N freezes the embeddings and the first N blocks; freeze mode leaves only the head', () => {
  manualSeed(0);
  const backbone = buildBackbone('gpt', { layers: 2, heads: 2, dim: 8, blockSize: 8, dropout: 0 }, 11);
  const classifier = new SequenceClassifier(backbone, ['a', 'b'], 'last', 0);
  setUpTrainable(classifier, backbone, { ...MODE, freezeLayers: 1 }, (n) => n.startsWith('score.'));
  const trainable = classifier.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
  assert.ok(!trainable.some((n) => /wte|wpe|\.h\.0\./.test(n)));
  assert.ok(trainable.includes('model.transformer.h.1.attn.c_attn.weight') && trainable.includes('score.weight'));
  const other = buildBackbone('gpt', { layers: 2, heads: 2, dim: 8, blockSize: 8, dropout: 0 }, 11);
  const head = new SequenceClassifier(other, ['a', 'b', 'c'], 'mean', 0);
  const setup = setUpTrainable(head, other, { ...MODE, mode: 'freeze' }, (n) => n.startsWith('score.'));
  assert.equal(setup.trainableParameters, 8 * 3 + 3);
  assert.throws(() => setUpTrainable(head, other, { ...MODE, freezeLayers: 3 }, () => false), /exceeds the model's 2 blocks/);
});

/**
 * Generation with the key/value cache: the cached forward gives the logits of a full forward
 * (GPT, Llama with grouped-query attention), greedy generation chooses the same tokens with and
 * without the cache (also past the context, where the cache gives way to the window), and the
 * repetition penalty is Hugging Face's (closed-form values).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt.js';
import { Llama } from '../../src/models/llama.js';
import { repetitionFilter } from '../../src/models/sampling.js';
import { normal_ } from '../../src/nn/init.js';
import { KVCache } from '../../src/nn/kv-cache.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { manualSeed, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/** Small decoders with wide weights, so greedy choices are not near-ties. */
function decoders(): (GPT | Llama)[] {
  manualSeed(21);
  const models = [
    new GPT({ vocabSize: 64, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 32 }),
    new Llama({ vocabSize: 64, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, intermediateSize: 64, maxSeqLen: 24 }),
    new Llama({ vocabSize: 64, dim: 32, nLayers: 1, nHeads: 4, nKvHeads: 1, intermediateSize: 64, maxSeqLen: 24 }),
  ];
  noGrad(() => {
    for (const model of models) for (const p of model.parameters()) if (p.ndim === 2) normal_(p, 0, 0.3);
  });
  for (const model of models) model.eval();
  return models;
}

const name = (model: GPT | Llama): string => (model instanceof GPT ? 'GPT' : `Llama (${model.config.nHeads} heads, ${model.config.nKvHeads} KV)`);

test('the cached forward gives a full forward\'s logits, prompt first, then one token at a time', () => {
  for (const model of decoders()) {
    const ids = tensor([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3], [2, 7, 1, 8, 2, 8, 1, 8, 2, 8]], { dtype: 'int64' });
    const cached = model as unknown as { forwardCached(ids: Tensor, cache: KVCache): Tensor };
    noGrad(() => {
      const cache = new KVCache(model instanceof GPT ? model.config.nLayer : model.config.nLayers, 10);
      const full = model.forward(ids); // (B, 10, V)
      let worst = cached.forwardCached(ids.narrow(1, 0, 6), cache).sub(full.select(1, 5)).abs().amax().item();
      for (let t = 6; t < 10; t++) worst = Math.max(worst, cached.forwardCached(ids.narrow(1, t, 1), cache).sub(full.select(1, t)).abs().amax().item());
      assert.equal(cache.length, 10);
      assert.ok(worst < 1e-5, `${name(model)}: ${worst}`);
      assert.throws(() => cached.forwardCached(ids.narrow(1, 0, 1), cache), /exceed its capacity of 10/);
      cache.dispose();
    });
  }
});

test('greedy generation chooses the same tokens with and without the cache, within the context and past it', () => {
  for (const model of decoders()) {
    const prompt = tensor([[1, 2, 3, 4, 5], [9, 8, 7, 6, 5]], { dtype: 'int64' });
    for (const maxNewTokens of [1, 12, 40]) { // 40 outgrows the 24-token context
      const withCache = model.generate(prompt, { maxNewTokens, temperature: 0 }).toArray();
      const without = model.generate(prompt, { maxNewTokens, temperature: 0, useCache: false }).toArray();
      assert.deepEqual(withCache, without, `${name(model)}, ${maxNewTokens} tokens`);
    }
    const long = tensor([Array.from({ length: 30 }, (_, i) => (i * 7) % 64)], { dtype: 'int64' }); // a prompt longer than the context
    assert.deepEqual(model.generate(long, { maxNewTokens: 5, temperature: 0 }).toArray(), model.generate(long, { maxNewTokens: 5, temperature: 0, useCache: false }).toArray());
  }
});

test('sampling with the cache draws the same tokens as without it, for a seed', () => {
  for (const model of decoders()) {
    const prompt = tensor([[4, 4, 4]], { dtype: 'int64' });
    const options = { maxNewTokens: 15, temperature: 0.9, topK: 20, topP: 0.9, seed: 7 };
    assert.deepEqual(model.generate(prompt, options).toArray(), model.generate(prompt, { ...options, useCache: false }).toArray(), name(model));
  }
});

test("the repetition penalty is Hugging Face's: seen tokens' positive logits divided, negative ones multiplied", () => {
  const logits = tensor([[2, -1, 0.5, 3], [1, 1, -4, 0]]);
  const history = tensor([[0, 1, 1], [2, 3, 2]], { dtype: 'int64' });
  assert.deepEqual(repetitionFilter(logits, history, 2).toArray(), [[1, -2, 0.5, 3], [1, 1, -8, 0]]);
  const [model] = decoders();
  const prompt = tensor([[1, 2, 3]], { dtype: 'int64' });
  const plain = model!.generate(prompt, { maxNewTokens: 20, temperature: 0 }).toArray() as number[][];
  const penalised = model!.generate(prompt, { maxNewTokens: 20, temperature: 0, repetitionPenalty: 100 }).toArray() as number[][];
  // A penalty this large forbids repeats as long as an unseen token has a positive logit: 23 distinct tokens.
  assert.equal(new Set(penalised[0]).size, 23, JSON.stringify(penalised[0]));
  assert.ok(new Set(plain[0]).size < 23, 'without the penalty the greedy text repeats itself');
  assert.throws(() => model!.generate(prompt, { maxNewTokens: 2, repetitionPenalty: 0 }), /repetitionPenalty must be a positive number/);
});

/**
 * GPT against a reference GPT-2. test/fixtures/gpt2_reference.py (Debian's PyTorch, Hugging
 * Face's GPT-2 forward pass written out under its parameter names) wrote a tiny random GPT-2
 * as a Hugging Face folder (test/fixtures/gpt2-tiny/, the `gpt2` hub checkpoint's key style:
 * no `transformer.` prefix, no lm_head, Conv1D weights (in, out), attn.bias buffers) and the
 * float64 logits it produces for two id sequences (test/fixtures/gpt2_tiny.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AdamW, Tensor, loadSafetensors, manualSeed, readSafetensorsHeader, saveSafetensors, saveShardedSafetensors, scope, tensor } from '../../src/index.js';
import { loadGpt2Folder, saveGpt2Folder, gptConfigFromHf } from '../../src/io/hf-gpt2.js';
import { deviationFromReference, fixtures, ids, rowsOf, scratchFolder, systemPython } from './reference.js';
import { GPT, gptConfig, topKFilter, topPFilter } from '../../src/models/index.js';

const tinyFolder = path.join(fixtures, 'gpt2-tiny');
const reference = JSON.parse(readFileSync(path.join(fixtures, 'gpt2_tiny.json'), 'utf8')) as { inputs: number[][]; logits: number[][][] };
const referenceScript = path.join(fixtures, 'gpt2_reference.py');

const scratch = scratchFolder('kiln-gpt-');




const { model: tiny } = loadGpt2Folder(tinyFolder);

test('the Hugging Face GPT-2 folder reproduces the reference logits to 1e-4', (t) => {
  assert.deepEqual({ ...tiny.config }, { vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0.1, layerNormEpsilon: 1e-5, bias: true });
  const worst = deviationFromReference(tiny, reference);
  t.diagnostic(`max |logit - reference| = ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-4, `logits deviate by ${worst}`);
  // The head is tied: one Parameter under both names.
  assert.equal(tiny.lm_head.weight, tiny.transformer.wte.weight);
});

test('save -> load round trip is bit-exact and written in GPT-2 layout', () => {
  const dir = path.join(scratch, 'roundtrip');
  saveGpt2Folder(tiny, dir);
  const { model: again } = loadGpt2Folder(dir);
  const before = tiny.stateDict();
  const after = again.stateDict();
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  for (const [name, t] of Object.entries(before)) assert.ok(t.equal(after[name]!), `${name} changed in the round trip`);

  // The file holds Transformers' GPT2LMHeadModel names and Conv1D (in, out) shapes, no head.
  const header = readSafetensorsHeader(path.join(dir, 'model.safetensors'));
  assert.deepEqual(header.metadata, { format: 'pt' });
  const C = 16;
  const expected: Record<string, number[]> = { 'transformer.wte.weight': [50, C], 'transformer.wpe.weight': [16, C], 'transformer.ln_f.weight': [C], 'transformer.ln_f.bias': [C] };
  for (const n of [0, 1]) {
    const p = `transformer.h.${n}.`;
    Object.assign(expected, {
      [`${p}ln_1.weight`]: [C], [`${p}ln_1.bias`]: [C], [`${p}ln_2.weight`]: [C], [`${p}ln_2.bias`]: [C],
      [`${p}attn.c_attn.weight`]: [C, 3 * C], [`${p}attn.c_attn.bias`]: [3 * C],
      [`${p}attn.c_proj.weight`]: [C, C], [`${p}attn.c_proj.bias`]: [C],
      [`${p}mlp.c_fc.weight`]: [C, 4 * C], [`${p}mlp.c_fc.bias`]: [4 * C],
      [`${p}mlp.c_proj.weight`]: [4 * C, C], [`${p}mlp.c_proj.bias`]: [C],
    });
  }
  const shapes = Object.fromEntries(Object.entries(header.tensors).map(([name, info]) => [name, [...info.shape]]));
  assert.deepEqual(shapes, expected);
  for (const info of Object.values(header.tensors)) assert.equal(info.dtype, 'float32');

  // The saved Conv1D weight is the fixture's, byte for byte (the fixture stores (in, out) too).
  const fixtureWeights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  const savedWeights = loadSafetensors(path.join(dir, 'model.safetensors')).tensors;
  assert.ok(savedWeights['transformer.h.1.mlp.c_fc.weight']!.equal(fixtureWeights['h.1.mlp.c_fc.weight']!));

  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(
    [config['model_type'], config['architectures'], config['activation_function'], config['vocab_size'], config['n_positions'], config['n_embd'], config['n_layer'], config['n_head'], config['layer_norm_epsilon'], config['tie_word_embeddings']],
    ['gpt2', ['GPT2LMHeadModel'], 'gelu_new', 50, 16, 16, 2, 2, 1e-5, true],
  );
  assert.deepEqual(Object.keys(config), Object.keys(config).sort());
});

test('a Kiln-saved folder reloads through the reference script with matching logits', (t) => {
  // npm test's set-up installs Debian's python3-torch for this cross-check.
  const probe = spawnSync(systemPython, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${systemPython} cannot import torch; run 'bash scripts/setup.sh --test' (installs python3-torch)`);
  const dir = path.join(scratch, 'for-reference');
  saveGpt2Folder(tiny, dir);
  const run = spawnSync(systemPython, [referenceScript, 'verify', dir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const verdict = JSON.parse(run.stdout) as { match: boolean; max_abs_diff: number };
  t.diagnostic(`reference script: max |logit - expected| = ${verdict.max_abs_diff}`);
  assert.equal(verdict.match, true);
});

test('checkpoints with the prefix, a tied lm_head and mask buffers load; an untied head is refused', () => {
  const dir = path.join(scratch, 'variants');
  cpSync(tinyFolder, dir, { recursive: true });
  const weights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  const withPrefix: Record<string, Tensor> = Object.fromEntries(Object.entries(weights).map(([k, v]) => [`transformer.${k}`, v]));
  withPrefix['lm_head.weight'] = weights['wte.weight']!;
  withPrefix['transformer.h.0.attn.masked_bias'] = tensor(-1e4);
  saveSafetensors(path.join(dir, 'model.safetensors'), withPrefix);
  const { model } = loadGpt2Folder(dir);
  assert.ok(deviationFromReference(model, reference) < 1e-4);

  withPrefix['lm_head.weight'] = weights['wte.weight']!.add(1);
  saveSafetensors(path.join(dir, 'model.safetensors'), withPrefix);
  assert.throws(() => loadGpt2Folder(dir), /lm_head\.weight differs from transformer\.wte\.weight/);
});

test('missing, unexpected and misshapen weights are errors that list them', () => {
  const dir = path.join(scratch, 'broken');
  cpSync(tinyFolder, dir, { recursive: true });
  const weights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  delete weights['h.1.ln_2.bias'];
  delete weights['wpe.weight'];
  weights['h.0.attn.rotary'] = tensor([1, 2]);
  saveSafetensors(path.join(dir, 'model.safetensors'), weights);
  assert.throws(() => loadGpt2Folder(dir), (error: Error) => {
    assert.match(error.message, /missing keys: transformer\.wpe\.weight, transformer\.h\.1\.ln_2\.bias/);
    assert.match(error.message, /unexpected keys: h\.0\.attn\.rotary/);
    return true;
  });

  const original = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  original['h.0.attn.c_attn.weight'] = original['h.0.attn.c_attn.weight']!.t().contiguous(); // stored (out, in) by mistake
  saveSafetensors(path.join(dir, 'model.safetensors'), original);
  assert.throws(() => loadGpt2Folder(dir), /wrong shapes: h\.0\.attn\.c_attn\.weight \(expected \[16, 48\], Conv1D \(in, out\), got \[48, 16\]\)/);

  rmSync(path.join(dir, 'model.safetensors'));
  assert.throws(() => loadGpt2Folder(dir), /no model\.safetensors or model\.safetensors\.index\.json/);
});

test('unsupported GPT-2 configs are refused with what is supported', () => {
  const base = JSON.parse(readFileSync(path.join(tinyFolder, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.throws(() => gptConfigFromHf({ ...base, activation_function: 'relu' }), /activation_function 'relu' is not supported; supported: gelu_new, gelu_pytorch_tanh/);
  assert.throws(() => gptConfigFromHf({ ...base, architectures: ['GPT2ForSequenceClassification'] }), /architecture GPT2ForSequenceClassification is not supported; supported: GPT2LMHeadModel, GPT2Model/);
  assert.throws(() => gptConfigFromHf({ ...base, model_type: 'llama' }), /model_type 'llama' is not supported/);
  assert.throws(() => gptConfigFromHf({ ...base, n_inner: 100 }), /n_inner = 100 is not supported/);
  assert.throws(() => gptConfigFromHf({ ...base, scale_attn_by_inverse_layer_idx: true }), /scale_attn_by_inverse_layer_idx = true is not supported/);
  assert.throws(() => gptConfigFromHf({ ...base, tie_word_embeddings: false }), /tie_word_embeddings = false is not supported/);
  const { n_embd: _, ...noWidth } = base;
  assert.throws(() => gptConfigFromHf(noWidth), /config\.json lacks 'n_embd'/);
  assert.throws(() => gptConfigFromHf({ ...base, n_head: 3 }), /nEmbd \(16\) must be divisible by nHead \(3\)/);
  // Fields read while building the config are named once, with the folder once.
  const { n_layer: __, ...noDepth } = base;
  assert.throws(() => gptConfigFromHf(noDepth, 'x'), /^ModelFolderError: GPT-2 folder x: config\.json lacks 'n_layer'$/);
  assert.throws(() => gptConfigFromHf({ ...base, n_head: 3 }, 'x'), /^ModelFolderError: GPT-2 folder x: GPTConfig: nEmbd/);

  const dir = path.join(scratch, 'bad-config');
  cpSync(tinyFolder, dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), '{"vocab_size": 50,');
  assert.throws(() => loadGpt2Folder(dir), /config\.json is not valid JSON/);

  assert.throws(() => gptConfig({ nLayers: 2 } as never), /unknown key 'nLayers'; the keys are vocabSize, blockSize/);
  assert.throws(() => gptConfig({ dropout: 1 }), /dropout must be in \[0, 1\)/);
  assert.throws(() => gptConfig({ blockSize: 0 }), /blockSize must be a positive integer/);
  assert.equal(gptConfig().nEmbd, 768);
});

test('GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/√(2·nLayer), zero biases', () => {
  manualSeed(0);
  const nLayer = 4;
  const model = new GPT({ vocabSize: 1000, blockSize: 256, nLayer, nHead: 4, nEmbd: 128 });
  const std = (t: Tensor): number => scope(() => t.std().item());
  const near = (got: number, want: number, name: string): void => assert.ok(Math.abs(got / want - 1) < 0.05, `${name}: std ${got}, expected ≈ ${want}`);
  near(std(model.transformer.wte.weight), 0.02, 'wte');
  near(std(model.transformer.wpe.weight), 0.02, 'wpe');
  const scaled = 0.02 / Math.sqrt(2 * nLayer);
  for (const block of model.transformer.h) {
    near(std(block.attn.c_attn.weight), 0.02, 'c_attn');
    near(std(block.mlp.c_fc.weight), 0.02, 'c_fc');
    near(std(block.attn.c_proj.weight), scaled, 'attn.c_proj');
    near(std(block.mlp.c_proj.weight), scaled, 'mlp.c_proj');
    for (const bias of [block.attn.c_attn.bias, block.attn.c_proj.bias, block.mlp.c_fc.bias, block.mlp.c_proj.bias, block.ln_1.bias]) {
      assert.equal(scope(() => bias!.abs().max().item()), 0);
    }
    assert.equal(scope(() => block.ln_2.weight!.sub(1).abs().max().item()), 0);
  }
  assert.equal(model.lm_head.weight, model.transformer.wte.weight);
  // Parameters are counted once although lm_head.weight also names wte.
  assert.equal(model.numParameters(), model.namedParameters().reduce((n, [, p]) => n + p.numel(), 0));
  assert.ok(!model.namedParameters().some(([name]) => name === 'lm_head.weight'));
  assert.ok('lm_head.weight' in model.stateDict());
});

test('greedy generation is deterministic and equals argmax decoding step by step', () => {
  const prompt = ids([reference.inputs[0]!, [9, 9, 4, 1, 0, 2, 30]]); // (2, 7); 7 + 12 new > blockSize 16
  const generated = tiny.generate(prompt, { maxNewTokens: 12, temperature: 0 });
  assert.deepEqual(generated.shape, [2, 19]);
  assert.deepEqual(rowsOf(tiny.generate(prompt, { maxNewTokens: 12, temperature: 0 })), rowsOf(generated));

  tiny.eval();
  const rows = rowsOf(prompt);
  for (let step = 0; step < 12; step++) {
    for (const row of rows) {
      const context = row.slice(-16);
      const logits = scope(() => tiny.forward(ids([context])).select(1, -1).select(0, 0).toArray() as number[]);
      row.push(logits.indexOf(Math.max(...logits)));
    }
  }
  assert.deepEqual(rowsOf(generated), rows);
  // Top-k 1 and a tiny top-p leave one candidate: sampling then is greedy too.
  assert.deepEqual(rowsOf(tiny.generate(prompt, { maxNewTokens: 12, topK: 1, seed: 3 })), rows);
  assert.deepEqual(rowsOf(tiny.generate(prompt, { maxNewTokens: 12, topP: 1e-6, seed: 3 })), rows);
});

test('sampling with a seed is reproducible; generate restores training mode', () => {
  tiny.train();
  const prompt = ids([[1, 2, 3]]);
  const options = { maxNewTokens: 20, temperature: 1.5, topK: 20, topP: 0.95, seed: 7 };
  const first = rowsOf(tiny.generate(prompt, options));
  assert.deepEqual(rowsOf(tiny.generate(prompt, options)), first);
  const others = [8, 9, 10].map((seed) => rowsOf(tiny.generate(prompt, { ...options, seed })));
  assert.ok(others.some((o) => JSON.stringify(o) !== JSON.stringify(first)), 'different seeds gave the same samples');
  assert.ok(first[0]!.every((id) => id >= 0 && id < 50));
  assert.ok(tiny.modules().every((m) => m.training));
  assert.throws(() => tiny.generate(prompt, { maxNewTokens: 1, topK: 51 }), /topK \(51\) is larger than the vocabulary \(50\)/);
  assert.throws(() => tiny.generate(prompt, { maxNewTokens: 1, topP: 0 }), /topP must be in \(0, 1\]/);
  assert.throws(() => tiny.generate(prompt, { maxNewTokens: 1, temperature: -1 }), /temperature must be/);
});

test('forward rejects sequences longer than blockSize, out-of-range ids and non-integer ids', () => {
  assert.throws(() => tiny.forward(ids([Array.from({ length: 17 }, () => 1)])), /the sequence has 17 tokens but the model's blockSize is 16/);
  assert.throws(() => tiny.forward(ids([[1, 50]])), /token ids must be in \[0, 50\) \(vocabSize\), got ids from 1 to 50/);
  assert.throws(() => tiny.forward(ids([[-1, 2]])), /token ids must be in \[0, 50\)/);
  assert.throws(() => tiny.forward(tensor([[1, 2]], { dtype: 'float32' })), /ids must be \(B, T\) int64 token ids, got float32 of shape \[1, 2\]/);
  assert.throws(() => tiny.loss(ids([[1, 2]]), ids([[1, 2, 3]])), /targets must be int64 shaped like ids \[1, 2\]/);
});

test('loss is the mean next-token cross-entropy and ignores -100', () => {
  tiny.eval();
  const input = ids([[3, 17, 42, 0]]);
  const logProbs = scope(() => tiny.forward(input).logSoftmax(-1).select(0, 0).toArray() as number[][]); // (T, V)
  const targets = [17, 42, -100, 5];
  const want = -(logProbs[0]![17]! + logProbs[1]![42]! + logProbs[3]![5]!) / 3;
  const got = scope(() => tiny.loss(input, ids([targets])).item());
  assert.ok(Math.abs(got - want) < 1e-5, `loss ${got}, expected ${want}`);
});

test('a tiny GPT overfits one short sequence', (t) => {
  manualSeed(1);
  const model = new GPT({ vocabSize: 16, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 });
  const sequence = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2];
  const x = ids([sequence.slice(0, -1)]); // (1, 16)
  const y = ids([sequence.slice(1)]); // (1, 16), the next tokens
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  let loss = Infinity;
  let steps = 0;
  for (; steps < 200 && loss >= 0.1; steps++) {
    loss = scope(() => {
      optimizer.zeroGrad();
      const value = model.loss(x, y);
      value.backward();
      optimizer.step();
      return value.item();
    });
  }
  t.diagnostic(`loss ${loss.toFixed(4)} after ${steps} steps`);
  assert.ok(loss < 0.1, `loss still ${loss} after ${steps} steps`);
  // Trained this way, greedy decoding recites the sequence.
  assert.deepEqual(rowsOf(model.generate(ids([sequence.slice(0, 1)]), { maxNewTokens: 16, temperature: 0 }))[0], sequence);
});

test('a GPT without biases trains forward but cannot be saved as GPT-2', () => {
  const model = new GPT({ vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, bias: false });
  assert.ok(model.namedParameters().every(([name]) => !name.endsWith('.bias')));
  assert.deepEqual(scope(() => model.forward(ids([[1, 2, 3]])).shape), [1, 3, 10]);
  assert.throws(() => saveGpt2Folder(model, path.join(scratch, 'nobias')), /has no biases \(config\.bias false\)/);
});

test('a sharded checkpoint (model.safetensors.index.json) loads like the single file', () => {
  const dir = path.join(scratch, 'sharded');
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(tinyFolder, 'config.json'), path.join(dir, 'config.json'));
  const weights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  const { files } = saveShardedSafetensors(dir, weights, { maxShardBytes: 8000, metadata: { format: 'pt' } });
  assert.ok(files.length > 2);
  const { model } = loadGpt2Folder(dir);
  const worst = deviationFromReference(model, reference);
  assert.ok(worst < 1e-4, `logits deviate by ${worst}`);
});

test('top-k and top-p keep the most likely tokens of each row', () => {
  // Row 0 probabilities 0.5, 0.05, 0.3, 0.15; row 1 the same values in another order.
  const probs = [[0.5, 0.05, 0.3, 0.15], [0.15, 0.3, 0.05, 0.5]];
  const logits = tensor(probs, { dtype: 'float32' }).log(); // (2, 4)
  const kept = (filtered: Tensor): boolean[][] => (filtered.isfinite().toArray() as boolean[][]);
  assert.deepEqual(kept(topKFilter(logits, 2)), [[true, false, true, false], [false, true, false, true]]);
  // Sorted 0.5, 0.3, 0.15, 0.05: the mass above each is 0, 0.5, 0.8, 0.95.
  assert.deepEqual(kept(topPFilter(logits, 0.7)), [[true, false, true, false], [false, true, false, true]]);
  assert.deepEqual(kept(topPFilter(logits, 0.9)), [[true, false, true, true], [true, true, false, true]]);
  assert.deepEqual(kept(topPFilter(logits, 0.4)), [[true, false, false, false], [false, false, false, true]]);
  assert.deepEqual(kept(topPFilter(logits, 1)), [[true, true, true, true], [true, true, true, true]]);
});

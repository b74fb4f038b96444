/**
 * Llama against references. test/fixtures/llama_reference.py (Debian's PyTorch, Hugging
 * Face's LlamaForCausalLM forward written out under its parameter names, and a from-scratch
 * port of llama2.c's run.c) wrote:
 * - llama-tiny/: a random Llama folder (vocab 64, hidden 32, 2 layers, 4 heads, 2 kv heads,
 *   intermediate 48, untied head, with the rotary_emb.inv_freq buffers old checkpoints carry),
 *   and in llama_tiny.json the float64 logits for two id sequences;
 * - llama2c-legacy.bin (separate classifier) and llama2c-v1.bin (shared classifier), two
 *   random llama2.c models (dim 8, 2 heads, 1 kv head), llama2c-tokenizer.bin, and the ids
 *   run.c's encode and greedy loop produce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AdamW, loadSafetensors, manualSeed, readSafetensorsHeader, saveSafetensors, scope, tensor } from '../../src/index.js';
import { loadLlamaFolder, saveLlamaFolder, llamaConfigFromHf } from '../../src/io/hf-llama.js';
import { loadLlama2cCheckpoint, readLlama2cHeader } from '../../src/io/llama2c.js';
import { deviationFromReference, fixtures, ids, rowsOf, scratchFolder, systemPython } from './reference.js';
import { Llama, llamaConfig } from '../../src/models/index.js';
import { Llama2cTokenizer } from '../../src/tokenizers/llama2c-tokenizer.js';

const tinyFolder = path.join(fixtures, 'llama-tiny');
interface Reference {
  inputs: number[][];
  logits: number[][][];
  llama2c: { prompt: string; prompt_ids: number[]; steps: number; legacy: { ids: number[]; min_margin: number }; v1: { ids: number[]; min_margin: number } };
  tokenizer: { texts: string[]; ids: number[][] };
}
const reference = JSON.parse(readFileSync(path.join(fixtures, 'llama_tiny.json'), 'utf8')) as Reference;
const referenceScript = path.join(fixtures, 'llama_reference.py');

const scratch = scratchFolder('kiln-llama-');




const { model: tiny } = loadLlamaFolder(tinyFolder);

test('the Hugging Face Llama folder (GQA: 4 heads, 2 kv heads) reproduces the reference logits to 1e-4', (t) => {
  assert.deepEqual({ ...tiny.config }, {
    vocabSize: 64, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, intermediateSize: 48, maxSeqLen: 32, normEps: 1e-5, ropeTheta: 10000, tieEmbeddings: false,
  });
  assert.deepEqual(tiny.model.layers[0]!.self_attn.k_proj.weight.shape, [16, 32]);
  const worst = deviationFromReference(tiny, reference);
  t.diagnostic(`max |logit - reference| = ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-4, `logits deviate by ${worst}`);
  assert.notEqual(tiny.lm_head.weight, tiny.model.embed_tokens.weight);
  // One set of rotary tables serves every layer; they are buffers outside the state dict.
  assert.equal(tiny.model.layers[0]!.self_attn.rotary_emb, tiny.model.layers[1]!.self_attn.rotary_emb);
  assert.ok(!Object.keys(tiny.stateDict()).some((k) => k.includes('rotary')));
});

test('save -> load round trip is bit-exact and written under LlamaForCausalLM names', () => {
  const dir = path.join(scratch, 'roundtrip');
  saveLlamaFolder(tiny, dir);
  const { model: again } = loadLlamaFolder(dir);
  const before = tiny.stateDict();
  const reloaded = again.stateDict();
  assert.deepEqual(Object.keys(reloaded).sort(), Object.keys(before).sort());
  for (const [name, t] of Object.entries(before)) assert.ok(t.equal(reloaded[name]!), `${name} changed in the round trip`);

  const header = readSafetensorsHeader(path.join(dir, 'model.safetensors'));
  assert.deepEqual(header.metadata, { format: 'pt' });
  const fixtureWeights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  const expectedKeys = Object.keys(fixtureWeights).filter((k) => !k.endsWith('rotary_emb.inv_freq')).sort();
  assert.deepEqual(Object.keys(header.tensors).sort(), expectedKeys);
  const saved = loadSafetensors(path.join(dir, 'model.safetensors')).tensors;
  for (const key of expectedKeys) assert.ok(saved[key]!.equal(fixtureWeights[key]!), `${key} is not the fixture's, byte for byte`);

  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const pick = ['model_type', 'architectures', 'hidden_act', 'hidden_size', 'intermediate_size', 'num_attention_heads', 'num_key_value_heads', 'num_hidden_layers', 'rms_norm_eps', 'rope_theta', 'max_position_embeddings', 'vocab_size', 'tie_word_embeddings', 'rope_scaling'];
  assert.deepEqual(pick.map((k) => config[k]), ['llama', ['LlamaForCausalLM'], 'silu', 32, 48, 4, 2, 2, 1e-5, 10000, 32, 64, false, null]);
  assert.deepEqual(Object.keys(config), Object.keys(config).sort());
});

test('a Kiln-saved folder reloads through the reference script with matching logits', (t) => {
  const probe = spawnSync(systemPython, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${systemPython} cannot import torch; run 'bash scripts/setup.sh --test' (installs python3-torch)`);
  const dir = path.join(scratch, 'for-reference');
  saveLlamaFolder(tiny, dir);
  const run = spawnSync(systemPython, [referenceScript, 'verify', dir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const verdict = JSON.parse(run.stdout) as { match: boolean; max_abs_diff: number };
  t.diagnostic(`reference script: max |logit - expected| = ${verdict.max_abs_diff}`);
  assert.equal(verdict.match, true);
});

test('a tied Llama saves without lm_head and reloads tied; a differing head in a tied folder is refused', () => {
  manualSeed(1);
  const model = new Llama({ vocabSize: 20, dim: 16, nLayers: 1, nHeads: 4, nKvHeads: 1, intermediateSize: 24, maxSeqLen: 8, tieEmbeddings: true });
  assert.equal(model.lm_head.weight, model.model.embed_tokens.weight);
  const dir = path.join(scratch, 'tied');
  saveLlamaFolder(model, dir);
  const weights = loadSafetensors(path.join(dir, 'model.safetensors')).tensors;
  assert.ok(!('lm_head.weight' in weights));
  const { model: again } = loadLlamaFolder(dir);
  assert.equal(again.lm_head.weight, again.model.embed_tokens.weight);
  const x = ids([[1, 5, 7, 19]]);
  model.eval();
  again.eval();
  assert.ok(scope(() => model.forward(x).equal(again.forward(x))));

  weights['lm_head.weight'] = weights['model.embed_tokens.weight']!.add(1);
  saveSafetensors(path.join(dir, 'model.safetensors'), weights);
  assert.throws(() => loadLlamaFolder(dir), /lm_head\.weight differs from model\.embed_tokens\.weight although tie_word_embeddings is true/);
});

test('missing, unexpected and misshapen weights are errors that list them', () => {
  const dir = path.join(scratch, 'broken');
  cpSync(tinyFolder, dir, { recursive: true });
  const weights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  delete weights['model.layers.1.mlp.up_proj.weight'];
  delete weights['lm_head.weight'];
  weights['model.layers.0.self_attn.q_proj.bias'] = tensor([1, 2]);
  saveSafetensors(path.join(dir, 'model.safetensors'), weights);
  assert.throws(() => loadLlamaFolder(dir), (error: Error) => {
    assert.match(error.message, /missing keys: model\.layers\.1\.mlp\.up_proj\.weight, lm_head\.weight/);
    assert.match(error.message, /unexpected keys: model\.layers\.0\.self_attn\.q_proj\.bias/);
    return true;
  });

  const original = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  original['model.layers.0.self_attn.k_proj.weight'] = original['model.layers.0.self_attn.q_proj.weight']!; // no GQA
  saveSafetensors(path.join(dir, 'model.safetensors'), original);
  assert.throws(() => loadLlamaFolder(dir), /wrong shapes: model\.layers\.0\.self_attn\.k_proj\.weight \(expected \[16, 32\], got \[32, 32\]\)/);

  rmSync(path.join(dir, 'model.safetensors'));
  assert.throws(() => loadLlamaFolder(dir), /no model\.safetensors or model\.safetensors\.index\.json/);
  writeFileSync(path.join(dir, 'config.json'), '{"vocab_size": 64,');
  assert.throws(() => loadLlamaFolder(dir), /config\.json is not valid JSON/);
});

test('unsupported Llama configs are refused with what is supported', () => {
  const base = JSON.parse(readFileSync(path.join(tinyFolder, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual({ ...llamaConfigFromHf(base) }, { ...tiny.config });
  assert.throws(() => llamaConfigFromHf({ ...base, rope_scaling: { type: 'linear', factor: 2 } }), /rope_scaling = \{"type":"linear","factor":2\} is not supported; Kiln's Llama implements plain RoPE/);
  assert.throws(() => llamaConfigFromHf({ ...base, hidden_act: 'gelu' }), /hidden_act = "gelu" is not supported/);
  assert.throws(() => llamaConfigFromHf({ ...base, attention_bias: true }), /attention_bias = true is not supported/);
  assert.throws(() => llamaConfigFromHf({ ...base, mlp_bias: true }), /mlp_bias = true is not supported/);
  assert.throws(() => llamaConfigFromHf({ ...base, pretraining_tp: 2 }), /pretraining_tp = 2 is not supported/);
  assert.throws(() => llamaConfigFromHf({ ...base, head_dim: 16 }), /head_dim = 16 is not supported; Kiln's Llama uses hidden_size \/ num_attention_heads = 8/);
  assert.throws(() => llamaConfigFromHf({ ...base, model_type: 'mistral' }), /model_type 'mistral' is not supported/);
  assert.throws(() => llamaConfigFromHf({ ...base, architectures: ['LlamaForSequenceClassification'] }), /architecture LlamaForSequenceClassification is not supported; supported: LlamaForCausalLM/);
  assert.throws(() => llamaConfigFromHf({ ...base, num_key_value_heads: 3 }), /nHeads \(4\) must be divisible by nKvHeads \(3\)/);
  const { hidden_size: _, ...noWidth } = base;
  assert.throws(() => llamaConfigFromHf(noWidth), /config\.json lacks 'hidden_size'/);
  const { num_hidden_layers: ___, ...noDepth } = base;
  assert.throws(() => llamaConfigFromHf(noDepth, 'x'), /^ModelFolderError: Llama folder x: config\.json lacks 'num_hidden_layers'$/);
  assert.throws(() => llamaConfigFromHf({ ...base, tie_word_embeddings: 'yes' }, 'x'), /^ModelFolderError: Llama folder x: config\.json: 'tie_word_embeddings' must be true or false, got "yes"$/);
  // Without num_key_value_heads, every head has its own keys and values (plain multi-head).
  const { num_key_value_heads: __, ...noKv } = base;
  assert.equal(llamaConfigFromHf(noKv).nKvHeads, 4);

  assert.throws(() => llamaConfig({ nLayer: 2 } as never), /unknown key 'nLayer'; the keys are vocabSize, dim, nLayers/);
  assert.throws(() => llamaConfig({ dim: 30, nHeads: 4 }), /dim \(30\) must be divisible by nHeads \(4\)/);
  assert.throws(() => llamaConfig({ dim: 12, nHeads: 4 }), /head size dim \/ nHeads = 3 must be even/);
  assert.throws(() => llamaConfig({ normEps: 0 }), /normEps must be a positive number/);
  assert.equal(llamaConfig().nKvHeads, 32);
});

test('forward and generate check their inputs', () => {
  assert.throws(() => tiny.forward(ids([Array.from({ length: 33 }, () => 1)])), /the sequence has 33 tokens but the model's maxSeqLen is 32/);
  assert.throws(() => tiny.forward(ids([[1, 64]])), /token ids must be in \[0, 64\) \(vocabSize\), got ids from 1 to 64/);
  assert.throws(() => tiny.forward(tensor([[1, 2]], { dtype: 'float32' })), /ids must be \(B, T\) int64 token ids, got float32/);
  assert.throws(() => tiny.loss(ids([[1, 2]]), ids([[1, 2, 3]])), /targets must be int64 shaped like ids \[1, 2\]/);
  assert.throws(() => tiny.generate(ids([[1]]), { maxNewTokens: 1, topK: 65 }), /topK \(65\) is larger than the vocabulary \(64\)/);
});

test('GQA equals multi-head attention with each kv head repeated for its query group', () => {
  // A Llama with 2 kv heads and one with 4, whose k/v heads are the first one's, each repeated twice.
  manualSeed(3);
  const gqa = new Llama({ vocabSize: 16, dim: 16, nLayers: 1, nHeads: 4, nKvHeads: 2, intermediateSize: 8, maxSeqLen: 8 });
  const mha = new Llama({ vocabSize: 16, dim: 16, nLayers: 1, nHeads: 4, nKvHeads: 4, intermediateSize: 8, maxSeqLen: 8 });
  const state = new Map(Object.entries(gqa.stateDict()));
  for (const proj of ['k_proj', 'v_proj']) {
    const key = `model.layers.0.self_attn.${proj}.weight`;
    state.set(key, state.get(key)!.view(2, 4, 16).repeatInterleave(2, 0).reshape(16, 16)); // (2·hs, C) -> (2, hs, C) -> (4, hs, C) -> (4·hs, C)
  }
  mha.loadStateDict(state);
  gqa.eval();
  mha.eval();
  const x = ids([[3, 1, 4, 1, 5, 9, 2, 6]]);
  const diff = scope(() => gqa.forward(x).sub(mha.forward(x)).abs().max().item());
  assert.ok(diff < 1e-6, `GQA and repeated MHA differ by ${diff}`);
});

for (const [format, file] of [['legacy', 'llama2c-legacy.bin'], ['v1', 'llama2c-v1.bin']] as const) {
  test(`llama2.c ${format} checkpoint imports and greedy generation gives run.c's ids`, (t) => {
    const want = reference.llama2c[format];
    const { model, header } = loadLlama2cCheckpoint(path.join(fixtures, file));
    assert.equal(header.format, format);
    assert.equal(header.sharedClassifier, format === 'v1');
    assert.equal(model.config.tieEmbeddings, format === 'v1');
    assert.deepEqual([model.config.dim, model.config.nHeads, model.config.nKvHeads, model.config.intermediateSize, model.config.vocabSize, model.config.maxSeqLen, model.config.normEps], [8, 2, 1, 16, 288, 32, 1e-5]);
    const prompt = reference.llama2c.prompt_ids;
    // run.c feeds `steps` positions; every token after the prompt is an argmax (it stops early on BOS).
    const newTokens = want.ids.length - prompt.length;
    t.diagnostic(`reference's smallest top-2 logit margin: ${want.min_margin.toExponential(2)}`);
    const generated = rowsOf(model.generate(ids([prompt]), { maxNewTokens: newTokens, temperature: 0 }))[0]!;
    assert.deepEqual(generated, want.ids);
  });
}

test('llama2.c headers and sizes are checked', () => {
  const bytes = readFileSync(path.join(fixtures, 'llama2c-v1.bin'));
  assert.deepEqual({ ...readLlama2cHeader(bytes) }, { format: 'v1', dim: 8, hiddenDim: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, vocabSize: 288, seqLen: 32, sharedClassifier: true });
  const truncated = path.join(scratch, 'truncated.bin');
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => loadLlama2cCheckpoint(truncated), /has 14236 bytes but a v1 checkpoint with this header .* has 14240/);
  const v2 = Buffer.from(bytes);
  v2.writeInt32LE(2, 4);
  writeFileSync(truncated, v2);
  assert.throws(() => loadLlama2cCheckpoint(truncated), /export format version 2 is not supported/);
  writeFileSync(truncated, Buffer.alloc(28));
  assert.throws(() => loadLlama2cCheckpoint(truncated), /header field dim = 0 is not a plausible size/);
});

test('tokenizer.bin: run.c encode ids, decode round trip, byte fallback', () => {
  const tokenizer = Llama2cTokenizer.fromFile(path.join(fixtures, 'llama2c-tokenizer.bin'));
  assert.equal(tokenizer.vocabSize, 288);
  assert.equal(tokenizer.piece(1), '\n<s>\n');
  reference.tokenizer.texts.forEach((text, i) => {
    const encoded = tokenizer.encode(text);
    assert.deepEqual(encoded, reference.tokenizer.ids[i], `encode(${JSON.stringify(text)})`);
    assert.equal(tokenizer.decode(encoded), text);
  });
  assert.deepEqual(tokenizer.encode(reference.llama2c.prompt), reference.llama2c.prompt_ids);
  // 'é' is not a piece: its two UTF-8 bytes become byte tokens 0xC3 + 3 and 0xA9 + 3.
  const accented = tokenizer.encode('é', { bos: false, eos: true });
  assert.deepEqual(accented.slice(1), [0xc3 + 3, 0xa9 + 3, 2]);
  assert.equal(tokenizer.decode(accented), ' é'); // no BOS before it: the dummy-prefix space stays
  const tokenizerBytes = readFileSync(path.join(fixtures, 'llama2c-tokenizer.bin'));
  // Token 7 (<0x04>) starts at byte 4 + 13 + 13 + 14 + 4·14 = 100.
  assert.throws(() => Llama2cTokenizer.fromBytes(tokenizerBytes.subarray(0, 110)), /token 7 at byte 100: its 6 bytes run past the end of the file/);
  assert.throws(() => Llama2cTokenizer.fromBytes(tokenizerBytes.subarray(0, 100)), /it has 7 tokens; llama2\.c's layout needs at least 259/);
  assert.throws(() => Llama2cTokenizer.fromBytes(tokenizerBytes, 300), /token 288 at byte \d+: the file ends inside its score\/length \(expected 300 tokens\)/);
  assert.equal(Llama2cTokenizer.fromBytes(tokenizerBytes, 280).vocabSize, 280);
  assert.throws(() => tokenizer.decode([288]), /id 288 is outside \[0, 288\)/);
});

test('a small Llama learns a sequence and recites it greedily', (t) => {
  manualSeed(0);
  const model = new Llama({ vocabSize: 12, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, intermediateSize: 64, maxSeqLen: 16 });
  const sequence = [1, 4, 7, 2, 9, 11, 3, 3, 5, 0, 8, 6, 10, 2, 4, 7, 1];
  const x = ids([sequence.slice(0, -1)]); // (1, 16)
  const y = ids([sequence.slice(1)]); // (1, 16), the next tokens
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  let loss = Infinity;
  let steps = 0;
  for (; steps < 200 && loss >= 0.05; steps++) {
    loss = scope(() => {
      optimizer.zeroGrad();
      const value = model.loss(x, y);
      value.backward();
      optimizer.step();
      return value.item();
    });
  }
  t.diagnostic(`loss ${loss.toFixed(4)} after ${steps} steps`);
  assert.ok(loss < 0.05, `loss still ${loss} after ${steps} steps`);
  assert.deepEqual(rowsOf(model.generate(ids([sequence.slice(0, 1)]), { maxNewTokens: 16, temperature: 0 }))[0], sequence);
});

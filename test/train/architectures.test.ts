/**
 * Pretraining every architecture: masked-LM (BERT) and LSTM runs beat the unigram entropy of
 * their text (the best loss without context, a closed form from the token counts), every
 * model folder loads and generates, and Llama, LSTM and BERT runs resume exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { splitTokens } from '../../src/data/token-file.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { BertForMaskedLM } from '../../src/models/bert.js';
import { Llama } from '../../src/models/llama.js';
import { LstmLM } from '../../src/models/lstm-lm.js';
import { packageRoot } from '../../src/tensor/native.js';
import { getNumThreads, setNumThreads } from '../../src/tensor/runtime.js';
import { CharTokenizer } from '../../src/tokenizers/char.js';
import { saveTokenizer } from '../../src/tokenizers/load.js';
import { ConfigError } from '../../src/train/config-error.js';
import { evaluateLoss } from '../../src/train/evaluate.js';
import { prepareLmData } from '../../src/train/lm-data.js';
import { generateText, loadLanguageModel } from '../../src/train/model-folder.js';
import { maskedObjective } from '../../src/train/objectives.js';
import { pretrainLanguageModel, type PretrainLog } from '../../src/train/pretrain.js';
import { llamaHiddenSize } from '../../src/train/architectures.js';
import { resolvePretrainConfig } from '../../src/train/pretrain-config.js';
import { TINY_RUN, tinyText } from './tiny-text.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'kiln-arch-'));
}

function readMetrics(out: string): PretrainLog[] {
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PretrainLog);
}

/** −Σ p log p over the token frequencies (nats per token): the loss of the best context-free guess. */
function unigramEntropy(ids: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) counts.set(ids[i]!, (counts.get(ids[i]!) ?? 0) + 1);
  let h = 0;
  for (const count of counts.values()) h -= (count / ids.length) * Math.log(count / ids.length);
  return h;
}

test('BERT masked-LM pretraining falls well below the unigram entropy; its val loss is deterministic; [MASK]/[PAD] are reserved and recorded', async (t) => {
  const dir = tempDir();
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    const text = tinyText();
    writeFileSync(path.join(dir, 'text.txt'), text);
    const out = path.join(dir, 'run');
    const config = { ...TINY_RUN, arch: 'bert', data: [path.join(dir, 'text.txt')], layers: 1, dim: 64, heads: 4, blockSize: 8, batchSize: 32, lr: 3e-3, minLr: 3e-4, warmup: 40, maxSteps: 700, evalEvery: 350, logEvery: 50, seed: 7, out } as const;
    const result = await pretrainLanguageModel({ config });
    const { tokenizer, tokens } = prepareLmData(config.data, 'char', out);
    const entropy = unigramEntropy(tokens);
    const V = tokenizer.vocabSize;
    assert.equal(V, new Set(text).size);
    t.diagnostic(`masked-LM val loss ${result.valLoss.toFixed(3)}, unigram entropy ${entropy.toFixed(3)} nats`);
    assert.ok(result.valLoss < 0.75 * entropy, `masked-LM val loss ${result.valLoss} should be well below the unigram entropy ${entropy}`);

    // The char tokenizer has no [MASK] or [PAD]: the run reserved V and V + 1 and says so.
    const kiln = JSON.parse(readFileSync(path.join(result.bestDir, 'kiln.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([kiln['architecture'], kiln['task'], kiln['vocab_size'], kiln['mask_token_id'], kiln['pad_token_id']], ['bert', 'masked-lm', V + 2, V, V + 1]);
    const hfConfig = JSON.parse(readFileSync(path.join(result.bestDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([hfConfig['architectures'], hfConfig['vocab_size'], hfConfig['mask_token_id'], hfConfig['pad_token_id']], [['BertForMaskedLM'], V + 2, V, V + 1]);

    const loaded = loadLanguageModel(result.bestDir);
    assert.ok(loaded.model instanceof BertForMaskedLM);
    assert.deepEqual(loaded.vocabulary, { size: V + 2, tokenizerSize: V, maskTokenId: V, padTokenId: V + 1 });
    // Fixed-seed masks on the validation windows: the saved model scores exactly the logged loss, every time.
    const resolved = resolvePretrainConfig(config);
    const { val } = splitTokens(tokens, resolved.valFraction);
    const objective = maskedObjective(loaded.vocabulary, config.seed);
    const again = [evaluateLoss(loaded.model, val, resolved, objective), evaluateLoss(loaded.model, val, resolved, objective)];
    assert.deepEqual(again, [result.bestValLoss, result.bestValLoss]);

    const sample = generateText(loaded, 'the pot', { maxNewTokens: 30, seed: 2, topK: 5 });
    assert.ok(sample.startsWith('the pot') && [...sample].length === 37, sample);
    assert.equal(generateText(loaded, 'the pot', { maxNewTokens: 30, seed: 2, topK: 5 }), sample, 'the same seed gives the same text');
  } finally {
    setNumThreads(threads);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LSTM pretraining falls well below the unigram entropy and generates from its folder', async (t) => {
  const dir = tempDir();
  try {
    writeFileSync(path.join(dir, 'text.txt'), tinyText());
    const out = path.join(dir, 'run');
    const config = { ...TINY_RUN, arch: 'lstm', data: [path.join(dir, 'text.txt')], lr: 2e-2, maxSteps: 200, evalEvery: 100, logEvery: 20, seed: 7, out } as const;
    const result = await pretrainLanguageModel({ config });
    const { tokens } = prepareLmData(config.data, 'char', out);
    const entropy = unigramEntropy(tokens);
    t.diagnostic(`LSTM val loss ${result.valLoss.toFixed(3)}, unigram entropy ${entropy.toFixed(3)} nats`);
    assert.ok(result.valLoss < 0.65 * entropy, `LSTM val loss ${result.valLoss} should be well below the unigram entropy ${entropy}`);
    const loaded = loadLanguageModel(result.bestDir);
    assert.ok(loaded.model instanceof LstmLM);
    assert.deepEqual([loaded.model.config.numLayers, loaded.model.config.hiddenSize], [2, 32]);
    assert.equal(loaded.info?.task, 'causal-lm');
    const sample = generateText(loaded, 'the', { maxNewTokens: 20, temperature: 0 });
    assert.ok(sample.startsWith('the') && [...sample].length === 23, sample);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume: Llama (grouped-query), LSTM and BERT runs stopped at step 6 and resumed to 12 log the losses of uninterrupted runs (CPU, 1 thread)', async () => {
  const dir = tempDir();
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    writeFileSync(path.join(dir, 'text.txt'), tinyText(150));
    for (const [arch, extra] of [['llama', { heads: 4, kvHeads: 2 }], ['lstm', { dropout: 0.1 }], ['bert', { dropout: 0.1 }]] as const) {
      const base = { ...TINY_RUN, arch, data: [path.join(dir, 'text.txt')], maxSteps: 12, evalEvery: 3, evalIters: 2, gradAccumulation: 2, seed: 3, ...extra };
      const whole = path.join(dir, `${arch}-whole`);
      await pretrainLanguageModel({ config: { ...base, out: whole } });
      const parts = path.join(dir, `${arch}-parts`);
      const controller = new AbortController();
      const first = await pretrainLanguageModel({ config: { ...base, out: parts }, signal: controller.signal, onLog: (log) => log.step === 6 && controller.abort() });
      assert.equal(first.step, 6, arch);
      const second = await pretrainLanguageModel({ config: { out: parts }, resume: true });
      assert.equal(second.step, 12, arch);
      const losses = (out: string): [number, number, number | undefined][] => readMetrics(out).map((m) => [m.step, m.loss, m.val_loss]);
      assert.deepEqual(losses(parts), losses(whole), arch);
    }
    const llama = loadLanguageModel(path.join(dir, 'llama-parts', 'best')).model as Llama;
    assert.ok(llama instanceof Llama);
    assert.deepEqual([llama.config.nHeads, llama.config.nKvHeads, llama.config.intermediateSize, llama.config.maxSeqLen], [4, 2, llamaHiddenSize(32), 16]);
  } finally {
    setNumThreads(threads);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gradient accumulation: 2 micro-batches of 4 give the weights of one batch of 8 for GPT, Llama, LSTM and BERT (masked LM: each window masked alike, parts weighted by masked positions), to 1e-5', async (t) => {
  const dir = tempDir();
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    writeFileSync(path.join(dir, 'text.txt'), tinyText(150));
    for (const arch of ['gpt', 'llama', 'lstm', 'bert'] as const) {
      const base = { ...TINY_RUN, arch, data: [path.join(dir, 'text.txt')], maxSteps: 8, evalEvery: 8, evalIters: 2, lr: 3e-3, dropout: 0, seed: 4 };
      await pretrainLanguageModel({ config: { ...base, batchSize: 8, out: path.join(dir, `${arch}-whole`) } });
      await pretrainLanguageModel({ config: { ...base, batchSize: 4, gradAccumulation: 2, out: path.join(dir, `${arch}-parts`) } });
      const a = loadSafetensors(path.join(dir, `${arch}-whole`, 'state', 'model-8', 'weights.safetensors')).tensors;
      const b = loadSafetensors(path.join(dir, `${arch}-parts`, 'state', 'model-8', 'weights.safetensors')).tensors;
      let worst = 0;
      for (const [name, tensor] of Object.entries(a)) worst = Math.max(worst, tensor.sub(b[name]!).abs().max().item());
      t.diagnostic(`${arch}: largest parameter difference, 2 x 4 vs 1 x 8: ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-5, `${arch}: largest parameter difference ${worst}`);
      const losses = (out: string): number[] => readMetrics(out).filter((m) => m.val_loss === undefined).map((m) => m.loss);
      losses(path.join(dir, `${arch}-whole`)).forEach((loss, i) => assert.ok(Math.abs(loss - losses(path.join(dir, `${arch}-parts`))[i]!) < 1e-4, `${arch}: the logged loss of step ${i + 1}`));
    }
  } finally {
    setNumThreads(threads);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("architecture settings: Llama's SwiGLU width follows Llama's rule; kv-heads is Llama's alone; Llama has no dropout", async () => {
  // ⅔ · 4 · dim rounded up to a multiple of 32 (llama2.c): 128 → 341 → 352; 288 (llama2.c's 15M model) → 768.
  assert.deepEqual([llamaHiddenSize(128), llamaHiddenSize(288), llamaHiddenSize(32)], [352, 768, 96]);
  assert.throws(() => resolvePretrainConfig({ arch: 'bert', kvHeads: 2 }), (e: Error) => e instanceof ConfigError && /kv-heads applies to --arch llama only/.test(e.message));
  assert.throws(() => resolvePretrainConfig({ arch: 'llama', heads: 4, kvHeads: 3 }), /heads \(4\) must be divisible by kv-heads \(3\)/);
  const dir = tempDir();
  try {
    writeFileSync(path.join(dir, 'text.txt'), tinyText(50));
    await assert.rejects(
      pretrainLanguageModel({ config: { ...TINY_RUN, arch: 'llama', dropout: 0.1, data: [path.join(dir, 'text.txt')], out: dir } }),
      (e: Error) => e instanceof ConfigError && /--arch llama has no dropout/.test(e.message),
    );
    await assert.rejects(
      pretrainLanguageModel({ config: { ...TINY_RUN, arch: 'bert', vocabSize: 20, data: [path.join(dir, 'text.txt')], out: dir } }),
      /vocab-size 20 is smaller than the tokenizer's \d+ ids plus 2 reserved for \[MASK\]\/\[PAD\]/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Hugging Face Llama folder with kiln.json (as `kiln import llama2c` writes) loads as Llama and generates', async () => {
  const dir = tempDir();
  try {
    const folder = path.join(dir, 'imported');
    cpSync(path.join(packageRoot(), 'test', 'fixtures', 'llama-tiny'), folder, { recursive: true });
    // 64 distinct characters: a tokenizer whose ids cover the fixture's vocabulary of 64.
    const alphabet = Array.from({ length: 64 }, (_, i) => String.fromCharCode(48 + i)).join('');
    saveTokenizer(CharTokenizer.fromText(alphabet), path.join(folder, 'tokenizer.json'));
    writeFileSync(path.join(folder, 'kiln.json'), JSON.stringify({ architecture: 'llama', task: 'causal-lm', made: { by: 'import', config: {}, date: '' }, step: 0, val_loss: null }));
    const loaded = loadLanguageModel(folder);
    assert.ok(loaded.model instanceof Llama);
    assert.equal(loaded.architecture, 'llama');
    const sample = generateText(loaded, 'ABC', { maxNewTokens: 10, temperature: 0 });
    assert.ok(sample.startsWith('ABC') && sample.length === 13 && [...sample].every((c) => alphabet.includes(c)), sample);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

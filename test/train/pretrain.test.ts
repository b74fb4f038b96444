import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadGpt2Folder } from '../../src/io/hf-gpt2.js';
import { tensor } from '../../src/tensor/creation.js';
import { getNumThreads, setNumThreads } from '../../src/tensor/runtime.js';
import { scope } from '../../src/tensor/scope.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import { pretrainCausalLM, type PretrainLog } from '../../src/train/pretrain.js';
import { PRETRAIN_DEFAULTS, parseDuration, pretrainOutDir, resolvePretrainConfig } from '../../src/train/pretrain-config.js';
import { ConfigError } from '../../src/train/config-error.js';
import { generateText, loadCausalLM } from '../../src/train/model-folder.js';
import { TINY_RUN, tinyText } from './tiny-text.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'kiln-pretrain-'));
}

function readMetrics(out: string): PretrainLog[] {
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PretrainLog);
}

/** Entropy (nats per character) of the text's character frequencies: the best a model without context can do. */
function unigramEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  const n = [...text].length;
  let h = 0;
  for (const count of counts.values()) h -= (count / n) * Math.log(count / n);
  return h;
}

test('config: defaults are nanoGPT baby-GPT recipe; layers merge in order; unknown keys and bad values are errors', () => {
  assert.deepEqual(
    { ...resolvePretrainConfig(), data: undefined },
    { ...PRETRAIN_DEFAULTS, data: undefined },
  );
  const d = PRETRAIN_DEFAULTS;
  assert.deepEqual([d.layers, d.heads, d.dim, d.blockSize, d.batchSize, d.lr, d.minLr, d.warmup, d.weightDecay, d.beta2, d.gradClip, d.dropout, d.valFraction], [4, 4, 128, 64, 12, 1e-3, 1e-4, 100, 0.1, 0.99, 1.0, 0, 0.1]);
  const fileLayer = { 'max-steps': 500, lr: 3e-3, 'time-limit': '10m' };
  const config = resolvePretrainConfig(fileLayer, { lr: 2e-3 });
  assert.equal(config.maxSteps, 500);
  assert.equal(config.lr, 2e-3, 'the later layer (flags) wins');
  assert.equal(config.minLr, 2e-4, 'min-lr defaults to a tenth of lr');
  assert.equal(resolvePretrainConfig({ lr: 1e-5 }).minLr, 1e-6, 'a low lr alone is not refused for exceeding the default min-lr');
  assert.equal(resolvePretrainConfig({ minLr: 5e-4 }, { lr: 2e-3 }).minLr, 5e-4, 'a given min-lr stays');
  assert.throws(() => resolvePretrainConfig({ lr: 1e-4, minLr: 1e-3 }), /min-lr \(0.001\) must not exceed lr/);
  assert.equal(config.timeLimit, 600);
  assert.deepEqual(fileLayer, { 'max-steps': 500, lr: 3e-3, 'time-limit': '10m' }, 'inputs are not changed');
  assert.ok(Object.isFrozen(config));
  assert.throws(() => resolvePretrainConfig({ layrs: 3 }), (e: Error) => e instanceof ConfigError && /unknown setting 'layrs'/.test(e.message));
  assert.throws(() => resolvePretrainConfig({ dim: 30, heads: 4 }), /divisible/);
  assert.throws(() => resolvePretrainConfig({ valFraction: 1 }), /val-fraction/);
  assert.throws(() => resolvePretrainConfig({ layers: 2.5 }), /layers must be a positive integer/);
  assert.equal(parseDuration('1.5h'), 5400);
  assert.throws(() => parseDuration('soon'), /duration/);
  assert.equal(pretrainOutDir({ out: 'a' }, { out: 'b' }), 'b');
});

test('pretrain: a tiny GPT lowers val loss below the unigram entropy, logs metrics, writes loadable model and best folders', async () => {
  const dir = tempDir();
  try {
    const text = tinyText();
    writeFileSync(path.join(dir, 'text.txt'), text);
    const out = path.join(dir, 'run');
    const logs: PretrainLog[] = [];
    const result = await pretrainCausalLM({
      config: { ...TINY_RUN, data: [path.join(dir, 'text.txt')], maxSteps: 30, evalEvery: 10, seed: 7, out },
      onLog: (log) => logs.push(log),
    });
    const vocab = new Set(text).size;
    const metrics = readMetrics(out);
    assert.deepEqual(metrics, logs, 'onLog sees exactly the metrics.jsonl lines');
    const trainLines = metrics.filter((m) => m.val_loss === undefined);
    const evals = metrics.filter((m) => m.val_loss !== undefined);
    assert.deepEqual(trainLines.map((m) => m.step), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(evals.map((m) => m.step), [10, 20, 30]);
    for (const m of metrics) {
      for (const key of ['step', 'loss', 'lr', 'tokens_per_s', 'elapsed_s'] as const) assert.equal(typeof m[key], 'number', `${key} in ${JSON.stringify(m)}`);
      assert.ok(m.tokens_per_s > 0 && Number.isFinite(m.tokens_per_s));
    }
    // Step 1 starts from an untrained model: its loss is near ln(V), the uniform guess.
    assert.ok(Math.abs(trainLines[0]!.loss - Math.log(vocab)) < 0.3, `first loss ${trainLines[0]!.loss} vs ln(${vocab})`);
    assert.ok(evals[2]!.val_loss! < evals[0]!.val_loss!, `val loss ${evals.map((e) => e.val_loss).join(' → ')} should fall`);
    const entropy = unigramEntropy(text);
    assert.ok(result.valLoss < entropy, `final val loss ${result.valLoss} should beat the unigram entropy ${entropy}`);
    // lr: warm-up to the peak at step 5, cosine down to minLr at the last step.
    assert.equal(trainLines[0]!.lr, 0);
    assert.ok(Math.abs(trainLines[5]!.lr - TINY_RUN.lr) < 1e-12, `peak lr ${trainLines[5]!.lr}`);
    assert.ok(trainLines[29]!.lr < trainLines[15]!.lr && trainLines[29]!.lr >= TINY_RUN.minLr);
    assert.equal(result.bestValLoss, Math.min(...evals.map((e) => e.val_loss!)));

    for (const folder of [result.modelDir, result.bestDir]) {
      const kiln = JSON.parse(readFileSync(path.join(folder, 'kiln.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(kiln['architecture'], 'gpt');
      assert.equal(kiln['task'], 'causal-lm');
      assert.equal(kiln['step'], 30);
      assert.equal(kiln['val_loss'], result.valLoss);
      const { model, config } = loadGpt2Folder(folder);
      assert.deepEqual([config.nLayer, config.nEmbd, config.blockSize, config.vocabSize], [2, 32, 16, vocab]);
      const tokenizer = loadTokenizer(folder);
      const ids = scope(() => model.generate(tensor([tokenizer.encode('the pot')], { dtype: 'int64' }), { maxNewTokens: 20, seed: 1 }).toArray() as number[][]);
      const sample = tokenizer.decode(ids[0]!);
      assert.ok(sample.startsWith('the pot') && [...sample].length === 27, sample);
    }
    const loaded = loadCausalLM(result.bestDir);
    const a = generateText(loaded, 'the', { maxNewTokens: 15, seed: 3 });
    const b = generateText(loaded, 'the', { maxNewTokens: 15, seed: 3 });
    assert.equal(a, b, 'the same seed samples the same text');
    assert.ok(a.startsWith('the'));
    assert.ok(existsSync(path.join(out, 'state', 'state.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume: 10 steps, stopped, then resumed to 20 gives the losses of an uninterrupted 20-step run (CPU, 1 thread)', async () => {
  const dir = tempDir();
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    writeFileSync(path.join(dir, 'text.txt'), tinyText());
    const base = { ...TINY_RUN, data: [path.join(dir, 'text.txt')], maxSteps: 20, evalEvery: 5, dropout: 0.1, gradAccumulation: 2, seed: 3 };
    const whole = path.join(dir, 'whole');
    await pretrainCausalLM({ config: { ...base, out: whole } });

    const parts = path.join(dir, 'parts');
    const controller = new AbortController();
    const first = await pretrainCausalLM({
      config: { ...base, out: parts },
      signal: controller.signal,
      onLog: (log) => {
        if (log.step === 10) controller.abort();
      },
    });
    assert.equal(first.stoppedBy, 'signal');
    assert.equal(first.step, 10);
    const second = await pretrainCausalLM({ config: { out: parts }, resume: true });
    assert.equal(second.step, 20);

    const losses = (out: string): [number, number, number | undefined][] => readMetrics(out).map((m) => [m.step, m.loss, m.val_loss]);
    assert.deepEqual(losses(parts), losses(whole));
    assert.equal(second.valLoss, readMetrics(whole).at(-1)!.val_loss);
    // Dropout and accumulation were on, so equality needs the RNG and the sampler restored too.
    await assert.rejects(pretrainCausalLM({ config: { out: parts, lr: 0.5 }, resume: true }), /cannot resume with different lr/);
  } finally {
    setNumThreads(threads);
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * ONNX export, checked by the clients that read it: ONNX Runtime (onnxruntime-node) runs the
 * graph and must give Kiln's logits, with and without the key/value cache; transformers.js
 * (@huggingface/transformers) loads the exported folder from a local path with remote models
 * off, and its text-generation (greedy) and text-classification pipelines must give the tokens,
 * labels and scores that `kiln generate` and `kiln predict` give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { AutoTokenizer, PreTrainedModel, TextClassificationPipeline, env, pipeline } from '@huggingface/transformers';
import { predict } from '../../src/finetune/evaluate.js';
import { finetune } from '../../src/finetune/finetune.js';
import { exportOnnx } from '../../src/io/onnx/export.js';
import { GPT } from '../../src/models/gpt.js';
import { Llama } from '../../src/models/llama.js';
import { normal_ } from '../../src/nn/init.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { manualSeed, tensor } from '../../src/tensor/creation.js';
import { CharTokenizer } from '../../src/tokenizers/char.js';
import { generateText, loadLanguageModel, writeModelFolder } from '../../src/train/model-folder.js';
import type { LanguageModel } from '../../src/train/architectures.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-onnx-'));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/';

const TEXT = 'the whale swam under the ship; the sailors sang, and the sea was calm and grey.\n';

/** Largest |a − b| over two equal-length arrays. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const int64 = (rows: readonly (readonly number[])[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);

/** A language-model folder holding `model` (weights drawn wider than at init, so greedy choices are not near-ties). */
function languageModelFolder(model: LanguageModel, tokenizer: CharTokenizer, name: string): string {
  noGrad(() => {
    for (const p of model.parameters()) if (p.ndim === 2) normal_(p, 0, 0.15);
  });
  model.eval();
  const out = path.join(dir, name);
  const info = { architecture: model instanceof GPT ? 'gpt' : 'llama', task: 'causal-lm', made: { by: 'test', config: {}, date: '' }, step: 0, val_loss: null } as const;
  writeModelFolder(model, tokenizer, out, info, { size: tokenizer.vocabSize, tokenizerSize: tokenizer.vocabSize, maskTokenId: null, padTokenId: null });
  return out;
}

/**
 * ONNX Runtime against Kiln on one decoder: a prompt with an empty cache, three more tokens fed
 * through the cache, and a batch whose second row is left-padded; then transformers.js' greedy
 * text-generation against `generateText` at temperature 0, 50 tokens.
 */
async function checkCausalLm(modelDir: string, layers: number, kvHeads: number, headDim: number): Promise<void> {
  const onnxDir = `${modelDir}-onnx`;
  const result = exportOnnx(modelDir, onnxDir);
  assert.equal(result.task, 'text-generation');
  const { model, tokenizer } = loadLanguageModel(modelDir);
  model.eval();
  const session = await ort.InferenceSession.create(path.join(onnxDir, 'onnx', 'model.onnx'));
  const emptyCache: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) for (const kv of ['key', 'value']) emptyCache[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
  const ids = tokenizer.encode('the sailors sang');
  const decoder = model as GPT | Llama;
  const kilnLogits = (row: readonly number[]): Float32Array => noGrad(() => decoder.forward(tensor([[...row]], { dtype: 'int64' })).toTypedArray() as Float32Array);
  const positions = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

  const prompt = ids.slice(0, 10);
  const first = await session.run({ input_ids: int64([prompt]), attention_mask: int64([prompt.map(() => 1)]), position_ids: int64([positions(0, 10)]), ...emptyCache });
  assert.ok(maxDiff(first['logits']!.data as Float32Array, kilnLogits(prompt)) < 1e-4, 'prompt logits');

  const cache: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) for (const kv of ['key', 'value']) cache[`past_key_values.${i}.${kv}`] = first[`present.${i}.${kv}`]!;
  const rest = ids.slice(10, 13);
  const next = await session.run({ input_ids: int64([rest]), attention_mask: int64([ids.slice(0, 13).map(() => 1)]), position_ids: int64([positions(10, 3)]), ...cache });
  const full = kilnLogits(ids.slice(0, 13));
  assert.ok(maxDiff(next['logits']!.data as Float32Array, full.slice(10 * tokenizer.vocabSize)) < 1e-4, 'logits through the cache');
  assert.deepEqual(next['present.0.key']!.dims, [1, kvHeads, 13, headDim]);

  const short = ids.slice(0, 4);
  const batchCache: Record<string, ort.Tensor> = {};
  for (const name of Object.keys(emptyCache)) batchCache[name] = new ort.Tensor('float32', new Float32Array(0), [2, kvHeads, 0, headDim]);
  const batch = await session.run({
    input_ids: int64([prompt.slice(0, 7), [0, 0, 0, ...short]]),
    attention_mask: int64([[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]]),
    position_ids: int64([positions(0, 7), [1, 1, 1, 0, 1, 2, 3]]),
    ...batchCache,
  });
  const V = tokenizer.vocabSize;
  const padded = (batch['logits']!.data as Float32Array).slice((7 + 3) * V, 14 * V);
  assert.ok(maxDiff(padded, kilnLogits(short)) < 1e-4, 'a left-padded row reads only its tokens');

  const generator = await pipeline('text-generation', onnxDir, { dtype: 'fp32' });
  const [generated] = (await generator('the whale', { max_new_tokens: 50, do_sample: false })) as { generated_text: string }[];
  const loaded = loadLanguageModel(modelDir);
  loaded.model.eval();
  assert.equal(generated!.generated_text, generateText(loaded, 'the whale', { maxNewTokens: 50, temperature: 0 }));
}

test('GPT language model: ONNX Runtime matches Kiln with and without the cache; transformers.js generates the same 50 tokens', async () => {
  manualSeed(1);
  const tokenizer = CharTokenizer.fromText(TEXT);
  const model = new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 96, nLayer: 2, nHead: 2, nEmbd: 32 });
  await checkCausalLm(languageModelFolder(model, tokenizer, 'gpt'), 2, 2, 16);
});

test('Llama language model with grouped-query attention and an untied head: the same checks', async () => {
  manualSeed(2);
  const tokenizer = CharTokenizer.fromText(TEXT);
  const model = new Llama({ vocabSize: tokenizer.vocabSize, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, intermediateSize: 64, maxSeqLen: 96, tieEmbeddings: false });
  await checkCausalLm(languageModelFolder(model, tokenizer, 'llama'), 2, 2, 8);
});

/** Two labels told apart by words; texts of every length, one with characters the training texts lack, one empty. */
const TEXTS = [
  'a calm grey sea',
  'storm! storm! the ship is sinking',
  '',
  'the sailors sang about the calm sea and the whale under the ship for hours and hours on end, calm',
  'storm € storm ✓',
  'x',
];

function classifierData(): string {
  const rows = ['text,label'];
  for (let i = 0; i < 80; i++) rows.push(i % 2 === 0 ? `the sea is calm and grey ${i % 7},calm` : `a storm hits the ship ${i % 5},storm`);
  const file = path.join(dir, 'calm-storm.csv');
  writeFileSync(file, rows.join('\n') + '\n');
  return file;
}

/** Fine-tunes a small classifier, exports it, and compares ONNX Runtime and transformers.js with `predict`. */
async function checkClassifier(name: string, config: Record<string, unknown>, onePipeline = false): Promise<void> {
  const out = path.join(dir, name);
  manualSeed(3);
  await finetune({ config: { layers: 1, heads: 2, dim: 16, blockSize: 16, threads: 1, train: classifierData(), maxSteps: 30, evalEvery: 30, lr: 3e-3, out, ...config } });
  const modelDir = path.join(out, 'best');
  const onnxDir = path.join(dir, `${name}-onnx`);
  assert.equal(exportOnnx(modelDir, onnxDir).task, 'text-classification');
  const kiln = predict(modelDir, TEXTS);

  // transformers.js' auto-classes list BERT classifiers (pipeline() works), not GPT-2 or Llama ones.
  const classify = onePipeline
    ? await pipeline('text-classification', onnxDir, { dtype: 'fp32' })
    : new TextClassificationPipeline({ task: 'text-classification', model: await PreTrainedModel.from_pretrained(onnxDir, { dtype: 'fp32' }), tokenizer: await AutoTokenizer.from_pretrained(onnxDir) });
  const scores = (await classify(TEXTS, { top_k: null })) as unknown as { label: string; score: number }[][];
  TEXTS.forEach((text, i) => {
    const expected = kiln[i]!;
    const got = scores[i]!;
    assert.equal(got[0]!.label, expected.label, `label of ${JSON.stringify(text)}`);
    for (const { label, score } of got) assert.ok(Math.abs(score - expected.probabilities[label]!) < 1e-4, `${label} score of ${JSON.stringify(text)}: ${score} vs ${expected.probabilities[label]}`);
  });
  // The labels are not all the same: the comparison saw the model tell texts apart.
  assert.ok(new Set(kiln.map((p) => p.label)).size === 2, 'both labels predicted');
}

test('GPT classifier (character vocabulary, windows of mean pooling, head+tail cut): transformers.js text-classification gives kiln predict\'s labels and scores', async () => {
  await checkClassifier('gpt-classifier', { from: 'scratch:gpt', pooling: 'mean', maxLength: 40, truncation: 'head+tail' });
});

test('Llama classifier (GPT-2 byte-level BPE, last token, tail cut): the same', async () => {
  await checkClassifier('llama-classifier', { from: 'scratch:llama', tokenizer: 'gpt2', pooling: 'last', maxLength: 12, truncation: 'tail' });
});

test('BERT classifier ([CLS] prefix and pooling, head cut): the same, through pipeline("text-classification", folder)', async () => {
  await checkClassifier('bert-classifier', { from: 'scratch:bert', pooling: 'cls', maxLength: 10, truncation: 'head' }, true);
});

test('kiln export onnx: the command writes the folder transformers.js reads; bad folders are clear errors', () => {
  const modelDir = path.join(dir, 'gpt-classifier', 'best');
  const onnxDir = path.join(dir, 'cli-export');
  const run = spawnSync(process.execPath, [MAIN, 'export', 'onnx', '--model', modelDir, '--out', onnxDir, '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { task: string; opset: number; ops: string[] };
  assert.deepEqual([result.task, result.opset], ['text-classification', 17]);
  const config = JSON.parse(readFileSync(path.join(onnxDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(config['id2label'], { 0: 'calm', 1: 'storm' });
  assert.deepEqual(config['architectures'], ['GPT2ForSequenceClassification']);

  const missing = spawnSync(process.execPath, [MAIN, 'export', 'onnx', '--model', path.join(dir, 'nothing'), '--out', onnxDir], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /does not exist/);
  const noOut = spawnSync(process.execPath, [MAIN, 'export', 'onnx', '--model', modelDir], { encoding: 'utf8' });
  assert.equal(noOut.status, 2);
  assert.match(noOut.stderr, /--out DIR is required/);
  const format = spawnSync(process.execPath, [MAIN, 'export', 'tflite', '--model', modelDir], { encoding: 'utf8' });
  assert.match(format.stderr, /unknown format 'tflite'; the formats are onnx/);
});

test("the README's 'Use it in your app' snippet runs as written on an exported classifier", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Use it in your app'));
  const command = /```sh\n(kiln export onnx [^\n]+)\n```/.exec(section);
  const snippet = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(command !== null && snippet !== null, 'the section has the export command and the JavaScript');
  const app = mkdtempSync(path.join(tmpdir(), 'kiln-readme-app-'));
  symlinkSync(fileURLToPath(new URL('../../../node_modules', import.meta.url)), path.join(app, 'node_modules'));
  const args = command[1]!.split(' ').slice(1).map((a) => (a === 'runs/demo/finetune-pretrained/best' ? path.join(dir, 'gpt-classifier', 'best') : a));
  const exported = spawnSync(process.execPath, [MAIN, ...args], { cwd: app, encoding: 'utf8' });
  assert.equal(exported.status, 0, exported.stderr);
  writeFileSync(path.join(app, 'app.mjs'), snippet[1]!);
  const run = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const expected = predict(path.join(dir, 'gpt-classifier', 'best'), ['WIN a FREE cruise, click here'])[0]!;
  assert.match(run.stdout, new RegExp(`label: '${expected.label}'`));
});

test('--quantize also writes onnx/model_quantized.onnx (int8 Linear weights): smaller, and transformers.js loads it as q8 with scores near kiln predict\'s', async () => {
  const modelDir = path.join(dir, 'gpt-classifier', 'best'); // a character vocabulary: the Linear layers hold most weights
  const onnxDir = path.join(dir, 'gpt-classifier-q8');
  const result = exportOnnx(modelDir, onnxDir, { quantize: true });
  assert.ok(result.quantizedBytes !== null && result.quantizedBytes < result.bytes, `${result.quantizedBytes} vs ${result.bytes} bytes`);
  const kiln = predict(modelDir, TEXTS);
  const model = await PreTrainedModel.from_pretrained(onnxDir, { dtype: 'q8' });
  const classify = new TextClassificationPipeline({ task: 'text-classification', model, tokenizer: await AutoTokenizer.from_pretrained(onnxDir) });
  const scores = (await classify(TEXTS, { top_k: null })) as unknown as { label: string; score: number }[][];
  let worst = 0;
  TEXTS.forEach((_, i) => {
    for (const { label, score } of scores[i]!) worst = Math.max(worst, Math.abs(score - kiln[i]!.probabilities[label]!));
  });
  // int8 rounding of the weights and activations moves the probabilities a little, not the decisions of this model.
  assert.ok(worst < 0.02, `largest probability difference ${worst}`);
  assert.deepEqual(scores.map((s) => s[0]!.label), kiln.map((p) => p.label));
});

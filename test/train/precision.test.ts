/**
 * bf16 mixed precision on the CPU: libtorch's autocast is on exactly inside `autocast('bf16', …)`
 * (matrix products in bf16, equal to the fp32 product of the bf16-rounded inputs, rounded;
 * cross-entropy in fp32; fp32 gradients; regions nest and restore), and every task of the Trainer
 * trains with `precision: 'bf16'`, its weights staying fp32, its losses close to fp32's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { finetune } from '../../src/finetune/finetune.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { crossEntropy, linear } from '../../src/nn/functional.js';
import { autocast, autocastSupported, isAutocastEnabled } from '../../src/tensor/autocast.js';
import { manualSeed, randn, tensor } from '../../src/tensor/creation.js';
import { buildInfo, cudaDeviceCount } from '../../src/tensor/runtime.js';
import { pretrainLanguageModel } from '../../src/train/pretrain.js';
import { runDetection } from '../../src/vision/detection/detect-run.js';
import { runEmbedding } from '../../src/vision/embedding/embed-run.js';
import { runImageClassification } from '../../src/vision/image-run.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-precision-'));

test('autocast bf16: matrix products in bf16 (the fp32 product of bf16-rounded inputs, rounded), the loss in fp32, fp32 gradients; regions nest and restore', () => {
  manualSeed(3);
  const w = randn([6, 40]).requiresGrad_(true);
  const x = randn([5, 40]);
  assert.equal(isAutocastEnabled(), false);
  const { y, loss } = autocast('bf16', () => {
    assert.equal(isAutocastEnabled(), true);
    const inner = autocast('bf16', () => linear(x, w));
    assert.equal(isAutocastEnabled(), true, 'leaving an inner region keeps the outer one on');
    const logits = linear(x, w);
    return { y: inner, loss: crossEntropy(logits, tensor([0, 1, 2, 3, 4]).long()) };
  });
  assert.equal(isAutocastEnabled(), false);
  assert.equal(y.dtype, 'bfloat16');
  assert.equal(loss.dtype, 'float32');
  const want = linear(x.to('bfloat16').float(), w.detach().to('bfloat16').float()); // exact products of the rounded inputs, fp32 sums
  const got = y.float();
  const err = got.sub(want).abs().max().item();
  const scale = want.abs().max().item();
  assert.ok(err <= scale * 2 ** -7, `bf16 result within bf16 rounding of the fp32 product: ${err} vs ${scale * 2 ** -7}`);
  assert.ok(err > 0, 'the result really is rounded to bf16');
  loss.backward();
  assert.equal(w.grad!.dtype, 'float32');
  assert.equal(linear(x, w).dtype, 'float32', 'outside the region: fp32');
  assert.equal(autocast('fp32', () => linear(x, w)).dtype, 'float32');
});

const lossLines = (out: string): number[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; val_loss?: number }).filter((l) => l.val_loss === undefined).map((l) => l.loss);

const allFp32 = (file: string): boolean => Object.values(loadSafetensors(file).tensors).every((t) => t.dtype === 'float32' || t.dtype === 'int64');

test('every task of the Trainer trains with --device cpu --precision bf16: weights stay fp32, losses close to fp32', async () => {
  const corpus = path.join(dir, 'corpus.txt');
  writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(400));
  const losses: Record<string, number[]> = {};
  for (const precision of ['fp32', 'bf16'] as const) {
    const out = path.join(dir, `gpt-${precision}`);
    await pretrainLanguageModel({ config: { data: [corpus], layers: 2, heads: 2, dim: 64, blockSize: 32, batchSize: 8, maxSteps: 20, evalEvery: 20, evalIters: 2, logEvery: 1, warmup: 0, threads: 1, precision, device: precision === 'bf16' ? 'cpu' : 'auto', out } });
    losses[precision] = lossLines(out);
    assert.ok(allFp32(path.join(out, 'model', 'model.safetensors')), `${precision}: saved weights are fp32`);
  }
  const [a, b] = [losses['fp32']!, losses['bf16']!];
  assert.equal(a.length, 20);
  assert.ok(Math.abs(a[0]! - b[0]!) < 0.02, `first-step loss ${a[0]} vs ${b[0]}`);
  assert.notEqual(a[0], b[0], 'the bf16 run really computed in bf16');
  assert.ok(Math.abs(a.at(-1)! - b.at(-1)!) < 0.1 && b.at(-1)! < b[0]! - 0.5, `last loss ${a.at(-1)} vs ${b.at(-1)}; bf16 learns (${b[0]} → ${b.at(-1)})`);

  const labelled = path.join(dir, 'labelled.csv');
  writeFileSync(labelled, 'text,label\n' + Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? `good great fine ${i},pos` : `bad awful poor ${i},neg`)).join('\n') + '\n');
  const pairs = path.join(dir, 'pairs.jsonl');
  writeFileSync(pairs, Array.from({ length: 60 }, (_, i) => JSON.stringify({ prompt: `w${i % 7}>`, completion: `${i % 7}` })).join('\n') + '\n');
  const tiny = { layers: 1, heads: 2, dim: 32, blockSize: 16, maxSteps: 4, evalEvery: 4, batchSize: 8, threads: 1, precision: 'bf16' as const, device: 'cpu' };
  await finetune({ config: { ...tiny, train: labelled, out: path.join(dir, 'classify') } });
  await finetune({ config: { ...tiny, task: 'generate', train: pairs, out: path.join(dir, 'generate') } });
  for (const name of ['classify', 'generate']) {
    const out = path.join(dir, name);
    assert.ok(lossLines(out).every(Number.isFinite), `${name}: finite losses`);
    assert.ok(allFp32(path.join(out, 'model', 'model.safetensors')), `${name}: fp32 weights`);
  }
  const image = await runImageClassification({ data: 'mnist', classes: [0, 1], maxSteps: 4, evalEvery: 4, valSize: 50, batchSize: 16, threads: 1, precision: 'bf16', device: 'cpu', out: path.join(dir, 'image') });
  const detect = await runDetection({ classes: [0, 1], trainImages: 40, valImages: 10, testImages: 10, width: 4, maxSteps: 4, evalEvery: 4, batchSize: 8, threads: 1, precision: 'bf16', device: 'cpu', out: path.join(dir, 'detect') });
  const embed = await runEmbedding({ identities: 20, views: 4, valIdentities: 5, testIdentities: 5, embeddingSize: 16, maxSteps: 4, evalEvery: 4, batchSize: 8, threads: 1, precision: 'bf16', device: 'cpu', out: path.join(dir, 'embed') });
  for (const [name, result] of [['image', image], ['detect', detect], ['embed', embed]] as const) {
    assert.equal(result.step, 4, name);
    assert.ok(lossLines(result.out).every(Number.isFinite), `${name}: finite losses`);
    assert.ok(allFp32(path.join(result.out, 'model', 'model.safetensors')), `${name}: fp32 weights`);
  }
  const state = JSON.parse(readFileSync(path.join(dir, 'image', 'config.json'), 'utf8')) as { precision: string };
  assert.equal(state.precision, 'bf16');
});

test('--precision is one of fp32, bf16, fp16 (fp16 refused where no autocast has it), and --device cuda is refused on this build, in every command that runs a model', () => {
  const fp16Here = autocastSupported('fp16', 'cpu') || cudaDeviceCount() > 0;
  for (const args of [['pretrain'], ['finetune', '--train', 'x.csv'], ['pretrain', '--task', 'image-classification', '--data', 'mnist'], ['pretrain', '--task', 'detect']]) {
    const run = spawnSync(process.execPath, [MAIN, ...args, '--precision', 'fp8', '--out', path.join(dir, 'bad')], { encoding: 'utf8' });
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /precision must be one of fp32, bf16, fp16, got .fp8./, args.join(' '));
    if (!fp16Here) {
      const fp16 = spawnSync(process.execPath, [MAIN, ...args, '--precision', 'fp16', '--out', path.join(dir, 'bad')], { encoding: 'utf8' });
      assert.equal(fp16.status, 2, `${args.join(' ')}: ${fp16.stderr}`);
      assert.match(fp16.stderr, /^kiln \w+: --precision fp16: no GPU is in reach, and libtorch [\d.]+'s CPU autocast has no fp16 \(it has from libtorch 2\.4\): use --precision bf16 on the CPU.*\n$/, args.join(' '));
    }
  }
  if (buildInfo().cuda) return; // the refusal below is a CPU-only build's
  const cudaLine = /^kiln \w+: --device cuda:0: this Kiln addon is built against a libtorch without CUDA; build one with CUDA: LIBTORCH=.*npm run build:native.*\n$/;
  const commands = [
    ['pretrain'],
    ['finetune', '--train', 'x.csv'],
    ['pretrain', '--task', 'image-classification', '--data', 'mnist'],
    ['pretrain', '--task', 'detect'],
    ['evaluate', '--model', dir, '--data', 'x.csv'],
    ['evaluate', '--task', 'image-classification', '--model', dir, '--data', 'mnist'],
    ['evaluate', '--task', 'detect', '--model', dir],
    ['evaluate', '--task', 'embed', '--model', dir],
    ['predict', '--model', dir, '--text', 'hello'],
    ['generate', '--model', dir],
    ['detect', '--model', dir, '--input', dir],
    ['embed', '--model', dir, '--detector', dir, '--landmarks', dir, '--input', dir],
    ['compare', '--task', 'classify', '--train', 'x.csv', '--candidates', 'scratch:gpt', '--steps', '1', '--out', path.join(dir, 'cmp')],
  ];
  for (const args of commands) {
    // A CUDA device on this CPU-only build: one line that says how to get a CUDA build.
    const cuda = spawnSync(process.execPath, [MAIN, ...args, '--device', 'cuda:0', ...(args[0] === 'pretrain' || args[0] === 'finetune' ? ['--out', path.join(dir, 'bad')] : [])], { encoding: 'utf8' });
    assert.equal(cuda.status, 2, `${args.join(' ')}: ${cuda.stderr}`);
    assert.match(cuda.stderr, cudaLine, args.join(' '));
  }
});

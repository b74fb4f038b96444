/**
 * Gradient checkpointing: `checkpoint(fn, …inputs)` gives the gradients the plain call gives (it
 * runs fn again in backward, with the dropout masks and autocast of the first run), and
 * `setGradientCheckpointing` on GPT, Llama, BERT and ViT gives every parameter the gradient it
 * has without (1e-5; dropout on, bf16 too, LoRA behind frozen embeddings), at a lower peak memory
 * (measured in child processes). The Trainer turns it on with `gradCheckpointing` and refuses it
 * for a model without transformer blocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { finetune } from '../../src/finetune/finetune.js';
import { applyLora } from '../../src/finetune/lora.js';
import { BertModel } from '../../src/models/bert.js';
import { GPT } from '../../src/models/gpt.js';
import { Llama } from '../../src/models/llama.js';
import { dropout } from '../../src/nn/functional.js';
import { setGradientCheckpointing } from '../../src/nn/gradient-checkpointing.js';
import type { Module } from '../../src/nn/module.js';
import { autocast, isAutocastEnabled, type Precision } from '../../src/tensor/autocast.js';
import { checkpoint, noGrad } from '../../src/tensor/autograd.js';
import { manualSeed, randint, randn, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { pretrainLanguageModel } from '../../src/train/pretrain.js';
import { runImageClassification } from '../../src/vision/image-run.js';
import { ViTForImageClassification } from '../../src/vision/models/vit.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-checkpointing-'));
/** The training lines' losses of a run folder. */
const lossLines = (out: string): number[] =>
  readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; val_loss?: number }).filter((l) => l.val_loss === undefined).map((l) => l.loss);

test('checkpoint: the gradients of the plain call; fn runs again in backward (not under noGrad); an error in the rerun reaches the caller', () => {
  manualSeed(1);
  const w = randn([8, 8]).requiresGrad_(true);
  const x = randn([4, 8]).requiresGrad_(true);
  let calls = 0;
  const fn = (h: Tensor): Tensor => {
    calls++;
    return h.matmul(w).tanh().mul(h);
  };
  fn(x).square().sum().backward();
  const [gw, gx] = [w.grad!.clone(), x.grad!.clone()];
  w.grad = null;
  x.grad = null;
  calls = 0;
  const y = checkpoint(fn, x);
  assert.equal(calls, 1);
  assert.equal(y.requiresGrad, true);
  y.square().sum().backward();
  assert.equal(calls, 2, 'backward runs the region again');
  assert.deepEqual(w.grad!.toArray(), gw.toArray());
  assert.deepEqual(x.grad!.toArray(), gx.toArray());

  calls = 0;
  const plain = noGrad(() => checkpoint(fn, x));
  assert.equal(calls, 1);
  assert.equal(plain.requiresGrad, false);

  let fail = false;
  const z = checkpoint((h) => {
    if (fail) throw new Error('rerun failed');
    return h.matmul(w);
  }, x);
  fail = true;
  assert.throws(() => autocast('bf16', () => z.sum()).backward(), /rerun failed/);
  assert.equal(isAutocastEnabled(), false);
});

test('checkpoint: the rerun sees the dropout masks and the autocast of the first run', () => {
  manualSeed(2);
  const w = randn([16, 16]).requiresGrad_(true);
  const x = randn([8, 16]).requiresGrad_(true); // as PyTorch's reentrant checkpoint: an input needs a gradient
  const fn = (h: Tensor): Tensor => dropout(h.matmul(w), 0.5, true);
  for (const precision of ['fp32', 'bf16'] as Precision[]) {
    manualSeed(5);
    autocast(precision, () => fn(x)).sum().backward();
    const expected = w.grad!.clone();
    w.grad = null;
    manualSeed(5);
    const y = autocast(precision, () => checkpoint(fn, x));
    randn([100]); // the random state moves on before backward
    y.sum().backward();
    assert.deepEqual(w.grad!.toArray(), expected.toArray(), precision);
    w.grad = null;
  }
});

/** Every parameter's gradient of loss(model), with and without checkpointing, from the same random state. */
function gradients(model: Module, loss: () => Tensor, checkpointed: boolean, precision: Precision): Map<string, number[]> {
  setGradientCheckpointing(model, checkpointed);
  model.zeroGrad();
  manualSeed(11);
  autocast(precision, loss).backward();
  return new Map(model.namedParameters().filter(([, p]) => p.grad !== null).map(([name, p]) => [name, Array.from(p.grad!.flatten().toArray() as number[])]));
}

function assertSameGradients(model: Module, loss: () => Tensor, what: string): void {
  model.train();
  for (const precision of ['fp32', 'bf16'] as Precision[]) {
    const plain = gradients(model, loss, false, precision);
    const checkpointed = gradients(model, loss, true, precision);
    assert.ok(plain.size > 0);
    assert.deepEqual([...checkpointed.keys()], [...plain.keys()], `${what} ${precision}: the same parameters get gradients`);
    let worst = 0;
    for (const [name, g] of plain) {
      const c = checkpointed.get(name)!;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i]! - c[i]!));
    }
    assert.ok(worst <= 1e-5, `${what} ${precision}: largest gradient difference ${worst}`);
  }
}

test('gradient checkpointing gives GPT, Llama, BERT and ViT the same gradients (dropout on; fp32 and bf16)', () => {
  manualSeed(3);
  const ids = randint(0, 50, [3, 12]);
  const targets = randint(0, 50, [3, 12]);
  const gpt = new GPT({ vocabSize: 50, blockSize: 12, nLayer: 3, nHead: 2, nEmbd: 32, dropout: 0.2 });
  assert.equal(setGradientCheckpointing(gpt, false), 1);
  assertSameGradients(gpt, () => gpt.loss(ids, targets), 'GPT');
  const llama = new Llama({ vocabSize: 50, dim: 32, nLayers: 3, nHeads: 4, nKvHeads: 2, maxSeqLen: 12, intermediateSize: 64 });
  assertSameGradients(llama, () => llama.loss(ids, targets), 'Llama');
  const bert = new BertModel({ vocabSize: 50, hiddenSize: 32, numHiddenLayers: 3, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 12 });
  const attentionMask = tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]]).long();
  assertSameGradients(bert, () => bert.forward(ids, { attentionMask }).pooledOutput!.square().mean(), 'BERT');
  const vit = new ViTForImageClassification({ inChannels: 1, numClasses: 3, imageSize: 8, patchSize: 4, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, hiddenDropout: 0.1 });
  const images = randn([2, 1, 8, 8]);
  assertSameGradients(vit, () => vit.forward(images).square().mean(), 'ViT');
});

test('gradient checkpointing with LoRA behind frozen embeddings: the adapters get their gradients', () => {
  manualSeed(4);
  const ids = randint(0, 40, [2, 10]);
  const targets = randint(0, 40, [2, 10]);
  const gpt = new GPT({ vocabSize: 40, blockSize: 10, nLayer: 2, nHead: 2, nEmbd: 16 });
  gpt.freeze();
  applyLora(gpt, { rank: 4, alpha: 8, dropout: 0, targets: ['*c_attn'] });
  noGrad(() => {
    for (const [name, p] of gpt.namedParameters()) if (name.includes('lora_B')) p.copy_(randn(p.shape).mul(0.1));
  });
  const trainable = gpt.parameters().filter((p) => p.requiresGrad);
  assert.equal(trainable.length, 4);
  assertSameGradients(gpt, () => gpt.loss(ids, targets), 'GPT + LoRA');
});

test('gradient checkpointing lowers the peak memory of a forward and backward (RSS in child processes)', () => {
  const script = `
    const { GPT } = await import(${JSON.stringify(new URL('../../src/models/gpt.js', import.meta.url).href)});
    const { setGradientCheckpointing } = await import(${JSON.stringify(new URL('../../src/nn/gradient-checkpointing.js', import.meta.url).href)});
    const { manualSeed, randint } = await import(${JSON.stringify(new URL('../../src/tensor/creation.js', import.meta.url).href)});
    manualSeed(1);
    const model = new GPT({ vocabSize: 256, blockSize: 128, nLayer: 32, nHead: 8, nEmbd: 64 });
    setGradientCheckpointing(model, process.argv[1] === 'on');
    const ids = randint(0, 256, [16, 128]);
    const before = process.memoryUsage().rss;
    model.loss(ids, ids).backward();
    console.log(JSON.stringify({ grown: process.resourceUsage().maxRSS * 1024 - before }));`;
  const grown = (mode: string): number => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, mode], { encoding: 'utf8', env: { ...process.env, KILN_NUM_THREADS: '1' } });
    assert.equal(child.status, 0, child.stderr);
    return (JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { grown: number }).grown;
  };
  const [off, on] = [grown('off'), grown('on')];
  // 32 blocks of activations (the MLP's, the layer norms', attention's inputs and outputs; the fused
  // attention keeps no (T, T) weights): ~300 MB kept without checkpointing, one block at a time with it.
  assert.ok(on < off * 0.5, `peak RSS growth with checkpointing ${(on / 2 ** 20).toFixed(0)} MiB, without ${(off / 2 ** 20).toFixed(0)} MiB`);
});

test('the Trainer: pretraining (fp32 and bf16), LoRA fine-tuning and a ViT image run train with gradCheckpointing as without; an LSTM refuses it; --device cuda on this build is one line naming how to get a CUDA build', async () => {
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(60));
  const run = async (gradCheckpointing: boolean): Promise<number> => {
    const result = await pretrainLanguageModel({ config: { data: [text], layers: 2, heads: 2, dim: 16, blockSize: 16, batchSize: 4, maxSteps: 6, evalEvery: 6, evalIters: 2, dropout: 0.1, gradCheckpointing, out: path.join(dir, `gpt-${gradCheckpointing}`) } });
    return result.bestValLoss;
  };
  const [plain, checkpointed] = [await run(false), await run(true)];
  assert.ok(Math.abs(plain - checkpointed) < 1e-5, `validation loss ${plain} vs ${checkpointed}`);
  // bf16: the rerun's cast weights must not outlive it (the optimizer changes the weights before the next forward).
  const bf16 = async (gradCheckpointing: boolean): Promise<number[]> => {
    const out = path.join(dir, `gpt-bf16-${gradCheckpointing}`);
    await pretrainLanguageModel({ config: { data: [text], layers: 2, heads: 2, dim: 16, blockSize: 16, batchSize: 4, maxSteps: 6, evalEvery: 6, evalIters: 2, logEvery: 1, lr: 0.01, precision: 'bf16', gradCheckpointing, out } });
    return lossLines(out);
  };
  const [bf16Plain, bf16Checkpointed] = [await bf16(false), await bf16(true)];
  assert.equal(bf16Plain.length, 6);
  bf16Plain.forEach((l, i) => assert.ok(Math.abs(l - bf16Checkpointed[i]!) < 1e-5, `bf16 step ${i + 1}: ${l} vs ${bf16Checkpointed[i]}`));
  // LoRA fine-tuning (frozen embeddings before the blocks) and a ViT image run, through the same Trainer.
  const labelled = path.join(dir, 'labelled.csv');
  writeFileSync(labelled, 'text,label\n' + Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `good great ${i},pos` : `bad awful ${i},neg`)).join('\n') + '\n');
  const lora = async (gradCheckpointing: boolean): Promise<number[]> => {
    const out = path.join(dir, `lora-${gradCheckpointing}`);
    await finetune({ config: { train: labelled, mode: 'lora', layers: 2, heads: 2, dim: 16, blockSize: 16, maxSteps: 5, evalEvery: 5, logEvery: 1, batchSize: 8, dropout: 0.1, threads: 1, gradCheckpointing, out } });
    return lossLines(out);
  };
  const [loraPlain, loraCheckpointed] = [await lora(false), await lora(true)];
  assert.equal(loraPlain.length, 5);
  loraPlain.forEach((l, i) => assert.ok(Math.abs(l - loraCheckpointed[i]!) < 1e-5, `LoRA step ${i + 1}: ${l} vs ${loraCheckpointed[i]}`));
  const vit = async (gradCheckpointing: boolean): Promise<number[]> => {
    const result = await runImageClassification({ data: 'mnist', classes: [0, 1], arch: 'vit', patchSize: 7, hiddenSize: 16, layers: 2, heads: 2, maxSteps: 3, evalEvery: 3, logEvery: 1, valSize: 20, batchSize: 8, threads: 1, gradCheckpointing, out: path.join(dir, `vit-${gradCheckpointing}`) });
    return lossLines(result.out);
  };
  const [vitPlain, vitCheckpointed] = [await vit(false), await vit(true)];
  assert.equal(vitPlain.length, 3);
  vitPlain.forEach((l, i) => assert.ok(Math.abs(l - vitCheckpointed[i]!) < 1e-5, `ViT step ${i + 1}: ${l} vs ${vitCheckpointed[i]}`));
  await assert.rejects(
    pretrainLanguageModel({ config: { arch: 'lstm', data: [text], layers: 1, dim: 16, blockSize: 16, maxSteps: 2, gradCheckpointing: true, out: path.join(dir, 'lstm') } }),
    /--grad-checkpointing recomputes transformer blocks .*this model has none/,
  );
  const cli = spawnSync(process.execPath, [MAIN, 'pretrain', '--data', text, '--max-steps', '1', '--device', 'cuda', '--out', path.join(dir, 'cuda')], { encoding: 'utf8' });
  assert.equal(cli.status, 2);
  const lines = cli.stderr.trim().split('\n');
  assert.equal(lines.length, 1, cli.stderr);
  assert.match(lines[0]!, /--device cuda: this Kiln addon is built against a libtorch without CUDA; build one with CUDA: LIBTORCH=.* npm run build:native/);
});

/**
 * LoRA fine-tuning: the pretrained weights stay frozen and each attention projection W learns
 * a low-rank update (alpha / r) · B A instead, so a run trains a few percent of the parameters
 * and its result is a small adapter file. Merging folds B A into W: the model is then a plain
 * GPT again, and computes what the adapted one did.
 *
 *   npm run build:ts && node dist/examples/lora-finetune.js [MODEL_DIR] [LABELLED_CSV]
 *
 * MODEL_DIR is a GPT folder (kiln pretrain's OUT/best, or a Hugging Face GPT-2 folder with a
 * tokenizer.json); without one, a small GPT is pretrained first on the built-in corpus.
 * LABELLED_CSV has a header `text,label` and one example per row; without one, the built-in
 * spam task is used.
 */
import path from 'node:path';
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { finetune, loadGpt2Folder, loadLoraAdapter, loadTokenizer, mergeLora, noGrad, pretrainLanguageModel, scope, tensor } from '../src/index.js';

export interface LoraFinetuneOptions {
  /** The GPT folder to adapt; null pretrains one into OUT/pretrain. @default null */
  from?: string | null;
  /** Labelled data: a CSV with text and label columns, or 'default' (the spam task). @default 'default' */
  train?: string;
  /** Folder for the run(s). @default 'runs/example-lora' */
  out?: string;
  /** Steps of the fresh pretraining, when `from` is null. @default 800 */
  pretrainSteps?: number;
  /** The fresh model's shape, when `from` is null. @default { layers: 4, heads: 4, dim: 128, blockSize: 64 } */
  shape?: { layers: number; heads: number; dim: number; blockSize: number };
  /** Fine-tuning steps. @default 150 */
  steps?: number;
  /** LoRA rank r. @default 8 */
  rank?: number;
  /** Peak learning rate; LoRA's few parameters take a larger one than full fine-tuning. @default 1e-3 */
  lr?: number;
  /** libtorch threads; null keeps libtorch's default. @default null */
  threads?: number | null;
  /** @default console.log */
  log?: (line: string) => void;
}

export interface LoraFinetuneResult {
  baseDir: string;
  /** The fine-tuned classifier, adapters merged in. */
  bestDir: string;
  /** The adapters alone (adapter_model.safetensors, adapter_config.json). */
  adapterDir: string;
  loraLayers: string[];
  trainableFraction: number;
  /** Largest |merged − unmerged| over the logits of the probe text. */
  mergeDeviation: number;
}

export const PROBE_TEXT = 'Dear friend, your account needs attention today.';

export async function loraFinetune(options: LoraFinetuneOptions = {}): Promise<LoraFinetuneResult> {
  const out = options.out ?? 'runs/example-lora';
  const threads = options.threads ?? null;
  const log = options.log ?? console.log;

  // A base model to adapt: the given folder, or a small GPT pretrained here.
  let baseDir = options.from ?? null;
  if (baseDir === null) {
    const steps = options.pretrainSteps ?? 800;
    const shape = options.shape ?? { layers: 4, heads: 4, dim: 128, blockSize: 64 };
    const pretrained = await pretrainLanguageModel({
      config: { arch: 'gpt', ...shape, tokenizer: 'char', maxSteps: steps, warmup: Math.min(100, steps), threads, out: path.join(out, 'pretrain') },
      onLog: (line, info) => info.isEval && log(`pretraining step ${line.step}/${info.maxSteps}: validation loss ${line.val_loss!.toFixed(3)}`),
    });
    baseDir = pretrained.bestDir;
    log(`pretrained a base GPT for ${pretrained.step} steps (validation loss ${pretrained.bestValLoss.toFixed(3)}) → ${baseDir}`);
  }

  // mode 'lora' freezes the whole base model and wraps the attention projections (c_attn,
  // c_proj) in LoRA layers; only the adapters and the new classification head train.
  const steps = options.steps ?? 150;
  const tuned = await finetune({
    config: { from: baseDir, train: options.train ?? 'default', mode: 'lora', loraRank: options.rank ?? 8, loraAlpha: 2 * (options.rank ?? 8), lr: options.lr ?? 1e-3, maxSteps: steps, warmup: Math.min(20, steps), evalEvery: 25, threads, out: path.join(out, 'lora') },
  });
  const { trainable } = tuned;
  log(`LoRA on ${trainable.loraLayers.length} layers (${trainable.loraLayers.slice(0, 2).join(', ')}, …): ${trainable.trainableParameters} of ${trainable.totalParameters} parameters train (${(100 * trainable.trainableFraction).toFixed(2)}%)`);
  if (tuned.test !== null && 'accuracy' in tuned.test) log(`test accuracy ${tuned.test.accuracy.toFixed(3)}, macro-F1 ${tuned.test.macro_f1.toFixed(3)}`);

  // The run saved the adapters on their own, next to the merged classifier: a few kB instead of the whole model.
  const adapterDir = tuned.adapterDir!;
  const kB = (file: string): string => (statSync(file).size / 1024).toFixed(0);
  log(`adapter ${kB(path.join(adapterDir, 'adapter_model.safetensors'))} kB vs base model ${kB(path.join(baseDir, 'model.safetensors'))} kB → ${adapterDir}`);

  // Base + adapter, unmerged: every adapted layer computes W x + (alpha / r) · B (A x).
  const { model } = loadGpt2Folder(baseDir);
  loadLoraAdapter(model, adapterDir);
  model.eval(); // no LoRA dropout
  const ids = tensor([loadTokenizer(baseDir).encode(PROBE_TEXT).slice(0, model.config.blockSize)], { dtype: 'int64' }); // (1, T)
  const logits = (): Float32Array => noGrad(() => scope(() => model.forward(ids).toTypedArray() as Float32Array)); // (1, T, V)
  const unmerged = logits();
  // Merged: W ← W + (alpha / r) · B A, and the LoRA layers become plain Linears again.
  mergeLora(model);
  const merged = logits();
  const mergeDeviation = merged.reduce((worst, m, i) => Math.max(worst, Math.abs(m - unmerged[i]!)), 0);
  log(`merged vs unmerged logits: max |Δ| = ${mergeDeviation.toExponential(1)} (float32 rounding)`);

  return { baseDir, bestDir: tuned.bestDir, adapterDir, loraLayers: trainable.loraLayers, trainableFraction: trainable.trainableFraction, mergeDeviation };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [from, train] = process.argv.slice(2);
  await loraFinetune({ from: from ?? null, ...(train === undefined ? {} : { train }) });
}

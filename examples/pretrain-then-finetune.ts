/**
 * Kiln's whole story in library calls: pretrain a small character-level GPT on plain text, then
 * fine-tune it to tell spam from ham with 200 labelled e-mails, score it on held-out e-mails and
 * label two new texts.
 *
 *   npm run build:ts && node dist/examples/pretrain-then-finetune.js [TEXT_FILE...]
 *
 * With no argument it pretrains on the built-in corpus (Moby-Dick + State of the Union
 * addresses). The defaults are half of `npm run demo`'s pretraining steps and its fine-tuning
 * recipe; the test runs the same function with a tiny model and a few steps.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Prediction, finetune, predict, pretrainLanguageModel } from '../src/index.js';

export interface PretrainThenFinetuneOptions {
  /** Text files to pretrain on; ['default'] is the built-in corpus. @default ['default'] */
  data?: string[];
  /** Folder for both runs: OUT/pretrain and OUT/finetune. @default 'runs/example-pretrain-then-finetune' */
  out?: string;
  /** @default 1500 */
  pretrainSteps?: number;
  /** @default 150 */
  finetuneSteps?: number;
  /** The GPT's shape (nanoGPT's baby GPT by default). @default { layers: 4, heads: 4, dim: 128, blockSize: 64 } */
  shape?: { layers: number; heads: number; dim: number; blockSize: number };
  /** libtorch threads; null keeps libtorch's default. @default null */
  threads?: number | null;
  /** @default console.log */
  log?: (line: string) => void;
}

export interface PretrainThenFinetuneResult {
  pretrainDir: string;
  finetuneDir: string;
  pretrainValLoss: number;
  /** The best checkpoint on the held-out test e-mails. */
  test: { accuracy: number; macro_f1: number; count: number };
  labels: string[];
  predictions: Prediction[];
}

export const NEW_TEXTS = ['Congratulations! You have WON a free cruise. Reply now with your bank details to claim.', 'Hi Sam, the meeting moved to 3pm on Thursday; the slides are in the shared folder.'];

export async function pretrainThenFinetune(options: PretrainThenFinetuneOptions = {}): Promise<PretrainThenFinetuneResult> {
  const out = options.out ?? 'runs/example-pretrain-then-finetune';
  const shape = options.shape ?? { layers: 4, heads: 4, dim: 128, blockSize: 64 };
  const threads = options.threads ?? null;
  const log = options.log ?? console.log;
  const [pretrainSteps, finetuneSteps] = [options.pretrainSteps ?? 1500, options.finetuneSteps ?? 150];

  // 1. Pretraining: next-character prediction on unlabelled text. Every setting not given here
  //    keeps its documented default (PRETRAIN_DEFAULTS); the tokenizer is built from the text.
  const pretrained = await pretrainLanguageModel({
    config: {
      arch: 'gpt',
      ...shape,
      data: options.data ?? ['default'],
      tokenizer: 'char',
      maxSteps: pretrainSteps,
      warmup: Math.min(100, pretrainSteps), // the learning rate ramps up over the first steps
      evalEvery: 250, // validation loss, and OUT/best keeps the best weights so far
      threads,
      out: path.join(out, 'pretrain'),
    },
    onLog: (line, info) => info.isEval && log(`pretraining step ${line.step}/${info.maxSteps}: validation loss ${line.val_loss!.toFixed(3)}`),
  });
  log(`pretrained ${pretrained.step} steps: validation loss ${pretrained.bestValLoss.toFixed(3)} nats/char → ${pretrained.bestDir}`);

  // 2. Fine-tuning: the pretrained weights plus a new classification head, trained on the
  //    built-in spam task ('default'). Spam is the minority class, so 'auto' class weights
  //    count it more; mean pooling averages every token's hidden state, and 'head+tail'
  //    truncation keeps a long e-mail's start and end: eight context windows of it (512
  //    characters for the default shape), each read on its own and pooled together; a low
  //    learning rate keeps 200 examples from being overfitted within a few dozen steps.
  const tuned = await finetune({
    config: {
      from: pretrained.bestDir, // the same shape comes with the folder
      train: 'default',
      trainSize: 200,
      classWeights: 'auto',
      pooling: 'mean',
      truncation: 'head+tail',
      maxLength: 8 * shape.blockSize,
      lr: 2e-4,
      maxSteps: finetuneSteps,
      warmup: Math.min(20, finetuneSteps),
      evalEvery: 25,
      threads,
      out: path.join(out, 'finetune'),
    },
  });
  // The test split (20% of the e-mails) took no part in training nor in picking the best checkpoint.
  if (tuned.test === null || !('accuracy' in tuned.test)) throw new Error('pretrainThenFinetune: the run has no classification test split');
  const test = { accuracy: tuned.test.accuracy, macro_f1: tuned.test.macro_f1, count: tuned.test.count };
  log(`fine-tuned ${tuned.step} steps (best at step ${tuned.bestStep}) in ${tuned.seconds.toFixed(0)} s: test accuracy ${test.accuracy.toFixed(3)}, macro-F1 ${test.macro_f1.toFixed(3)} on ${test.count} e-mails`);

  // 3. The saved folder is all a later program needs to label new texts (or `kiln predict`).
  const predictions = predict(tuned.bestDir, NEW_TEXTS);
  predictions.forEach((p, i) => log(`${p.label.padEnd(5)} ${(100 * p.probabilities[p.label]!).toFixed(0)}%  ${NEW_TEXTS[i]!.slice(0, 60)}…`));
  return { pretrainDir: pretrained.bestDir, finetuneDir: tuned.bestDir, pretrainValLoss: pretrained.bestValLoss, test, labels: tuned.labels!, predictions };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = process.argv.slice(2);
  await pretrainThenFinetune(files.length > 0 ? { data: files } : {});
}

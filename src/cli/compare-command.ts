/**
 * `kiln compare`: fine-tune every candidate on the same data with the same budget and seeds,
 * evaluate on the same test set, print and write a leaderboard. The fine-tuning itself is a
 * `CompareRunner` passed in by whoever registers the command (see runCompare), so this file
 * holds only the command line and the driver call.
 */
import { formatFlags, parseCommandFlags, type FlagSpec } from './args.js';
import { UsageError } from './usage-error.js';
import { DEVICE_FLAG } from './device-flag.js';
import { PRECISIONS } from '../tensor/autocast.js';
import { COMPUTE_SCHEMA } from '../train/compute-settings.js';
import { type CompareCandidate, parseCandidates } from '../report/compare-candidates.js';
import { COMPARE_TASKS, type CompareJob, type CompareRunner, type CompareTask } from '../report/compare-job.js';
import { parseDuration } from '../train/pretrain-config.js';
import { TFIDF_BASELINE } from '../finetune/tfidf/baseline-name.js';

export { COMPARE_TASKS, type CompareJob, type CompareRunner, type CompareTask } from '../report/compare-job.js';

export const COMPARE_SUMMARY = 'fine-tune several pretrained models the same way and rank them';

/** The metric a task ranks by unless --metric says otherwise; the runner's metrics must include it. */
export const DEFAULT_COMPARE_METRIC: Record<CompareTask, string> = {
  classify: 'accuracy',
  'image-classification': 'accuracy',
  generate: 'loss',
};


export const COMPARE_FLAGS: readonly FlagSpec[] = [
  { name: 'task', kind: 'string', help: 'what to fine-tune for', valueName: COMPARE_TASKS.join('|') },
  { name: 'train', kind: 'list', help: 'training data files', valueName: 'PATH...' },
  { name: 'test', kind: 'list', help: 'test data files every candidate is evaluated on', valueName: 'PATH...', defaultText: 'a held-out part of --train' },
  { name: 'candidates', kind: 'list', help: "pretrained model folders, 'scratch:ARCH' and 'baseline:tfidf', comma- or space-separated (classify adds baseline:tfidf unless --no-baseline)", valueName: 'DIR,scratch:ARCH,...' },
  { name: 'no-baseline', kind: 'boolean', help: 'classify: leave out the TF-IDF + logistic regression row that every text leaderboard gets' },
  { name: 'budget', kind: 'duration', help: 'training time per run, e.g. 5m (or --steps)' },
  { name: 'steps', kind: 'int', help: 'optimizer steps per run (or --budget)' },
  { name: 'seeds', kind: 'int', help: 'runs per candidate, with seeds 0 … N-1', defaultText: '3' },
  { name: 'metric', kind: 'string', help: 'metric to rank by', defaultText: Object.entries(DEFAULT_COMPARE_METRIC).map(([t, m]) => `${m} for ${t}`).join(', ') },
  { name: 'out', kind: 'string', help: 'folder for the runs, results.jsonl, leaderboard.json and leaderboard.html', valueName: 'DIR' },
  { ...DEVICE_FLAG, help: 'where every run trains and evaluates: auto (the GPU when this build has CUDA and one is visible, else the CPU), cpu, cuda or cuda:N' },
  { name: 'precision', kind: 'string', help: 'every run\'s precision: fp32, bf16 or fp16 (as kiln finetune\'s --precision)', defaultText: 'fp32', valueName: PRECISIONS.join('|') },
  { name: 'json', kind: 'boolean', help: 'print the leaderboard as JSON instead of a table' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function compareHelp(): string {
  return [
    'Usage: kiln compare --task classify|generate|image-classification --train PATH... [--test PATH...]',
    '                    --candidates DIR,DIR,scratch:ARCH,... --budget 5m|--steps N [--seeds 3] --out DIR',
    '',
    'Fine-tunes every candidate on the same data with the same budget and seeds, evaluates each on',
    'the same test set, and ranks them by the mean over seeds (± sample standard deviation).',
    'A classify comparison also fits baseline:tfidf (TF-IDF + logistic regression) on the same',
    'splits, so the leaderboard shows whether a network is worth it (--no-baseline leaves it out).',
    '',
    'Flags:',
    formatFlags(COMPARE_FLAGS),
  ].join('\n');
}

export interface CompareSettings {
  task: CompareTask;
  train: string[];
  test: string[] | undefined;
  candidates: CompareCandidate[];
  budget: CompareJob['budget'];
  seeds: number[];
  metric: string;
  out: string;
  json: boolean;
  compute: NonNullable<CompareJob['compute']>;
}

/** Checks the flags and turns them into settings. */
export function compareSettings(flags: ReadonlyMap<string, unknown>): CompareSettings {
  const task = flags.get('task');
  if (task === undefined) throw new UsageError(`kiln compare: --task is required (${COMPARE_TASKS.join(', ')})`);
  if (!COMPARE_TASKS.includes(task as CompareTask)) throw new UsageError(`kiln compare: --task must be one of ${COMPARE_TASKS.join(', ')}, got '${String(task)}'`);
  const train = flags.get('train') as string[] | undefined;
  if (train === undefined) throw new UsageError('kiln compare: --train PATH... is required');
  const entries = flags.get('candidates') as string[] | undefined;
  if (entries === undefined) throw new UsageError('kiln compare: --candidates is required, e.g. --candidates runs/a/model,runs/b/model,scratch:gpt');
  let candidates: CompareCandidate[];
  try {
    candidates = parseCandidates(entries);
  } catch (error) {
    throw new UsageError(`kiln compare: ${(error as Error).message}`);
  }
  const baseline = candidates.find((c) => c.source.startsWith('baseline:'));
  if (baseline !== undefined && task !== 'classify') throw new UsageError(`kiln compare: candidate ${baseline.source} is a text classification baseline; it cannot run --task ${String(task)}`);
  // A text leaderboard always shows whether the networks beat the classical baseline.
  if (task === 'classify' && baseline === undefined && flags.get('no-baseline') !== true) candidates = [...candidates, ...parseCandidates([TFIDF_BASELINE])];
  const budgetText = flags.get('budget') as string | undefined;
  const steps = flags.get('steps') as number | undefined;
  if ((budgetText === undefined) === (steps === undefined)) throw new UsageError('kiln compare: give exactly one of --budget DURATION (e.g. 5m) and --steps N, so every candidate trains the same amount');
  if (steps !== undefined && steps < 1) throw new UsageError(`kiln compare: --steps must be at least 1, got ${steps}`);
  const budget: CompareJob['budget'] = steps !== undefined ? { steps } : { seconds: parseDuration(budgetText, '--budget') };
  const seedCount = (flags.get('seeds') as number | undefined) ?? 3;
  if (seedCount < 1) throw new UsageError(`kiln compare: --seeds must be at least 1, got ${seedCount}`);
  const out = flags.get('out') as string | undefined;
  if (out === undefined) throw new UsageError('kiln compare: --out DIR is required (the runs and the leaderboard go there)');
  return {
    task: task as CompareTask,
    train,
    test: flags.get('test') as string[] | undefined,
    candidates,
    budget,
    seeds: Array.from({ length: seedCount }, (_, i) => i),
    metric: (flags.get('metric') as string | undefined) ?? DEFAULT_COMPARE_METRIC[task as CompareTask],
    out,
    json: flags.get('json') === true,
    compute: {
      ...(flags.has('device') ? { device: COMPUTE_SCHEMA.device.check(flags.get('device'), 'device') } : {}),
      ...(flags.has('precision') ? { precision: COMPUTE_SCHEMA.precision.check(flags.get('precision'), 'precision') } : {}),
    },
  };
}

/**
 * The command: parse, run every candidate × seed through `runner`, print the leaderboard.
 * Register it with the fine-tuning runner, e.g.
 * `compare: { summary: COMPARE_SUMMARY, run: (argv) => runCompare(argv, finetuneRunner) }`.
 */
export async function runCompare(argv: readonly string[], runner: CompareRunner, output: NodeJS.WritableStream = process.stdout): Promise<number> {
  const flags = parseCommandFlags(argv, COMPARE_FLAGS, 'compare', compareHelp, output);
  if (flags === undefined) return 0;
  const settings = compareSettings(flags);
  const [{ runComparison }, { formatLeaderboardTable, formatMeanStd }] = await Promise.all([import('../report/comparison.js'), import('../report/leaderboard-format.js')]);
  // With --json, stdout carries only the JSON; progress goes to stderr.
  const progress = settings.json ? process.stderr : output;
  const result = await runComparison({
    candidates: settings.candidates,
    seeds: settings.seeds,
    outDir: settings.out,
    metric: settings.metric,
    runOne: (candidate, seed, outDir) => runner({ task: settings.task, train: settings.train, test: settings.test, candidate, seed, budget: settings.budget, outDir, compute: settings.compute }),
    onStart: (candidate, seed, index, total) => progress.write(`[${index + 1}/${total}] ${candidate.name} (${candidate.source}), seed ${seed}\n`),
    onResult: (r) => progress.write(`  ${settings.metric} ${formatMeanStd({ mean: r.metrics[settings.metric] ?? Number.NaN, std: null, values: [] })} in ${r.seconds.toFixed(1)} s\n`),
  });
  if (settings.json) {
    output.write(JSON.stringify(result.leaderboard, null, 2) + '\n');
  } else {
    output.write('\n' + formatLeaderboardTable(result.leaderboard) + '\n\n');
    output.write(`wrote ${result.files.json}, ${result.files.html} and ${result.files.results}\n`);
  }
  return 0;
}

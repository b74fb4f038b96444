import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CandidateResult, buildLeaderboard, higherIsBetterFor, meanStd } from '../../src/report/leaderboard.js';
import { formatLeaderboardTable } from '../../src/report/leaderboard-format.js';
import { type CandidateRun, runComparison } from '../../src/report/comparison.js';
import { parseCandidates, type CompareCandidate } from '../../src/report/compare-candidates.js';
import { type CompareJob, runCompare } from '../../src/cli/compare-command.js';
import { UsageError } from '../../src/cli/usage-error.js';

function result(candidate: string, seed: number, accuracy: number, loss: number): CandidateResult {
  return { candidate, seed, metrics: { accuracy, loss }, parameters: 1_000_000, trainableParameters: 2_000, seconds: 10 + seed, tokensPerSecond: 100 * (seed + 1) };
}

test('leaderboard: mean and sample std over seeds as computed by hand; best first in either direction', () => {
  // accuracy A: 0.80, 0.90, 0.85 → mean 0.85, std sqrt((0.05² + 0.05² + 0²) / 2) = 0.05
  //          B: 0.70, 0.74, 0.72 → mean 0.72, std 0.02;  C: 0.95, 0.91, 0.93 → mean 0.93, std 0.02
  // loss     A: 0.5, 0.7, 0.6 → mean 0.6, std 0.1;  B: 0.3, 0.3, 0.3 → mean 0.3, std 0;  C: 0.9, 1.1, 1.0 → 1.0, 0.1
  const results = [
    result('A', 0, 0.8, 0.5), result('A', 1, 0.9, 0.7), result('A', 2, 0.85, 0.6),
    result('B', 2, 0.72, 0.3), result('B', 0, 0.7, 0.3), result('B', 1, 0.74, 0.3),
    result('C', 0, 0.95, 0.9), result('C', 1, 0.91, 1.1), result('C', 2, 0.93, 1.0),
  ];
  const byAccuracy = buildLeaderboard(results, { metric: 'accuracy' });
  assert.equal(byAccuracy.higherIsBetter, true);
  assert.deepEqual(byAccuracy.rows.map((r) => [r.rank, r.candidate]), [[1, 'C'], [2, 'A'], [3, 'B']]);
  const near = (actual: number | null, expected: number, what: string): void => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} vs ${expected}`);
  const [c, a, b] = byAccuracy.rows as [typeof byAccuracy.rows[0], typeof byAccuracy.rows[0], typeof byAccuracy.rows[0]];
  near(a.metrics['accuracy']!.mean, 0.85, 'A mean');
  near(a.metrics['accuracy']!.std, 0.05, 'A std');
  near(b.metrics['accuracy']!.mean, 0.72, 'B mean');
  near(b.metrics['accuracy']!.std, 0.02, 'B std');
  near(c.metrics['accuracy']!.std, 0.02, 'C std');
  assert.deepEqual(b.seeds, [0, 1, 2], 'seeds in order whatever order the results came in');
  assert.deepEqual(b.metrics['accuracy']!.values, [0.7, 0.74, 0.72]);
  near(a.seconds.mean, 11, 'seconds mean');
  near(a.seconds.std, 1, 'seconds std');
  near(a.tokensPerSecond.mean, 200, 'tokens/s mean');
  assert.equal(a.parameters, 1_000_000);

  const byLoss = buildLeaderboard(results, { metric: 'loss' });
  assert.equal(byLoss.higherIsBetter, false, 'a loss is better lower');
  assert.deepEqual(byLoss.rows.map((r) => r.candidate), ['B', 'A', 'C']);
  near(byLoss.rows[1]!.metrics['loss']!.std, 0.1, 'A loss std');
  assert.equal(byLoss.rows[0]!.metrics['loss']!.std, 0);
  assert.deepEqual(buildLeaderboard(results, { metric: 'loss', higherIsBetter: true }).rows.map((r) => r.candidate), ['C', 'A', 'B']);

  const table = formatLeaderboardTable(byAccuracy);
  const lines = table.split('\n');
  assert.match(lines[0]!, /^#\s+candidate\s+accuracy ↑ \(mean ± std over seeds\)\s+loss\s+seeds\s+parameters\s+trainable\s+seconds\s+tokens\/s$/);
  assert.match(lines[2]!, /^1\s+C\s+0\.93 ± 0\.02\s+1 ± 0\.1\s+3\s+1\.00M\s+2\.0k\s+11 ± 1\s+200 ± 100$/);
  assert.match(lines[3]!, /^2\s+A\s+0\.85 ± 0\.05\s/);
});

test('leaderboard: one seed has no std; ties keep the given order; missing metrics and repeated seeds are errors', () => {
  assert.deepEqual(meanStd([2]), { mean: 2, std: null, values: [2] });
  const board = buildLeaderboard([result('X', 0, 0.5, 1), result('Y', 0, 0.5, 1), result('W', 0, 0.6, 1)], { metric: 'accuracy' });
  assert.deepEqual(board.rows.map((r) => r.candidate), ['W', 'X', 'Y']);
  assert.match(formatLeaderboardTable(board), /\n1\s+W\s+0\.6\s+1\s+1\s+/);
  assert.throws(() => buildLeaderboard([result('X', 0, 0.5, 1)], { metric: 'f1' }), /candidate X seed 0 has no metric 'f1' \(it has: accuracy, loss\)/);
  assert.throws(() => buildLeaderboard([result('X', 0, 0.5, 1), result('X', 0, 0.6, 1)], { metric: 'accuracy' }), /two results for seed 0/);
  assert.throws(() => buildLeaderboard([], { metric: 'accuracy' }), /no results/);
  assert.deepEqual(['val_loss', 'perplexity', 'error_rate', 'accuracy', 'macro_f1'].map(higherIsBetterFor), [false, false, false, true, true]);
});

test('candidates: names from folders and scratch:ARCH, made unique', () => {
  assert.deepEqual(parseCandidates(['runs/a/model,runs/b/best', 'scratch:gpt', '/x/tiny', '/y/tiny']), [
    { name: 'a-model', source: 'runs/a/model' },
    { name: 'b-best', source: 'runs/b/best' },
    { name: 'scratch-gpt', source: 'scratch:gpt', scratchArch: 'gpt' },
    { name: 'tiny', source: '/x/tiny' },
    { name: 'tiny-2', source: '/y/tiny' },
  ]);
  assert.throws(() => parseCandidates(['scratch:']), /names no architecture/);
  assert.throws(() => parseCandidates([',']), /no candidates/);
});

/**
 * A stand-in for fine-tuning: each candidate has a true accuracy, and seed s adds 0.01·s, so over
 * seeds 0, 1, 2 the mean is true + 0.01 and the sample std exactly 0.01. It writes a small
 * metrics.jsonl like a real run so the HTML leaderboard has curves.
 */
const TRUE_ACCURACY: Record<string, number> = { 'good-model': 0.9, 'baseline-tfidf': 0.7, 'poor-model': 0.6, 'scratch-gpt': 0.5 };
function fakeRun(candidate: CompareCandidate, seed: number, outDir: string): Promise<CandidateRun> {
  const accuracy = TRUE_ACCURACY[candidate.name]! + 0.01 * seed;
  writeFileSync(path.join(outDir, 'metrics.jsonl'), [1, 2].map((step) => JSON.stringify({ step, loss: 1 / step, val_loss: 1.1 / step, val_accuracy: accuracy, lr: 1e-3, tokens_per_s: 100 })).join('\n') + '\n');
  return Promise.resolve({ metrics: { accuracy, loss: 1 - accuracy }, parameters: 1000, trainableParameters: candidate.scratchArch === undefined ? 10 : 1000, seconds: 1, tokensPerSecond: 100 });
}

test('runComparison: every candidate × seed through the runner; leaderboard in the order of the candidates\' true scores; files written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-compare-'));
  try {
    const calls: string[] = [];
    const candidates = parseCandidates(['scratch:gpt,/m/poor-model,/m/good-model']);
    const result = await runComparison({
      candidates,
      seeds: [0, 1, 2],
      outDir: dir,
      metric: 'accuracy',
      runOne: (candidate, seed, outDir) => {
        calls.push(`${candidate.name}/${seed}`);
        assert.equal(outDir, path.join(dir, candidate.name, `seed-${seed}`));
        assert.ok(existsSync(outDir), 'the run folder exists before the runner starts');
        return fakeRun(candidate, seed, outDir);
      },
    });
    assert.equal(calls.length, 9);
    assert.deepEqual(result.leaderboard.rows.map((r) => r.candidate), ['good-model', 'poor-model', 'scratch-gpt']);
    for (const row of result.leaderboard.rows) {
      assert.ok(Math.abs(row.metrics['accuracy']!.mean - (TRUE_ACCURACY[row.candidate]! + 0.01)) < 1e-12);
      assert.ok(Math.abs(row.metrics['accuracy']!.std! - 0.01) < 1e-12);
    }
    assert.equal(readFileSync(result.files.results, 'utf8').trim().split('\n').length, 9);
    const json = JSON.parse(readFileSync(result.files.json, 'utf8')) as { metric: string; rows: { candidate: string }[]; results: unknown[] };
    assert.equal(json.metric, 'accuracy');
    assert.deepEqual(json.rows.map((r) => r.candidate), ['good-model', 'poor-model', 'scratch-gpt']);
    assert.equal(json.results.length, 9);
    const html = readFileSync(result.files.html, 'utf8');
    assert.match(html, /<h2>Leaderboard<\/h2>/);
    assert.ok(html.indexOf('good-model') < html.indexOf('poor-model'));
    assert.match(html, /good-model\/seed-2/, 'the report covers the runs');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runComparison: a failing run names the candidate and seed and where the finished results are', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-compare-'));
  try {
    await assert.rejects(
      runComparison({
        candidates: parseCandidates(['/m/good-model,/m/poor-model']),
        seeds: [0],
        outDir: dir,
        metric: 'accuracy',
        runOne: (c, seed, out) => (c.name === 'poor-model' ? Promise.reject(new Error('out of memory')) : fakeRun(c, seed, out)),
      }),
      /candidate poor-model \(\/m\/poor-model\) with seed 0 failed: out of memory; the 1 finished runs are in .*results\.jsonl/,
    );
    await assert.rejects(runComparison({ candidates: parseCandidates(['a']), seeds: [1, 1], outDir: dir, metric: 'accuracy', runOne: fakeRun }), /seeds must be distinct integers/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln compare: flags become jobs for the injected runner; the table goes to stdout; bad command lines are UsageErrors', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-compare-'));
  try {
    const jobs: CompareJob[] = [];
    let text = '';
    const output = { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream;
    const argv = ['--task', 'classify', '--train', 'train.csv', '--candidates', '/m/good-model,/m/poor-model', 'scratch:gpt', '--steps', '7', '--seeds', '2', '--out', dir];
    const code = await runCompare(argv, (job) => {
      jobs.push(job);
      return fakeRun(job.candidate, job.seed, job.outDir);
    }, output);
    assert.equal(code, 0);
    // A classify comparison fits the TF-IDF baseline on the same data too.
    assert.deepEqual(jobs.map((j) => `${j.candidate.name}/${j.seed}`), ['good-model/0', 'good-model/1', 'poor-model/0', 'poor-model/1', 'scratch-gpt/0', 'scratch-gpt/1', 'baseline-tfidf/0', 'baseline-tfidf/1']);
    assert.equal(jobs.at(-1)!.candidate.source, 'baseline:tfidf');
    assert.deepEqual({ task: jobs[0]!.task, train: jobs[0]!.train, test: jobs[0]!.test, budget: jobs[0]!.budget }, { task: 'classify', train: ['train.csv'], test: undefined, budget: { steps: 7 } });
    const table = text.slice(text.indexOf('#  '));
    assert.match(table, /^#\s+candidate\s+accuracy ↑/);
    assert.ok(table.indexOf('good-model') < table.indexOf('poor-model') && table.indexOf('poor-model') < table.indexOf('scratch-gpt'), table);
    assert.match(table, /1\s+good-model\s+0\.905 ± 0\.007071\s/); // 0.90, 0.91: mean 0.905, std 0.01/√2

    const budgetJobs: CompareJob[] = [];
    await runCompare(['--task', 'generate', '--train', 't.txt', '--candidates', '/m/good-model', '--budget', '2m', '--seeds', '1', '--metric', 'accuracy', '--out', dir, '--json'], (job) => {
      budgetJobs.push(job);
      return fakeRun(job.candidate, job.seed, job.outDir);
    }, output);
    assert.deepEqual(budgetJobs[0]!.budget, { seconds: 120 });
    assert.equal(budgetJobs.length, 1, 'no baseline outside classify');

    const withoutBaseline: CompareJob[] = [];
    await runCompare(['--task', 'classify', '--train', 'train.csv', '--candidates', '/m/good-model', '--steps', '7', '--seeds', '1', '--no-baseline', '--out', dir, '--json'], (job) => {
      withoutBaseline.push(job);
      return fakeRun(job.candidate, job.seed, job.outDir);
    }, output);
    assert.deepEqual(withoutBaseline.map((j) => j.candidate.name), ['good-model']);

    const bad: [string[], RegExp][] = [
      [['--train', 'x', '--candidates', 'a', '--steps', '1', '--out', dir], /--task is required/],
      [['--task', 'translate', '--train', 'x', '--candidates', 'a', '--steps', '1', '--out', dir], /--task must be one of classify, generate, image-classification/],
      [['--task', 'classify', '--train', 'x', '--candidates', 'a', '--out', dir], /exactly one of --budget DURATION .* and --steps N/],
      [['--task', 'classify', '--train', 'x', '--candidates', 'a', '--steps', '1', '--budget', '1m', '--out', dir], /exactly one of/],
      [['--task', 'classify', '--train', 'x', '--candidates', 'a', '--steps', '1'], /--out DIR is required/],
      [['--task', 'classify', '--candidates', 'a', '--steps', '1', '--out', dir], /--train PATH\.\.\. is required/],
      [['--task', 'classify', '--train', 'x', '--candidates', 'a', '--steps', '1', '--seeds', '0', '--out', dir], /--seeds must be at least 1/],
      [['--task', 'classify', '--train', 'x', '--candidate', 'a'], /unknown flag --candidate; did you mean --candidates\?/],
    ];
    for (const [args, message] of bad) {
      await assert.rejects(runCompare(args, () => Promise.reject(new Error('never called')), output), (e: Error) => e instanceof UsageError && message.test(e.message), args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

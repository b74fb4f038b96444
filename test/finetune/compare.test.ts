/**
 * `kiln compare` end to end with the fine-tuning runner: two pretrained folders, a scratch
 * model and the TF-IDF baseline every classify leaderboard gets, two seeds. The leaderboard's order and means must follow the scores that
 * `evaluateModel` gives each run's best checkpoint on the test file (the candidates' own
 * evaluations), and its std the sample standard deviation over seeds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateModel, type ClassificationReport } from '../../src/finetune/evaluate.js';
import { pretrainLanguageModel } from '../../src/train/pretrain.js';
import { tinyText } from '../train/tiny-text.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** Sentences of the tiny text, labelled by whether they mention the kiln: a task a char model can learn. */
function writeTask(file: string, from: number, count: number): void {
  const lines = tinyText(from + count).split('\n').slice(from);
  const rows = lines.map((s) => `"${s}",${s.includes('kiln') ? 'kiln' : 'other'}`);
  writeFileSync(file, ['text,label', ...rows].join('\n') + '\n');
}

test('kiln compare ranks two pretrained folders and scratch by their own test evaluations', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-compare-'));
  try {
    const corpus = path.join(dir, 'corpus.txt');
    writeFileSync(corpus, tinyText(300));
    const shape = { layers: 1, heads: 2, dim: 32, blockSize: 32, batchSize: 8, warmup: 0, evalIters: 2, threads: 1 };
    const folders: string[] = [];
    for (const steps of [30, 5]) {
      const result = await pretrainLanguageModel({ config: { ...shape, data: [corpus], maxSteps: steps, evalEvery: steps, out: path.join(dir, `pre-${steps}`) } });
      folders.push(result.bestDir);
    }
    const train = path.join(dir, 'train.csv');
    const testFile = path.join(dir, 'test.csv');
    writeTask(train, 0, 80);
    writeTask(testFile, 80, 40);
    const out = path.join(dir, 'cmp');
    const run = spawnSync(
      process.execPath,
      [CLI, 'compare', '--task', 'classify', '--train', train, '--test', testFile, '--candidates', `${folders[0]},${folders[1]},scratch:gpt`, '--steps', '6', '--seeds', '2', '--metric', 'macro_f1', '--out', out],
      { encoding: 'utf8', env: { ...process.env, KILN_NUM_THREADS: '1' } },
    );
    assert.equal(run.status, 0, run.stderr);

    const board = JSON.parse(readFileSync(path.join(out, 'leaderboard.json'), 'utf8')) as {
      metric: string;
      rows: { rank: number; candidate: string; seeds: number[]; metrics: Record<string, { mean: number; std: number | null }>; runDirs: string[] }[];
    };
    assert.equal(board.metric, 'macro_f1');
    assert.equal(board.rows.length, 4);
    assert.ok(board.rows.some((row) => row.candidate === 'baseline-tfidf'), 'the TF-IDF baseline is on the leaderboard');
    const means: number[] = [];
    for (const row of board.rows) {
      assert.deepEqual(row.seeds, [0, 1]);
      // Each run's own evaluation of its best checkpoint on the test file.
      const scores = row.runDirs.map((runDir) => (evaluateModel(path.join(runDir, 'best'), testFile) as ClassificationReport).macro_f1);
      const mean = (scores[0]! + scores[1]!) / 2;
      const std = Math.abs(scores[0]! - scores[1]!) / Math.SQRT2; // sample std of two values
      assert.ok(Math.abs(row.metrics['macro_f1']!.mean - mean) < 1e-9, `${row.candidate}: ${row.metrics['macro_f1']!.mean} vs ${mean}`);
      assert.ok(Math.abs(row.metrics['macro_f1']!.std! - std) < 1e-9, `${row.candidate} std`);
      means.push(mean);
    }
    for (let i = 1; i < means.length; i++) assert.ok(means[i - 1]! >= means[i]!, `rows are best first: ${means.join(', ')}`);
    assert.match(run.stdout, /macro_f1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

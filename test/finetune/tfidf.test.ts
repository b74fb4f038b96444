/**
 * The TF-IDF + logistic regression baseline against scikit-learn (fixtures/tfidf.json, written
 * by fixtures/tfidf_reference.py with Debian's python3-sklearn): vocabularies, idf, feature rows
 * and predicted probabilities; L-BFGS against closed forms; and the baseline as a run folder that
 * kiln finetune writes and kiln evaluate / predict serve.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateModel, predict, type ClassificationReport } from '../../src/finetune/evaluate.js';
import { finetune } from '../../src/finetune/finetune.js';
import { lbfgs } from '../../src/finetune/tfidf/lbfgs.js';
import { fitLogisticRegression, rowProbabilities } from '../../src/finetune/tfidf/logistic-regression.js';
import { loadTfidfFolder } from '../../src/finetune/tfidf/tfidf-folder.js';
import { type AnalyzerSettings, TfidfVectorizer } from '../../src/finetune/tfidf/vectorizer.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', '..', 'src', 'cli', 'main.js');
const FIXTURE = path.join(here, '..', '..', '..', 'test', 'fixtures', 'tfidf.json');

interface Fixture {
  labels: string[];
  train: { text: string; label: string }[];
  test: string[];
  analyzers: { analyzer: AnalyzerSettings['analyzer']; ngram_range: [number, number]; min_df: number; vocabulary: string[]; idf: number[] }[];
  rows: Record<string, number>[];
  cases: { c: number; class_weights: number[] | null; probabilities: number[][] }[];
}
const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
const settings: AnalyzerSettings[] = fixture.analyzers.map((a) => ({ analyzer: a.analyzer, ngramRange: a.ngram_range, minDf: a.min_df }));
const trainTexts = fixture.train.map((e) => e.text);
const trainLabels = fixture.train.map((e) => fixture.labels.indexOf(e.label));

const dir = mkdtempSync(path.join(tmpdir(), 'kiln-tfidf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kiln(...args: string[]): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, KILN_NUM_THREADS: '1' } }) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
}

test('vectorizer: the vocabularies, idf and L2-normalised rows scikit-learn computes (word 1–2-grams, char_wb 2–5-grams)', () => {
  const vectorizer = TfidfVectorizer.fit(trainTexts, settings);
  vectorizer.analyzers.forEach((fitted, k) => {
    const expected = fixture.analyzers[k]!;
    assert.deepEqual(fitted.vocabulary, expected.vocabulary, `${expected.analyzer} vocabulary`);
    fitted.idf.forEach((v, i) => assert.ok(Math.abs(v - expected.idf[i]!) < 1e-12, `${expected.analyzer} idf of '${fitted.vocabulary[i]}'`));
  });
  const names = vectorizer.analyzers.flatMap((a) => a.vocabulary.map((t) => `${a.settings.analyzer}:${t}`));
  const rows = vectorizer.transform(fixture.test);
  rows.forEach((row, i) => {
    const got = Object.fromEntries(Array.from(row.indices, (j, n) => [names[j]!, row.values[n]!]));
    assert.deepEqual(Object.keys(got).sort(), Object.keys(fixture.rows[i]!).sort(), `features of ${JSON.stringify(fixture.test[i])}`);
    for (const [name, value] of Object.entries(fixture.rows[i]!)) assert.ok(Math.abs(got[name]! - value) < 1e-12, `${name} in text ${i}: ${got[name]} vs ${value}`);
  });
  assert.throws(() => TfidfVectorizer.fit([], settings), /no texts/);
});

test('logistic regression: the probabilities scikit-learn predicts (multinomial, L2, with and without class weights)', () => {
  const vectorizer = TfidfVectorizer.fit(trainTexts, settings);
  const x = vectorizer.transform(trainTexts);
  const rows = vectorizer.transform(fixture.test);
  for (const c of fixture.cases) {
    const weights = fitLogisticRegression(x, trainLabels, fixture.labels.length, vectorizer.numFeatures, { c: c.c, classWeights: c.class_weights, tolerance: 1e-8 });
    assert.ok(weights.converged, `C ${c.c}: converged in ${weights.iterations} iterations`);
    rows.forEach((row, i) => {
      const p = rowProbabilities(weights, row);
      p.forEach((v, k) => assert.ok(Math.abs(v - c.probabilities[i]![k]!) < 1e-6, `C ${c.c}, text ${i}, class ${k}: ${v} vs ${c.probabilities[i]![k]}`));
    });
  }
  assert.throws(() => fitLogisticRegression(x, trainLabels.map(() => 5), 3, vectorizer.numFeatures, { c: 1 }), /label 5 of example 0 is outside 0\.\.2/);
  assert.throws(() => fitLogisticRegression(x, trainLabels, 3, vectorizer.numFeatures, { c: 0 }), /C must be a positive number/);
});

test('L-BFGS: the minimum of a quadratic (closed form A⁻¹b) and of the Rosenbrock function (1, 1)', () => {
  // f(x) = ½ xᵀAx − bᵀx with A = [[4, 1], [1, 3]], b = [1, 2]: minimum at A⁻¹b = [1/11, 7/11].
  const quadratic = lbfgs((x, g) => {
    g[0] = 4 * x[0]! + x[1]! - 1;
    g[1] = x[0]! + 3 * x[1]! - 2;
    return 0.5 * (4 * x[0]! ** 2 + 2 * x[0]! * x[1]! + 3 * x[1]! ** 2) - x[0]! - 2 * x[1]!;
  }, new Float64Array([5, -5]), { gradientTolerance: 1e-12 });
  assert.ok(quadratic.converged);
  assert.ok(Math.abs(quadratic.x[0]! - 1 / 11) < 1e-10 && Math.abs(quadratic.x[1]! - 7 / 11) < 1e-10, `${quadratic.x}`);
  const rosenbrock = lbfgs((x, g) => {
    const [a, b] = [x[0]!, x[1]!];
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
  }, new Float64Array([-1.2, 1]), { gradientTolerance: 1e-9 });
  assert.ok(rosenbrock.converged, `${rosenbrock.iterations} iterations`);
  assert.ok(Math.abs(rosenbrock.x[0]! - 1) < 1e-6 && Math.abs(rosenbrock.x[1]! - 1) < 1e-6, `${rosenbrock.x}`);
});

test('kiln finetune --from baseline:tfidf writes a folder that kiln evaluate and kiln predict serve; bad input is a one-line error', async () => {
  const rows = ['text,label'];
  for (let i = 0; i < 90; i++) rows.push(i % 3 === 0 ? `"rain, storm and cold ${i}",bad` : i % 3 === 1 ? `sunny and calm day ${i},good` : `cloudy with some wind ${i},meh`);
  const data = path.join(dir, 'weather.csv');
  writeFileSync(data, rows.join('\n') + '\n');
  const out = path.join(dir, 'baseline');
  const result = await finetune({ config: { from: 'baseline:tfidf', train: data, metric: 'accuracy', out } });
  assert.equal(result.step, 7, 'one evaluation per C of the grid');
  assert.ok(result.test !== null && 'accuracy' in result.test && result.test.accuracy === 1, 'the words give the label away');
  const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(lines.map((l) => l['c']), [0.1, 0.3, 1, 3, 10, 30, 100]);
  const { model, info } = loadTfidfFolder(result.bestDir);
  assert.equal(info.c, result.best.c);
  assert.ok(existsSync(path.join(out, 'eval.json')) && existsSync(path.join(out, 'model', 'kiln.json')));

  // The folder's probabilities are the model's, through the library and the command line alike.
  const texts = ['rain and storm', 'sunny, calm'];
  const expected = model.probabilities(texts);
  const predicted = predict(result.bestDir, texts);
  assert.deepEqual(predicted.map((p) => p.label), ['bad', 'good']);
  predicted.forEach((p, i) => info.labels.forEach((l, k) => assert.equal(p.probabilities[l], expected[i]![k])));
  const cli = kiln('predict', '--model', result.bestDir, '--text', 'rain and storm', '--json');
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal((JSON.parse(cli.stdout) as { label: string }).label, 'bad');
  const evaluated = kiln('evaluate', '--model', result.bestDir, '--data', data, '--json');
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const report = JSON.parse(evaluated.stdout) as ClassificationReport;
  assert.deepEqual(evaluateModel(result.bestDir, data), report);
  assert.equal(report.count, 90);
  assert.equal(report.accuracy, 1);

  const broken = path.join(dir, 'broken');
  await finetune({ config: { from: 'baseline:tfidf', train: data, out: broken } });
  unlinkSync(path.join(broken, 'best', 'vocabulary.json'));
  const cases: [string[], RegExp][] = [
    [['finetune', '--from', 'baseline:bow', '--train', data, '--out', path.join(dir, 'x')], /the only classical baseline is baseline:tfidf/],
    [['finetune', '--task', 'generate', '--from', 'baseline:tfidf', '--train', data, '--out', path.join(dir, 'x')], /cannot do --task generate/],
    [['predict', '--model', path.join(broken, 'best'), '--text', 'x'], /lacks vocabulary\.json/],
    [['compare', '--task', 'generate', '--train', data, '--candidates', 'baseline:tfidf', '--steps', '1', '--out', path.join(dir, 'x')], /cannot run --task generate/],
  ];
  for (const [args, pattern] of cases) {
    const run = kiln(...args);
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, pattern);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  }
});

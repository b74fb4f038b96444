import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './browser.js';
import { metricLinesOf, writeClassificationRun } from './run-fixtures.js';
import { tinyText } from '../train/tiny-text.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TINY_PRETRAIN = ['--layers', '2', '--heads', '2', '--dim', '32', '--block-size', '16', '--batch-size', '8', '--eval-iters', '2', '--log-every', '1', '--threads', '1', '--warmup', '5', '--lr', '1e-2', '--min-lr', '1e-3'];

function kiln(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dir: string;
let browser: Browser;
let pretrainRun: string;
let classifyRun: string;
const CONFUSION = [[50, 3], [7, 40]];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-report-'));
  writeFileSync(path.join(dir, 'text.txt'), tinyText(200));
  pretrainRun = path.join(dir, 'baby-gpt');
  const trained = kiln('pretrain', '--data', path.join(dir, 'text.txt'), '--out', pretrainRun, ...TINY_PRETRAIN, '--max-steps', '30', '--eval-every', '10');
  assert.equal(trained.status, 0, trained.stderr);
  classifyRun = path.join(dir, 'spam');
  writeClassificationRun(classifyRun, { steps: 30, evalEvery: 10, scale: 1, confusion: CONFUSION });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Rows the loss chart must hold, counted from the raw lines: an evaluation line gives its train and val loss, a training line its loss. */
function expectedLossRows(run: string): { rows: number; evalLines: number } {
  const lines = metricLinesOf(readFileSync(path.join(run, 'metrics.jsonl'), 'utf8'));
  const evalLines = lines.filter((l) => l['val_loss'] !== undefined).length;
  return { rows: lines.length + evalLines, evalLines };
}

test('kiln report: a self-contained page that renders every chart with the runs\' data in headless Chromium', async () => {
  const out = path.join(dir, 'report.html');
  const result = kiln('report', pretrainRun, classifyRun, '--out', out);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /wrote .*report\.html \(2 runs\)/);

  const page = await browser.newPage();
  const external: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(out).href);
  await page.waitForFunction(() => document.body.dataset['ready'] !== undefined, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.body.dataset['ready']), 'true', `charts failed: ${errors.join('; ')}`);
  assert.deepEqual(external, [], 'the report loads nothing from the network');

  for (const id of ['loss', 'lr', 'throughput', 'evaluation', 'confusion-2']) {
    assert.equal(await page.locator(`#chart-${id} svg`).count(), 1, `chart ${id} has an <svg>`);
  }
  assert.equal(await page.locator('#chart-confusion-1').count(), 0, 'the pretraining run has no confusion matrix');

  const a = expectedLossRows(pretrainRun);
  const b = expectedLossRows(classifyRun);
  const lossRows = await page.evaluate(() => (window as unknown as { kilnViews: Record<string, { data(name: string): unknown[] }> }).kilnViews['loss']!.data('metrics').length);
  assert.equal(lossRows, a.rows + b.rows);
  // Rendered marks: a line per (run, loss series: loss, train_loss, val_loss), a point per evaluated loss.
  assert.equal(await page.locator('#chart-loss g.mark-line.role-mark path').count(), 6);
  assert.equal(await page.locator('#chart-loss g.mark-symbol.role-mark path').count(), 2 * (a.evalLines + b.evalLines));
  const d = await page.locator('#chart-loss g.mark-line.role-mark path').first().getAttribute('d');
  assert.ok(d !== null && d.length > 50, `the loss line has a path (${d})`);

  // Evaluation metrics: one panel per metric (val_accuracy, val_macro_f1), three points each (steps 10, 20, 30).
  assert.equal(await page.locator('#chart-evaluation g.mark-symbol.role-mark path').count(), 6);
  // Confusion matrix: one cell per (true, predicted) pair with its count written in it.
  assert.equal(await page.locator('#chart-confusion-2 g.mark-rect.role-mark path').count(), 4);
  const cellTexts = await page.locator('#chart-confusion-2 g.mark-text.role-mark text').allTextContents();
  assert.deepEqual(cellTexts.map(Number).sort((x, y) => x - y), CONFUSION.flat().sort((x, y) => x - y));

  // Comparison table: a row per run; config table marks settings that differ (lr) between runs.
  assert.equal(await page.locator('table').first().locator('tbody tr').count(), 2);
  const differs = await page.locator('tr.differs td:first-child').allTextContents();
  assert.ok(differs.includes('lr') && differs.includes('maxSteps') === false, `differing settings: ${differs.join(', ')}`);
  await page.close();
});

test('kiln report --png: PNG and SVG charts that decode to non-blank images', async () => {
  const images = path.join(dir, 'charts');
  const result = kiln('report', classifyRun, '--out', path.join(dir, 'single.html'), '--png', images);
  assert.equal(result.status, 0, result.stderr);
  for (const id of ['loss', 'lr', 'throughput', 'evaluation', 'confusion']) {
    const png = path.join(images, `${id}.png`);
    assert.ok(existsSync(png), `${id}.png written`);
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.ok(info.width > 200 && info.height > 100, `${id}.png is ${info.width}x${info.height}`);
    let sum = 0;
    let sumSquares = 0;
    for (const v of data) {
      sum += v;
      sumSquares += v * v;
    }
    const mean = sum / data.length;
    const variance = sumSquares / data.length - mean * mean;
    assert.ok(variance > 100, `${id}.png has content (pixel variance ${variance.toFixed(1)})`);
    // Colour, not only black text on white: some pixel has unequal channels (the series' hues).
    let coloured = 0;
    for (let i = 0; i < data.length; i += 3) if (Math.abs(data[i]! - data[i + 2]!) > 40) coloured++;
    assert.ok(coloured > 50, `${id}.png has coloured marks (${coloured} pixels)`);
    const svg = readFileSync(path.join(images, `${id}.svg`), 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  }
  assert.ok(existsSync(path.join(dir, 'single.html')));
});

test('kiln report: clear errors for a missing folder, a folder without metrics and a malformed line', () => {
  const missing = kiln('report', path.join(dir, 'nope'), '--out', path.join(dir, 'x.html'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope does not exist/);
  const empty = path.join(dir, 'empty');
  writeClassificationRun(empty, { steps: 2, evalEvery: 1, scale: 1 });
  rmSync(path.join(empty, 'metrics.jsonl'));
  assert.match(kiln('report', empty).stderr, /has no metrics\.jsonl/);
  const bad = path.join(dir, 'bad');
  writeClassificationRun(bad, { steps: 2, evalEvery: 5, scale: 1 });
  writeFileSync(path.join(bad, 'metrics.jsonl'), '{"step":1,"loss":2}\n{"step":2,"loss":\n{"loss":1}\n');
  const result = kiln('report', bad);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /metrics\.jsonl line 2 not JSON .*and 1 more bad lines/);
  const noRuns = kiln('report', '--out', 'x.html');
  assert.equal(noRuns.status, 2);
  assert.match(noRuns.stderr, /give at least one run folder/);
  // A last line without its newline is a writer mid-append: ignored, not an error.
  writeFileSync(path.join(bad, 'metrics.jsonl'), '{"step":1,"loss":2}\n{"step":2,"lo');
  assert.equal(kiln('report', bad).status, 0);
  writeFileSync(path.join(bad, 'eval.json'), '{"confusion_matrix": {"labels": ["a"], "matrix": [[1, 2], [3, 4]]}}');
  assert.match(kiln('report', bad).stderr, /eval\.json: confusion_matrix "labels" must be an array of 2 names/);
});

test('kiln --help lists report and serve; their --help lists their flags', () => {
  const top = kiln('--help');
  assert.match(top.stdout, /report\s+write an HTML report/);
  assert.match(top.stdout, /serve\s+serve a live dashboard/);
  const report = kiln('report', '--help');
  assert.equal(report.status, 0);
  for (const flag of ['--out FILE', '--png DIR', '--title TEXT']) assert.ok(report.stdout.includes(flag), flag);
  const serve = kiln('serve', '--help');
  assert.equal(serve.status, 0);
  for (const flag of ['--port N', '(default: 6070)', '--host TEXT', '(default: 127.0.0.1)']) assert.ok(serve.stdout.includes(flag), flag);
  assert.match(kiln('serve', '--prot', '1').stderr, /unknown flag --prot; did you mean --port\?/);
});

/**
 * The dashboard and report.html with hostile content, in headless Chromium: run folder names,
 * settings, metric names and class labels that carry HTML and script. Each payload sets a
 * global if it ever runs; none may, and each must be shown as the text it is. The dashboard
 * server must also keep answering while slow, malformed and oversized requests arrive.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startDashboard } from '../../src/report/dashboard-server.js';
import { launchBrowser } from './browser.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Payloads: each, if it ran, would set window.__xss to its number. */
const RUN_NAME = '<img src=x onerror="window.__xss=1">';
const SETTING = '</script><script>window.__xss=2</script>';
const LABEL = '<svg onload="window.__xss=3"></svg>';
const METRIC = 'val_<img src=x onerror=window.__xss=4>';
const SETTING_KEY = '"><script>window.__xss=5</script>';

let dir: string;
let runDir: string;
let browser: Browser;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-hostile-'));
  runDir = path.join(dir, RUN_NAME);
  mkdirSync(runDir);
  const lines: string[] = [];
  for (let step = 1; step <= 20; step++) {
    lines.push(JSON.stringify({ step, loss: 2 / step, lr: 1e-3, tokens_per_s: 100, elapsed_s: step }));
    if (step % 5 === 0) lines.push(JSON.stringify({ step, loss: 2 / step, val_loss: 2.2 / step, val_accuracy: step / 25, [METRIC]: step / 30, lr: 1e-3, tokens_per_s: 100, elapsed_s: step }));
  }
  writeFileSync(path.join(runDir, 'metrics.jsonl'), lines.join('\n') + '\n');
  writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ task: 'classify', maxSteps: 20, note: SETTING, [SETTING_KEY]: 1 }, null, 2));
  writeFileSync(path.join(runDir, 'eval.json'), JSON.stringify({ accuracy: 0.5, confusion_matrix: { labels: [LABEL, 'calm'], matrix: [[3, 1], [2, 4]] } }));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens `url`, waits for the page to say it is ready, and checks that no payload ran. */
async function openAndCheck(url: string): Promise<Page> {
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/x', (route) => route.abort()); // the payloads' image source
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset['ready'] !== undefined, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.body.dataset['ready']), 'true', `the page rendered (errors: ${errors.join('; ')})`);
  await page.waitForTimeout(200); // an onerror or onload handler would have fired by now
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'no payload ran');
  assert.deepEqual(dialogs, []);
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no <img> element came from the data');
  assert.equal(await page.locator('svg[onload]').count(), 0, 'no <svg onload> element came from the data');
  return page;
}

test('report.html: run names, settings, metric names and class labels with HTML and script are shown as text; none runs (Chromium)', async () => {
  const out = path.join(dir, 'report.html');
  const result = spawnSync(process.execPath, [MAIN, 'report', runDir, '--out', out], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const page = await openAndCheck(pathToFileURL(out).href);
  const text = await page.evaluate(() => document.body.innerText);
  for (const payload of [RUN_NAME, SETTING, SETTING_KEY]) assert.ok(text.includes(payload), `the page shows ${payload} as text`);
  const chartText = (await page.locator('svg text').allTextContents()).join('\n');
  assert.ok(chartText.includes(LABEL), 'the confusion matrix shows the label as text');
  await page.close();
});

test('kiln serve dashboard: the same hostile run is shown as text; none of it runs (Chromium)', async () => {
  const dashboard = await startDashboard({ runDirs: [runDir], pollMs: 50 });
  try {
    const page = await openAndCheck(dashboard.url);
    const text = await page.evaluate(() => document.body.innerText);
    assert.ok(text.includes(RUN_NAME), 'the run table shows the name as text');
    await page.close();
  } finally {
    await dashboard.close();
  }
});

/** Sends `bytes` on a new connection to `port`; resolves with what came back when the server closes it (or '' if it stays open `waitMs`). */
function rawExchange(port: number, bytes: string | Buffer, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let got = '';
    socket.on('data', (c) => (got += c.toString('latin1')));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(got);
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.on('error', () => undefined);
  });
}

test('the dashboard server keeps answering through slow, malformed and oversized requests', async () => {
  const dashboard = await startDashboard({ runDirs: [runDir], pollMs: 50 });
  const slow: net.Socket[] = [];
  try {
    // 200 connections that send half a request and then nothing (slowloris).
    for (let i = 0; i < 200; i++) {
      const socket = net.connect(dashboard.port, '127.0.0.1', () => socket.write('GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
      socket.on('error', () => undefined);
      slow.push(socket);
    }
    const answers = await Promise.all([
      rawExchange(dashboard.port, 'NOT HTTP AT ALL\r\n\r\n', 2000),
      rawExchange(dashboard.port, Buffer.from([0, 255, 1, 254, 13, 10, 13, 10]), 2000),
      rawExchange(dashboard.port, `GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`, 2000),
      rawExchange(dashboard.port, 'GET /runs/0/%ZZ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 2000),
      rawExchange(dashboard.port, 'POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello', 2000),
    ]);
    assert.match(answers[0]!, /^HTTP\/1\.1 400/, 'garbage: 400');
    assert.match(answers[1]!, /^HTTP\/1\.1 400/, 'binary: 400');
    assert.match(answers[2]!, /^HTTP\/1\.1 431/, 'a 100 KB header: 431');
    assert.match(answers[3]!, /^HTTP\/1\.1 403/, 'malformed percent-encoding: 403');
    assert.match(answers[4]!, /^HTTP\/1\.1 405/, 'POST: 405');
    const started = performance.now();
    const response = await fetch(`${dashboard.url}api/runs`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { name: string }[])[0]!.name, RUN_NAME);
    assert.ok(performance.now() - started < 2000, `answered in ${(performance.now() - started).toFixed(0)} ms with 200 slow connections open`);
  } finally {
    for (const s of slow) s.destroy();
    await dashboard.close();
  }
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startDashboard } from '../../src/report/dashboard-server.js';
import { launchBrowser } from './browser.js';
import { tinyText } from '../train/tiny-text.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let dir: string;
let browser: Browser;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-serve-'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Views = { kilnViews: Record<string, { data(name: string): unknown[] }> };

/** Rows in the loss chart's data, and points of the first rendered loss line (its SVG path's vertices). */
async function lossChart(page: Page): Promise<{ rows: number; linePoints: number }> {
  const rows = await page.evaluate(() => (window as unknown as Views).kilnViews['loss']!.data('metrics').length);
  const paths = page.locator('#chart-loss g.mark-line.role-mark path');
  const d = (await paths.count()) === 0 ? '' : ((await paths.first().getAttribute('d')) ?? '');
  return { rows, linePoints: d === '' ? 0 : (d.match(/[ML]/g) ?? []).length };
}

async function waitForRows(page: Page, rows: number, what: string): Promise<void> {
  try {
    await page.waitForFunction((n) => (window as unknown as Views).kilnViews['loss']!.data('metrics').length === n, rows, { timeout: 10_000 });
  } catch {
    const now = await page.evaluate(() => (window as unknown as Views).kilnViews['loss']!.data('metrics').length);
    assert.fail(`${what}: the loss chart should hold ${rows} rows within 10 s, holds ${now}`);
  }
}

function line(step: number): string {
  return JSON.stringify({ step, loss: 3 / step, lr: 1e-3, tokens_per_s: 1000, elapsed_s: step / 10 }) + '\n';
}

/** GET with the path sent exactly as written (fetch would resolve '..' first). */
function rawGet(url: string, rawPath: string, host?: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.get({ hostname, port, path: rawPath, headers: host === undefined ? {} : { host } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (c: string) => (body += c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

test('dashboard: the loss chart grows as lines are appended; a partial line waits; a rewritten file starts over', async () => {
  const run = path.join(dir, 'appended');
  mkdirSync(run);
  const metrics = path.join(run, 'metrics.jsonl');
  writeFileSync(metrics, line(1) + line(2) + line(3));
  const dashboard = await startDashboard({ runDirs: [run], port: 0, pollMs: 100 });
  const page = await browser.newPage();
  try {
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await page.goto(dashboard.url);
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true', null, { timeout: 15_000 });
    await waitForRows(page, 3, 'the first three lines');
    assert.equal((await lossChart(page)).linePoints, 3);
    assert.equal(await page.locator('#kiln-runs tbody tr td').nth(0).textContent(), 'appended');

    appendFileSync(metrics, line(4) + line(5) + '{"step": 6, "loss": 0.5, "lr"');
    await waitForRows(page, 5, 'two more lines, a third half-written');
    assert.equal((await lossChart(page)).linePoints, 5);
    appendFileSync(metrics, ': 0.001}\n');
    await waitForRows(page, 6, 'the half-written line completed');
    assert.equal((await lossChart(page)).linePoints, 6);

    // A resumed run rewrites metrics.jsonl atomically without the lines after its checkpoint.
    writeFileSync(`${metrics}.tmp`, line(1) + line(2));
    renameSync(`${metrics}.tmp`, metrics);
    await waitForRows(page, 2, 'the file replaced by a shorter one');
    appendFileSync(metrics, line(3));
    await waitForRows(page, 3, 'a line appended to the new file');
  } finally {
    await page.close();
    await dashboard.close();
  }
});

test('dashboard: a page opened on a running `kiln pretrain` sees the loss chart gain points while it trains', async () => {
  writeFileSync(path.join(dir, 'text.txt'), tinyText(200));
  const run = path.join(dir, 'training');
  mkdirSync(run);
  const dashboard = await startDashboard({ runDirs: [run], port: 0, pollMs: 100 });
  const page = await browser.newPage();
  await page.goto(dashboard.url);
  await page.waitForFunction(() => document.body.dataset['ready'] === 'true', null, { timeout: 15_000 });
  assert.equal(await page.locator('#kiln-runs tbody td.status-waiting').count(), 1, 'no metrics yet: waiting');
  const child = spawn(process.execPath, [MAIN, 'pretrain', '--data', path.join(dir, 'text.txt'), '--out', run, '--layers', '2', '--heads', '2', '--dim', '32', '--block-size', '16', '--batch-size', '8', '--eval-iters', '2', '--log-every', '1', '--threads', '1', '--warmup', '5', '--max-steps', '20000', '--eval-every', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const seen: number[] = [];
    const deadline = Date.now() + 30_000;
    // Watch the page until two successive looks, both while the run is still going, differ.
    while (Date.now() < deadline && child.exitCode === null) {
      const { linePoints } = await lossChart(page);
      if (linePoints > 0 && child.exitCode === null) seen.push(linePoints);
      if (seen.length >= 2 && seen.at(-1)! > seen[0]!) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(child.exitCode === null, `the training ended before the chart was seen growing (exit ${child.exitCode}): ${stderr}`);
    assert.ok(seen.length >= 2 && seen.at(-1)! > seen[0]!, `the rendered loss line grew while training ran: ${seen.join(' → ')}`);
    assert.equal(await page.locator('#kiln-runs tbody td.status-running').count(), 1, 'the run is listed as running');
  } finally {
    child.kill('SIGINT'); // kiln pretrain stops after the step, evaluates and saves
    const code = await exited;
    await page.close();
    await dashboard.close();
    assert.equal(code, 0, stderr);
  }
});

test('kiln serve: prints its URL, serves run files, refuses paths outside the run folders, stops on SIGINT', async () => {
  const run = path.join(dir, 'served');
  mkdirSync(run);
  writeFileSync(path.join(run, 'metrics.jsonl'), line(1) + JSON.stringify({ step: 1, loss: 3, val_loss: 3.5 }) + '\n');
  writeFileSync(path.join(run, 'config.json'), '{"maxSteps": 1}');
  writeFileSync(path.join(dir, 'secret.txt'), 'not for the dashboard');
  symlinkSync(path.join(dir, 'secret.txt'), path.join(run, 'link.txt'));
  const child = spawn(process.execPath, [MAIN, 'serve', run, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kiln serve printed no URL within 10 s: ${stdout} ${stderr}`)), 10_000);
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const match = /Kiln dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const runs = (await (await fetch(`${url}api/runs`)).json()) as { name: string; status: string; steps: number }[];
    assert.deepEqual(runs.map((r) => [r.name, r.status, r.steps]), [['served', 'finished', 1]]);
    assert.equal(await (await fetch(`${url}runs/0/config.json`)).text(), '{"maxSteps": 1}');
    for (const evil of ['/runs/0/../secret.txt', '/runs/0/..%2Fsecret.txt', '/runs/0/%2E%2E/secret.txt', '/runs/0/link.txt', '/runs/0/%2Fetc%2Fpasswd', '/runs/../../etc/passwd']) {
      const response = await rawGet(url, evil);
      assert.equal(response.status, 403, `${evil}: ${response.status} ${response.body}`);
      assert.ok(!response.body.includes('not for the dashboard'));
    }
    assert.equal((await rawGet(url, '/runs/1/config.json')).status, 404);
    assert.equal((await rawGet(url, '/api/runs', 'attacker.example:80')).status, 403, 'a foreign Host header (DNS rebinding) is refused');
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /dashboard stopped/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

/**
 * examples/browser: a classifier trained on the demo's spam task, exported with `kiln export
 * onnx`, runs in headless Chromium through transformers.js and ONNX Runtime Web (WebAssembly),
 * and labels two typed e-mails as `kiln predict` does. The page loads transformers.js from its
 * CDN URL; the test answers those requests (and the WebAssembly files) from node_modules, so it
 * runs offline, and fails on any other request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { predict } from '../../src/finetune/evaluate.js';
import { finetune } from '../../src/finetune/finetune.js';
import { exportOnnx } from '../../src/io/onnx/export.js';
import { manualSeed } from '../../src/tensor/creation.js';
import { launchBrowser } from '../report/browser.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);
const TRANSFORMERS_DIST = path.join(path.dirname(require.resolve('@huggingface/transformers')), '.');
const ORT_WEB_DIST = path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const PAGE_ORIGIN = 'http://kiln.test/';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream' };

/** The local file a request is answered from, or null for a request the page should not make. */
function localFile(url: string, modelDir: string): string | null {
  const cdn = /^https:\/\/cdn\.jsdelivr\.net\/npm\/(@huggingface\/transformers|onnxruntime-web)@[^/]+\/dist\/([\w.-]+)$/.exec(url);
  if (cdn !== null) return path.join(cdn[1] === 'onnxruntime-web' ? ORT_WEB_DIST : TRANSFORMERS_DIST, cdn[2]!);
  if (!url.startsWith(PAGE_ORIGIN)) return null;
  const rest = decodeURIComponent(new URL(url).pathname.slice(1));
  return rest.startsWith('model/') ? path.join(modelDir, rest.slice('model/'.length)) : path.join(ROOT, 'examples', 'browser', rest);
}

test('examples/browser classifies two typed e-mails as kiln predict does', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-browser-'));
  manualSeed(5);
  await finetune({ config: { train: 'default', trainSize: 200, layers: 1, heads: 2, dim: 32, blockSize: 32, maxLength: 256, pooling: 'mean', truncation: 'head+tail', classWeights: 'auto', maxSteps: 150, evalEvery: 150, lr: 3e-3, threads: 1, out: path.join(dir, 'spam') } });
  const modelDir = path.join(dir, 'spam', 'best');
  const onnxDir = path.join(dir, 'model');
  exportOnnx(modelDir, onnxDir);
  const emails = [
    'Subject: URGENT! You have WON a $1,000,000 prize!!! Click http://win.example now to claim your FREE money, limited offer!!!',
    'Subject: Re: build failure on the test machine\n\nHi Anna, the nightly build failed again in the linker step; I pushed a fix to the branch, can you re-run it tomorrow morning? Thanks, Tom',
  ];
  const expected = predict(modelDir, emails);

  const browser = await launchBrowser();
  const unexpected: string[] = [];
  const errors: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      const file = localFile(url, onnxDir);
      if (file === null || !existsSync(file)) {
        unexpected.push(url);
        await route.fulfill({ status: 404, body: 'not here' });
        return;
      }
      await route.fulfill({ status: 200, contentType: TYPES[path.extname(file)] ?? 'application/octet-stream', body: readFileSync(file) });
    });
    await page.goto(`${PAGE_ORIGIN}index.html`);
    await page.waitForSelector('#classify:not([disabled])', { timeout: 60_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\npage errors: ${errors.join(' | ')}\nunanswered requests: ${unexpected.join(' ')}`);
    });
    for (const [i, email] of emails.entries()) {
      await page.fill('#text', email);
      await page.evaluate(() => document.getElementById('result')!.removeAttribute('data-label'));
      await page.click('#classify');
      await page.waitForSelector('#result[data-label]', { timeout: 30_000 });
      const label = await page.getAttribute('#result', 'data-label');
      const score = Number(await page.getAttribute('#result', 'data-score'));
      assert.equal(label, expected[i]!.label, `e-mail ${i + 1}`);
      assert.ok(Math.abs(score - expected[i]!.probabilities[label!]!) < 1e-4, `e-mail ${i + 1}: ${score} vs ${expected[i]!.probabilities[label!]}`);
    }
  } finally {
    await browser.close();
  }
  assert.deepEqual(errors, [], 'no errors in the page');
  assert.deepEqual(unexpected.filter((url) => !url.endsWith('favicon.ico')), [], 'no requests beyond the page, the model and transformers.js');
  assert.notEqual(expected[0]!.label, expected[1]!.label, 'the two e-mails get different labels');
});

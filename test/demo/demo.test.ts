/**
 * The demo's plumbing end to end with a tiny budget (the real budgets are measured by
 * `npm run demo`; see the README): four runs (pretraining, two fine-tunings, the TF-IDF baseline), a table, samples and a report.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { formatDemoTable, runDemo } from '../../src/demo/demo.js';

test('runDemo pretrains, fine-tunes from pretrained and from scratch, fits the TF-IDF baseline, fine-tunes use-lite, samples and reports', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kiln-demo-'));
  try {
    const stages: string[] = [];
    const result = await runDemo({ out, budget: { pretrainSteps: 10, pretrainSeconds: 60, finetuneSteps: 6, textLength: 128 }, threads: 1, onStage: (s) => stages.push(s) });
    assert.equal(stages.length, 5);
    assert.equal(result.pretrain.steps, 10);
    assert.ok(Number.isFinite(result.pretrain.valLoss));
    assert.deepEqual(result.rows.map((r) => r.start), ['pretrained', 'scratch', 'baseline:tfidf', 'use-lite']);
    for (const row of result.rows) {
      for (const value of [row.accuracy, row.macroF1, row.minorityRecall]) assert.ok(value >= 0 && value <= 1, `${row.start}: ${value}`);
      assert.equal(row.minorityLabel, 'spam'); // the default task has fewer spam than ham e-mails
      assert.ok(existsSync(path.join(row.dir, 'kiln.json')), row.dir);
    }
    for (const run of ['finetune-pretrained', 'finetune-scratch']) {
      const config = JSON.parse(readFileSync(path.join(out, run, 'config.json'), 'utf8')) as { maxLength: number; truncation: string };
      assert.deepEqual([config.maxLength, config.truncation], [128, 'head+tail'], `${run} reads two 64-character windows`);
    }
    assert.equal(result.samples.length, 3);
    for (const s of result.samples) assert.ok(s.text.startsWith(s.prompt) && s.text.length > s.prompt.length);
    const html = readFileSync(result.reportFile, 'utf8');
    const use = JSON.parse(readFileSync(path.join(out, 'finetune-use-lite', 'config.json'), 'utf8')) as { maxLength: number; maxSteps: number; from: string };
    assert.deepEqual([use.from, use.maxLength, use.maxSteps], ['use-lite', 128, 6]);
    for (const run of ['pretrain', 'finetune-pretrained', 'finetune-scratch', 'baseline-tfidf', 'finetune-use-lite']) assert.ok(html.includes(run), `report names ${run}`);
    const table = formatDemoTable(result.rows).split('\n');
    assert.equal(table.length, 6);
    assert.match(table[0]!, /accuracy +macro-F1 +recall \(spam\) +seconds/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

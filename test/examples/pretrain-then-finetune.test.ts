// Issue 10: the pretrain-then-fine-tune example runs end to end (tiny model, a few steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NEW_TEXTS, pretrainThenFinetune } from '../../examples/pretrain-then-finetune.js';

test('pretrain-then-finetune example: both folders, test metrics in [0, 1], predictions from the label set', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kiln-example-ptf-'));
  try {
    const lines: string[] = [];
    const result = await pretrainThenFinetune({
      out,
      pretrainSteps: 6,
      finetuneSteps: 4,
      shape: { layers: 1, heads: 2, dim: 16, blockSize: 32 },
      threads: 1,
      log: (line) => lines.push(line),
    });
    assert.equal(result.pretrainDir, path.join(out, 'pretrain', 'best'));
    assert.equal(result.finetuneDir, path.join(out, 'finetune', 'best'));
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'kiln.json']) {
      assert.ok(existsSync(path.join(result.pretrainDir, file)), `pretrain/best/${file}`);
      assert.ok(existsSync(path.join(result.finetuneDir, file)), `finetune/best/${file}`);
    }
    // The fine-tuned folder is a classifier over the spam task's labels, built on the pretrained shape.
    const info = JSON.parse(readFileSync(path.join(result.finetuneDir, 'kiln.json'), 'utf8')) as { task: string; labels: string[] };
    assert.equal(info.task, 'sequence-classification');
    assert.deepEqual([...result.labels].sort(), ['ham', 'spam']);
    assert.deepEqual(info.labels, result.labels);
    const config = JSON.parse(readFileSync(path.join(result.finetuneDir, 'config.json'), 'utf8')) as { n_embd: number; n_layer: number };
    assert.deepEqual([config.n_embd, config.n_layer], [16, 1]);
    // A character model's loss starts near ln(vocabulary) ≈ 4-5 nats; six steps leave it finite and positive.
    assert.ok(result.pretrainValLoss > 0 && result.pretrainValLoss < 6, `val loss ${result.pretrainValLoss}`);
    // The test split is 20% of the whole spam corpus (trainSize samples the training part only).
    assert.ok(result.test.count > 200, `test count ${result.test.count}`);
    for (const v of [result.test.accuracy, result.test.macro_f1]) assert.ok(v >= 0 && v <= 1, `metric ${v}`);
    assert.equal(result.predictions.length, NEW_TEXTS.length);
    for (const p of result.predictions) {
      assert.ok(result.labels.includes(p.label), p.label);
      const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
      assert.equal(p.label, Object.entries(p.probabilities).sort((a, b) => b[1] - a[1])[0]![0]);
    }
    // One evaluation (at the last step), the summaries, one line per new text.
    assert.match(lines[0]!, /^pretraining step 6\/6: validation loss \d+\.\d{3}$/);
    assert.equal(lines.length, 3 + NEW_TEXTS.length, lines.join('\n'));
    assert.match(lines[2]!, /test accuracy \d\.\d{3}, macro-F1 \d\.\d{3}/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

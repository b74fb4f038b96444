// The image fine-tuning example runs as written, with small sizes: every run beats chance (20%).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { imageFinetune } from '../../examples/image-finetune.js';

test('image fine-tuning example: pretrain on digits 0-4, fine-tune on 5-9 from a few images, pretrained and scratch', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kiln-images-'));
  try {
    const lines: string[] = [];
    const result = await imageFinetune({ pretrainPerClass: 40, pretrainEpochs: 2, finetunePerClass: 10, finetuneEpochs: 4, out }, (l) => lines.push(l));
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^pretrained on digits 0-4: test accuracy \d+\.\d%$/);
    assert.match(lines[1]!, /^digits 5-9 from 10 images each: pretrained \d+\.\d%, scratch \d+\.\d%$/);
    for (const accuracy of [result.pretrained, result.scratch]) assert.ok(accuracy > 0.3 && accuracy <= 1, `accuracy ${accuracy}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

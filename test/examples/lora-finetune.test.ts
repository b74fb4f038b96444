// Issue 10: the LoRA example trains a few percent of the parameters, saves an adapter, and
// merging it changes nothing the model computes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LoRALinear, loadGpt2Folder, loadLoraAdapter, loadTokenizer, mergeLora, noGrad, scope, tensor } from '../../src/index.js';
import { PROBE_TEXT, loraFinetune } from '../../examples/lora-finetune.js';

/** A small labelled CSV: two kinds of review, one per row, with a comma inside quotes. */
function writeReviews(file: string): void {
  const good = ['great', 'lovely', 'excellent', 'wonderful', 'superb', 'charming'];
  const bad = ['awful', 'broken', 'terrible', 'useless', 'dreadful', 'faulty'];
  const things = ['kettle', 'teapot', 'vase', 'mug', 'bowl', 'plate', 'jug'];
  const rows = ['text,label'];
  for (const thing of things) {
    for (const word of good) rows.push(`"The ${thing} is ${word}, I love it",positive`);
    for (const word of bad) rows.push(`"The ${thing} is ${word}, send it back",negative`);
  }
  writeFileSync(file, rows.join('\n') + '\n');
}

test('LoRA example: < 5% of the parameters train, the adapter is saved, merged logits equal unmerged ones', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kiln-example-lora-'));
  try {
    const csv = path.join(out, 'reviews.csv');
    writeReviews(csv);
    const lines: string[] = [];
    const result = await loraFinetune({
      train: csv,
      out,
      pretrainSteps: 5,
      shape: { layers: 2, heads: 2, dim: 64, blockSize: 32 },
      steps: 8,
      rank: 2,
      lr: 1e-2, // large, so that eight steps move the adapters measurably
      threads: 1,
      log: (line) => lines.push(line),
    });
    assert.deepEqual(result.loraLayers, ['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_proj', 'transformer.h.1.attn.c_attn', 'transformer.h.1.attn.c_proj']);
    assert.ok(result.trainableFraction > 0 && result.trainableFraction < 0.05, `trainable fraction ${result.trainableFraction}`);
    // Adapters 2·r·(64 + 192) + 2·r·(64 + 64) and the head 64·2 + 2, over the model's parameters.
    const adapters = 2 * 2 * (64 + 192) + 2 * 2 * (64 + 64);
    assert.ok(lines.some((l) => l.includes(`${adapters + 130} of `)), lines.join('\n'));

    // Recompute here what the example reports: base + adapter unmerged, then merged.
    const { model } = loadGpt2Folder(result.baseDir);
    const base = loadGpt2Folder(result.baseDir).model;
    loadLoraAdapter(model, result.adapterDir);
    const layers = model.namedModules().filter(([, m]) => m instanceof LoRALinear) as [string, LoRALinear][];
    assert.equal(layers.length, 4);
    // Training moved B away from its zero start, so merging is not trivially exact.
    for (const [name, layer] of layers) assert.ok(layer.lora_B.abs().max().item() > 1e-4, `${name}: lora_B is still zero`);
    for (const m of [model, base]) m.eval();
    const ids = tensor([loadTokenizer(result.baseDir).encode(PROBE_TEXT).slice(0, 32)], { dtype: 'int64' }); // (1, T)
    const logitsOf = (m: typeof model): Float32Array => noGrad(() => scope(() => m.forward(ids).toTypedArray() as Float32Array));
    const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((w, x, i) => Math.max(w, Math.abs(x - b[i]!)), 0);
    const unmerged = logitsOf(model);
    mergeLora(model);
    assert.equal(model.namedModules().filter(([, m]) => m instanceof LoRALinear).length, 0);
    const merged = logitsOf(model);
    assert.ok(maxDiff(merged, unmerged) < 1e-5, `merged vs unmerged ${maxDiff(merged, unmerged)}`);
    assert.ok(maxDiff(merged, logitsOf(base)) > 1e-4, 'the adapter changes the base model');
    // The fine-tuned folder holds exactly base + merged adapter.
    const saved = loadGpt2Folder(result.bestDir).model;
    saved.eval();
    assert.ok(maxDiff(logitsOf(saved), merged) < 1e-5, `fine-tuned folder vs merged ${maxDiff(logitsOf(saved), merged)}`);
    assert.ok(result.mergeDeviation < 1e-5, `the example's own check: ${result.mergeDeviation}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

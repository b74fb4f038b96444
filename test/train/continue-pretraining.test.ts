/**
 * `kiln pretrain --from DIR`: continued (domain-adaptive) pretraining starts from the folder's
 * weights and reads the new text with the folder's tokenizer; settings that describe a new model
 * are refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { evaluateLoss } from '../../src/train/evaluate.js';
import { loadLanguageModel } from '../../src/train/model-folder.js';
import { causalObjective } from '../../src/train/objectives.js';
import { pretrainLanguageModel } from '../../src/train/pretrain.js';
import { resolvePretrainConfig } from '../../src/train/pretrain-config.js';
import { readTokenFile } from '../../src/data/token-file.js';
import { TINY_RUN, tinyText } from './tiny-text.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kiln-continue-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const general = path.join(dir, 'general.txt');
const domain = path.join(dir, 'domain.txt');
writeFileSync(general, tinyText(300));
// Text of the same characters in another order: the "domain" the model adapts to.
writeFileSync(domain, tinyText(200).split('\n').map((line) => line.split(' ').reverse().join(' ')).join('\n'));

for (const arch of ['gpt', 'bert'] as const) {
  test(`${arch}: continued pretraining starts from the folder's weights and keeps its tokenizer and vocabulary`, async () => {
    const base = await pretrainLanguageModel({ config: { ...TINY_RUN, arch, data: [general], maxSteps: 30, evalEvery: 30, threads: 1, out: path.join(dir, `${arch}-base`) } });
    // lr 0: one step changes nothing, so the run's weights are the folder's, bit for bit.
    const still = await pretrainLanguageModel({ config: { arch, from: base.modelDir, data: [domain], blockSize: 16, batchSize: 8, lr: 0, warmup: 0, maxSteps: 1, evalEvery: 1, evalIters: 2, threads: 1, out: path.join(dir, `${arch}-still`) } });
    const before = loadSafetensors(path.join(base.modelDir, 'model.safetensors')).tensors;
    const after = loadSafetensors(path.join(still.modelDir, 'model.safetensors')).tensors;
    assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
    for (const [name, t] of Object.entries(before)) assert.deepEqual(after[name]!.toArray(), t.toArray(), name);
    assert.equal(readFileSync(path.join(still.modelDir, 'tokenizer.json'), 'utf8'), readFileSync(path.join(base.modelDir, 'tokenizer.json'), 'utf8'));
    const baseInfo = JSON.parse(readFileSync(path.join(base.modelDir, 'kiln.json'), 'utf8')) as Record<string, unknown>;
    const stillInfo = JSON.parse(readFileSync(path.join(still.modelDir, 'kiln.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['vocab_size', 'mask_token_id', 'pad_token_id']) assert.equal(stillInfo[key], baseInfo[key], key);

  });
}

test("gpt: adapting to the new text lowers the loss on its held-out tokens, measured the same way before and after", async () => {
  const base = await pretrainLanguageModel({ config: { ...TINY_RUN, data: [general], maxSteps: 30, evalEvery: 30, threads: 1, out: path.join(dir, 'adapt-base') } });
  const adapted = await pretrainLanguageModel({ config: { from: base.modelDir, data: [domain], blockSize: 16, batchSize: 8, lr: 5e-3, warmup: 0, maxSteps: 40, evalEvery: 40, evalIters: 4, threads: 1, out: path.join(dir, 'adapted') } });
  const val = readTokenFile(path.join(dir, 'adapted', 'tokens.bin')).slice(-200);
  const loss = (folder: string): number => evaluateLoss(loadLanguageModel(folder).model, val, { blockSize: 16, batchSize: 8, evalIters: 4 }, causalObjective);
  assert.ok(loss(adapted.modelDir) < loss(base.modelDir) - 0.05, `domain loss ${loss(adapted.modelDir)} vs ${loss(base.modelDir)} before adapting`);
});

test('from: settings that describe a new model, another architecture or a longer context are refused by name', async () => {
  const base = await pretrainLanguageModel({ config: { ...TINY_RUN, data: [general], maxSteps: 2, warmup: 0, evalEvery: 2, threads: 1, out: path.join(dir, 'small') } });
  assert.throws(() => resolvePretrainConfig({ from: base.modelDir, dim: 64, tokenizer: 'bpe' }), /tokenizer, dim describe a new model, but from .* continues one/);
  await assert.rejects(pretrainLanguageModel({ config: { arch: 'llama', from: base.modelDir, data: [domain], maxSteps: 1, warmup: 0, out: path.join(dir, 'x') } }), /holds a gpt model; pass --arch gpt/);
  await assert.rejects(pretrainLanguageModel({ config: { from: base.modelDir, data: [domain], blockSize: 64, maxSteps: 1, warmup: 0, out: path.join(dir, 'y') } }), /block-size 64 exceeds the 16-token context/);
});

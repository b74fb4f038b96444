/**
 * `kiln import llama2c`: the reference script's llama2.c checkpoints (both formats, see
 * test/fixtures/llama_reference.py) become Kiln Llama folders whose greedy generation, from the
 * folder's own tokenizer.json, reproduces the ids of the reference's port of run.c.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runImport } from '../../src/cli/import-command.js';
import { importLlama2c } from '../../src/io/llama2c-import.js';
import { loadLlamaFolder } from '../../src/io/hf-llama.js';
import { scope, tensor } from '../../src/index.js';
import { loadTokenizer } from '../../src/tokenizers/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../test/fixtures');
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const reference = JSON.parse(readFileSync(path.join(fixtures, 'llama_tiny.json'), 'utf8')) as {
  llama2c: { prompt: string; prompt_ids: number[]; legacy: { ids: number[] }; v1: { ids: number[] } };
};
const tokenizerBin = path.join(fixtures, 'llama2c-tokenizer.bin');

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-import-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const format of ['legacy', 'v1'] as const) {
  test(`llama2.c ${format} checkpoint → model folder; greedy generation gives run.c's ids`, async (t) => {
    const out = path.join(scratch(t), 'model');
    const info = importLlama2c({ checkpoint: path.join(fixtures, `llama2c-${format}.bin`), tokenizer: tokenizerBin, out });
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'kiln.json']) assert.ok(existsSync(path.join(out, file)), file);
    const kiln = JSON.parse(readFileSync(path.join(out, 'kiln.json'), 'utf8')) as typeof info;
    assert.deepEqual([kiln.architecture, kiln.task, kiln.made.by, kiln.step, kiln.val_loss], ['llama', 'causal-lm', 'kiln import llama2c', 0, null]);
    assert.equal(kiln.made.config['format'], format);

    const tokenizer = loadTokenizer(out);
    const prompt = tokenizer.encode(reference.llama2c.prompt, { addSpecialTokens: true });
    assert.deepEqual(prompt, reference.llama2c.prompt_ids);
    const { model } = loadLlamaFolder(out);
    model.eval();
    const want = reference.llama2c[format].ids;
    const generated = scope(() => {
      const input = tensor([prompt], { dtype: 'int64' }); // (1, T)
      return (model.generate(input, { maxNewTokens: want.length - prompt.length, temperature: 0 }).toArray() as number[][])[0]!;
    });
    assert.deepEqual(generated, want);
    assert.equal(tokenizer.decode(generated.slice(0, prompt.length), { skipSpecialTokens: true }), reference.llama2c.prompt);
  });
}

test('bad input: missing flags, missing or corrupt files, unknown format — one-line errors', async (t) => {
  const dir = scratch(t);
  const checkpoint = path.join(fixtures, 'llama2c-v1.bin');
  await assert.rejects(runImport(['llama2c', '--checkpoint', checkpoint, '--out', dir]), /--tokenizer FILE is required/);
  await assert.rejects(runImport(['gguf']), /unknown format 'gguf'; the formats are llama2c/);
  assert.throws(() => importLlama2c({ checkpoint: path.join(dir, 'nope.bin'), tokenizer: tokenizerBin, out: dir }), /importLlama2c: the checkpoint .*nope\.bin does not exist/);
  await assert.rejects(runImport(['llama2c', '--checkpoint', path.join(dir, 'nope.bin'), '--tokenizer', tokenizerBin, '--out', dir]), /^UsageError: kiln import llama2c: the checkpoint .*nope\.bin does not exist/);
  const truncated = path.join(dir, 'truncated.bin');
  writeFileSync(truncated, readFileSync(checkpoint).subarray(0, 1000));
  assert.throws(() => importLlama2c({ checkpoint: truncated, tokenizer: tokenizerBin, out: path.join(dir, 'a') }), /^Error: llama2\.c checkpoint .*truncated\.bin/);
  const shortTokenizer = path.join(dir, 'tokenizer.bin');
  writeFileSync(shortTokenizer, readFileSync(tokenizerBin).subarray(0, 2000));
  assert.throws(
    () => importLlama2c({ checkpoint, tokenizer: shortTokenizer, out: path.join(dir, 'b') }),
    /llama2\.c tokenizer .*tokenizer\.bin: token \d+ at byte \d+: .*\(the checkpoint's vocab_size is 288\)/,
  );
  assert.equal(existsSync(path.join(dir, 'b', 'kiln.json')), false);

  // through the real command line: exit code 2 and one line on stderr
  const copy = path.join(dir, 'copy.bin');
  copyFileSync(truncated, copy);
  const run = spawnSync(process.execPath, [MAIN, 'import', 'llama2c', '--checkpoint', copy, '--tokenizer', tokenizerBin, '--out', path.join(dir, 'c')], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /^kiln import llama2c: .*copy\.bin/);
});

// Issue 10: the Hugging Face folder example on the tiny GPT-2 fixture: PyTorch's logits, greedy
// tokens that follow them, and a save/reload round trip that changes no bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CharTokenizer, GPT, Gpt2Tokenizer, gptConfig, loadGpt2Folder, manualSeed, saveGpt2Folder, saveTokenizer } from '../../src/index.js';
import { FIXTURE_FOLDER, FIXTURE_PROMPT, runHfFolder } from '../../examples/hf-folder.js';
import { fixtures } from '../models/reference.js';

// gpt2_reference.py's float64 forward of the fixture's weights: two id sequences and their (T, V) logits.
const reference = JSON.parse(readFileSync(path.join(fixtures, 'gpt2_tiny.json'), 'utf8')) as { inputs: number[][]; logits: number[][][] };
const argmax = (row: number[]): number => row.indexOf(Math.max(...row));

test('hf-folder example: the fixture reproduces the reference logits, generates greedily and round-trips bit-exactly', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kiln-example-hf-'));
  try {
    assert.equal(FIXTURE_FOLDER, path.join(fixtures, 'gpt2-tiny'));
    assert.deepEqual(FIXTURE_PROMPT.split(',').map(Number), reference.inputs[0]);
    reference.inputs.forEach((input, i) => {
      const lines: string[] = [];
      const result = runHfFolder({ prompt: input.join(','), newTokens: 4, out: path.join(out, String(i)), log: (l) => lines.push(l) });
      assert.deepEqual(result.promptIds, input);
      let worst = 0;
      result.logits.forEach((row, t) => row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - reference.logits[i]![t]![k]!)))));
      assert.ok(worst < 1e-4, `input ${i}: logits deviate from PyTorch's by ${worst}`);
      // The first greedy token is the reference's most likely next token.
      assert.equal(result.generatedIds.length, input.length + 4);
      assert.deepEqual(result.generatedIds.slice(0, input.length), input);
      assert.equal(result.generatedIds[input.length], argmax(reference.logits[i]!.at(-1)!));
      assert.equal(result.generatedText, null); // the fixture has no tokenizer
      assert.deepEqual(result.roundTrip, { tensors: result.roundTrip.tensors, identical: result.roundTrip.tensors, logitsIdentical: true });
      assert.ok(result.roundTrip.tensors >= 2 * 12 + 5, `${result.roundTrip.tensors} tensors`); // 12 per block + wte, wpe, ln_f (2), lm_head
      assert.ok(existsSync(path.join(out, String(i), 'config.json')) && existsSync(path.join(out, String(i), 'model.safetensors')));
      assert.equal(lines.length, 4);
    });
    // The saved folder holds the fixture's weights exactly, under the transformer. prefix.
    const original = loadGpt2Folder(FIXTURE_FOLDER).model.stateDict();
    const saved = loadGpt2Folder(path.join(out, '0')).model.stateDict();
    for (const [name, t] of Object.entries(original)) assert.ok(t.equal(saved[name]!), name);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('hf-folder example: a tokenizer turns a text prompt into ids and the continuation into text', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kiln-example-hf-'));
  try {
    const tokenizer = CharTokenizer.fromText('abcdefghijklmnopqrstuvwxyz .'); // 28 ids < the fixture's 50
    const file = saveTokenizer(tokenizer, path.join(out, 'tokenizer.json'));
    const result = runHfFolder({ prompt: 'the kiln', tokenizer: file, newTokens: 5, out: path.join(out, 'saved'), log: () => {} });
    assert.deepEqual(result.promptIds, tokenizer.encode('the kiln'));
    // Ids 28..49 have embedding rows but no characters: generation never picks them.
    assert.equal(result.generatedIds.length, 8 + 5);
    assert.ok(result.generatedIds.every((id) => id < tokenizer.vocabSize), result.generatedIds.join(','));
    assert.equal(result.generatedText, tokenizer.decode(result.generatedIds));
    assert.ok(result.generatedText!.startsWith('the kiln'));
    assert.throws(() => runHfFolder({ prompt: '3,17,99', out: path.join(out, 'bad'), log: () => {} }), /no valid token ids for a vocabulary of 50/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('hf-folder example: a 50257-token GPT-2 folder without tokenizer.json reads text with GPT-2\'s BPE', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kiln-example-hf-'));
  try {
    manualSeed(0);
    // A GPT-2 layout with GPT-2's vocabulary and a tiny body, as an old hub checkpoint (vocab.json + merges.txt, no tokenizer.json) would be.
    saveGpt2Folder(new GPT(gptConfig({ vocabSize: 50257, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8 })), path.join(out, 'model'));
    const result = runHfFolder({ folder: path.join(out, 'model'), prompt: 'Hello world', newTokens: 3, out: path.join(out, 'saved'), log: () => {} });
    const bpe = Gpt2Tokenizer.fromPackage();
    assert.deepEqual(result.promptIds, [15496, 995]); // GPT-2's ids for 'Hello', ' world'
    assert.deepEqual(result.promptIds, bpe.encode('Hello world'));
    assert.equal(result.generatedText, bpe.decode(result.generatedIds));
    assert.ok(result.generatedText!.startsWith('Hello world'));
    assert.equal(result.roundTrip.identical, result.roundTrip.tensors);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

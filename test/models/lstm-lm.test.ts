/**
 * The LSTM language model against test/fixtures/lstm_reference.py, which built the same model
 * from PyTorch's nn.Embedding, nn.LSTM(batch_first=True) and nn.Linear on random weights
 * (lstm-tiny/: vocab 24, embedding 12, hidden 16, 2 layers) and wrote, in lstm_tiny.json, the
 * float64 logits and hidden states of two id sequences and a greedy continuation computed
 * statelessly (the whole sequence re-read for each new token).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { scope } from '../../src/index.js';
import { loadLstmFolder, lstmConfigFromJson, saveLstmFolder } from '../../src/io/kiln-lstm.js';
import { LstmLM } from '../../src/models/lstm-lm.js';
import { lstmLMConfig } from '../../src/models/lstm-lm-config.js';
import { deviationFromReference, fixtures, ids, maxAbsDiff, rowsOf, scratchFolder } from './reference.js';

interface Reference {
  inputs: number[][];
  logits: number[][][];
  hidden: number[][][];
  prompt: number[];
  greedy: number[];
  min_margin: number;
}
const reference = JSON.parse(readFileSync(path.join(fixtures, 'lstm_tiny.json'), 'utf8')) as Reference;
const { model: tiny } = loadLstmFolder(path.join(fixtures, 'lstm-tiny'));
const scratch = scratchFolder('kiln-lstm-');

test('the LSTM folder reproduces torch.nn.LSTM logits and hidden states to 1e-5, under PyTorch names', (t) => {
  assert.deepEqual({ ...tiny.config }, { vocabSize: 24, embeddingDim: 12, hiddenSize: 16, numLayers: 2, dropout: 0, tieWeights: false });
  assert.deepEqual(Object.keys(tiny.stateDict()).sort(), [
    'embedding.weight', 'head.bias', 'head.weight',
    'lstm.bias_hh_l0', 'lstm.bias_hh_l1', 'lstm.bias_ih_l0', 'lstm.bias_ih_l1',
    'lstm.weight_hh_l0', 'lstm.weight_hh_l1', 'lstm.weight_ih_l0', 'lstm.weight_ih_l1',
  ]);
  const worst = deviationFromReference(tiny, reference);
  t.diagnostic(`max |logit - reference| = ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-5, `logits deviate by ${worst}`);
  const hiddenWorst = scope(() => Math.max(...reference.inputs.map((input, i) => {
    const hidden = tiny.hiddenStates(ids([input])); // (1, T, H)
    assert.deepEqual(hidden.shape, [1, input.length, 16]);
    return maxAbsDiff(hidden.select(0, 0), reference.hidden[i]!);
  })));
  assert.ok(hiddenWorst < 1e-5, `hidden states deviate by ${hiddenWorst}`);
});

test('stateful greedy generation matches the stateless reference continuation', () => {
  assert.ok(reference.min_margin > 1e-3, 'the reference argmaxes are far enough apart for float32');
  tiny.train();
  const out = scope(() => rowsOf(tiny.generate(ids([reference.prompt]), { maxNewTokens: reference.greedy.length - reference.prompt.length, temperature: 0 })));
  assert.deepEqual(out[0], reference.greedy);
  // A batch of two rows continues each independently.
  const both = scope(() => rowsOf(tiny.generate(ids([reference.prompt, reference.prompt]), { maxNewTokens: 4, temperature: 0 })));
  assert.deepEqual(both[0], reference.greedy.slice(0, reference.prompt.length + 4));
  assert.deepEqual(both[1], both[0]);
  assert.ok(tiny.training, 'generate restores training mode');
});

test('a tied LSTM saves without the head and loads back bit-exact; bad configs and folders are clear errors', () => {
  const model = new LstmLM({ vocabSize: 10, embeddingDim: 8, hiddenSize: 8, numLayers: 1, tieWeights: true });
  assert.equal(model.head.weight, model.embedding.weight);
  assert.equal(model.parameters().length, 6, 'the tied weight counts once');
  const dir = path.join(scratch, 'tied');
  saveLstmFolder(model, dir);
  const { model: again } = loadLstmFolder(dir);
  assert.equal(again.head.weight, again.embedding.weight);
  const [a, b] = [model.stateDict(), again.stateDict()];
  for (const name of Object.keys(a)) assert.ok(a[name]!.equal(b[name]!), name);
  assert.throws(() => lstmLMConfig({ embeddingDim: 8, hiddenSize: 16, tieWeights: true }), /tied weights need embeddingDim \(8\) equal to hiddenSize \(16\)/);
  assert.throws(() => lstmLMConfig({ hiddenSize: 0 }), /hiddenSize must be a positive integer/);
  assert.throws(() => lstmLMConfig({ layers: 2 } as never), /unknown key 'layers'/);
  assert.throws(() => loadLstmFolder(path.join(fixtures, 'llama-tiny')), /model_type "llama" is not 'kiln-lstm'/);
  const shape = { model_type: 'kiln-lstm', vocab_size: 24, embedding_dim: 12, hidden_size: 16 };
  for (const [json, message] of [
    [shape, /^ModelFolderError: LSTM folder x: config\.json lacks 'num_layers'$/],
    [{ ...shape, num_layers: 1.5 }, /^ModelFolderError: LSTM folder x: config\.json: 'num_layers' must be a positive integer, got 1\.5$/],
    [{ ...shape, num_layers: 1, dropout: 'x' }, /^ModelFolderError: LSTM folder x: config\.json: 'dropout' must be a number, got "x"$/],
    [{ ...shape, num_layers: 1, dropout: 2 }, /^ModelFolderError: LSTM folder x: LstmLMConfig: dropout must be in \[0, 1\), got 2$/],
    [{ ...shape, num_layers: 1, tie_word_embeddings: 1 }, /^ModelFolderError: LSTM folder x: config\.json: 'tie_word_embeddings' must be true or false, got 1$/],
  ] as const) {
    assert.throws(() => lstmConfigFromJson(json, 'x'), message);
  }
  assert.throws(() => scope(() => tiny.forward(ids([[0, 24]]))), /token ids must be in \[0, 24\)/);
});

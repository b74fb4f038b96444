// A model folder or checkpoint whose header (config.json, llama2.c's header) claims a model far
// larger than its weights is refused before the model is built: no gigabytes allocated for a
// few kilobytes of weights. Before the budget, an edited n_embd of 4,096 on a 7 KB GPT-2 folder
// allocated 6.7 GB and took 55 s before the shapes were compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBertFolder, saveBertFolder } from '../../src/io/hf-bert.js';
import { loadGpt2Folder, saveGpt2Folder } from '../../src/io/hf-gpt2.js';
import { loadLlamaFolder, saveLlamaFolder } from '../../src/io/hf-llama.js';
import { loadLstmFolder, saveLstmFolder } from '../../src/io/kiln-lstm.js';
import { loadLlama2cCheckpoint } from '../../src/io/llama2c.js';
import { BertModel, GPT, Llama, LstmLM } from '../../src/models/index.js';
import { AllocationBudgetError, withAllocationBudget, zeros } from '../../src/tensor/creation.js';
import { buildImageClassifier, loadImageClassifier, saveImageClassifier } from '../../src/vision/image-model-folder.js';
import { scratchFolder } from '../models/reference.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

/** Rewrites config.json's fields, loads, and checks the refusal: fast, small, and saying why. */
function refusedQuickly(load: () => unknown, pattern: RegExp): void {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  assert.throws(load, pattern);
  const ms = performance.now() - started;
  const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  assert.ok(ms < 2000, `refused after ${ms.toFixed(0)} ms`);
  assert.ok(grown < 200, `resident memory grew ${grown.toFixed(0)} MiB before the refusal`);
}

function inflate(dir: string, fields: Record<string, unknown>): void {
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), ...fields }));
}

const CLAIM = /config\.json describes a model larger than its weights: building it needs over [\d.]+ MiB, but the weights are \d+ bytes on disk/;

test('withAllocationBudget: allocations past the budget throw before allocating; nested budgets add up', () => {
  withAllocationBudget(4 * 100, () => zeros([10, 10]).dispose());
  assert.throws(() => withAllocationBudget(4 * 100, () => zeros([10, 11])), (e: Error) => e instanceof AllocationBudgetError && /zeros: shape \[10, 11\] would bring the allocations to 440 bytes, over the budget of 400/.test(e.message));
  assert.throws(() => withAllocationBudget(800, () => {
    zeros([100]).dispose();
    withAllocationBudget(1000, () => zeros([100]).dispose());
    zeros([20]); // 400 + 400 + 80 > 800
  }), AllocationBudgetError);
  zeros([1000]).dispose(); // no budget outside
});

test('GPT-2, Llama, BERT, LSTM and image folders: a config.json that claims a huge model is refused before it is built', () => {
  const dir = scratchFolder('kiln-header-claims-');
  const cases: [string, () => void, Record<string, unknown>, () => unknown][] = [
    ['gpt2', () => saveGpt2Folder(new GPT({ vocabSize: 50, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8 }), path.join(dir, 'gpt2')), { n_embd: 4096, n_head: 8, n_layer: 48 }, () => loadGpt2Folder(path.join(dir, 'gpt2'))],
    ['llama', () => saveLlamaFolder(new Llama({ vocabSize: 20, dim: 16, nLayers: 1, nHeads: 4, nKvHeads: 1, intermediateSize: 24, maxSeqLen: 8 }), path.join(dir, 'llama')), { hidden_size: 8192, intermediate_size: 28672, num_hidden_layers: 80 }, () => loadLlamaFolder(path.join(dir, 'llama'))],
    // RoPE's position table is built with arange: a context of 2^31 positions claims 16 GB before any weight is made (found by the fuzz campaign: a 139 s hang).
    ['llama-positions', () => saveLlamaFolder(new Llama({ vocabSize: 20, dim: 16, nLayers: 1, nHeads: 4, nKvHeads: 1, intermediateSize: 24, maxSeqLen: 8 }), path.join(dir, 'llama-positions')), { max_position_embeddings: 2 ** 31 - 1 }, () => loadLlamaFolder(path.join(dir, 'llama-positions'))],
    ['bert', () => saveBertFolder(new BertModel({ vocabSize: 30, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 16 }), path.join(dir, 'bert')), { vocab_size: 1_000_000, hidden_size: 1024 }, () => loadBertFolder(path.join(dir, 'bert'))],
    ['lstm', () => saveLstmFolder(new LstmLM({ vocabSize: 10, embeddingDim: 8, hiddenSize: 8, numLayers: 1, tieWeights: true }), path.join(dir, 'lstm')), { hidden_size: 65536, embedding_dim: 65536 }, () => loadLstmFolder(path.join(dir, 'lstm'))],
  ];
  for (const [name, save, fields, load] of cases) {
    save();
    load(); // the honest folder loads
    inflate(path.join(dir, name), fields);
    refusedQuickly(load, CLAIM);
  }
  const image = path.join(dir, 'image');
  const cnn = buildImageClassifier({ architecture: 'cnn', settings: { inChannels: 1, numClasses: 2, imageSize: [8, 8], channels: [4] } });
  saveImageClassifier(cnn, image, {
    classNames: ['a', 'b'], channels: 1, imageSize: [8, 8], normalization: { mean: [0.5], std: [0.5] },
    info: { architecture: 'cnn', task: 'image-classification', made: { by: 'test', config: {}, date: '' }, step: 0, val_accuracy: null, test_accuracy: null },
  });
  loadImageClassifier(image);
  const config = JSON.parse(readFileSync(path.join(image, 'config.json'), 'utf8')) as { model: Record<string, unknown> };
  inflate(image, { model: { ...config.model, imageSize: [4096, 4096], channels: [512, 1024] } });
  refusedQuickly(() => loadImageClassifier(image), CLAIM);
});

test('llama2.c: a header that claims a huge model is refused before it is built', () => {
  const bytes = Buffer.from(readFileSync(path.join(fixtures, 'llama2c-v1.bin')));
  // v1: magic, version, then dim, hidden_dim, n_layers, … as int32 from byte 8.
  bytes.writeInt32LE(8192, 8);
  bytes.writeInt32LE(28672, 12);
  const file = path.join(scratchFolder('kiln-header-claims-'), 'huge.bin');
  writeFileSync(file, bytes);
  refusedQuickly(() => loadLlama2cCheckpoint(file), /llama2\.c checkpoint .*huge\.bin: the header describes a model larger than its weights: .* the weights are 14240 bytes on disk/);
});

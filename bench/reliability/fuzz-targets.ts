/**
 * The loaders the fuzz campaign feeds: each one with the valid files its mutations start from
 * (Kiln's fixtures, or files Kiln's writers make) and how one input is loaded. A loader passes an
 * input when it loads it or refuses it with a JS Error; anything else is a defect: a throw that is
 * not an Error, a crash (a signal), a hang, or memory taken on a header's word.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readConfigFile } from '../../src/cli/config-file.js';
import { resolveFinetuneConfig } from '../../src/finetune/finetune-config.js';
import { readLabelledExamples } from '../../src/finetune/labelled-data.js';
import { loadBertFolder } from '../../src/io/hf-bert.js';
import { loadGpt2Folder } from '../../src/io/hf-gpt2.js';
import { loadLlamaFolder } from '../../src/io/hf-llama.js';
import { loadLlama2cCheckpoint } from '../../src/io/llama2c.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { loadShardedSafetensors } from '../../src/io/safetensors-sharded.js';
import { loadTfjsWeights } from '../../src/io/tfjs-weights.js';
import { readRun } from '../../src/report/run-data.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { scope } from '../../src/tensor/scope.js';
import { Llama2cTokenizer } from '../../src/tokenizers/llama2c-tokenizer.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import { trainByteLevelBpe } from '../../src/tokenizers/train-bpe.js';
import { saveTokenizer } from '../../src/tokenizers/load.js';
import { resolvePretrainConfig } from '../../src/train/pretrain-config.js';
import { decodeImage } from '../../src/vision/decode-image.js';
import { decodeIdx } from '../../src/vision/idx.js';
import { resolveImageRunConfig } from '../../src/vision/image-run.js';

// dist/bench/reliability/fuzz-targets.js -> test/fixtures/
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

export interface FuzzTarget {
  name: string;
  /** Structure-aware JSON mutations apply. */
  json: boolean;
  /** The valid files mutations start from; `dir` is the target's scratch folder. */
  seeds(dir: string): Promise<Uint8Array[]> | Uint8Array[];
  /** Loads one input (written where the loader reads it, under `dir`). */
  load(bytes: Uint8Array, dir: string): Promise<unknown> | unknown;
}

const fixture = (...parts: string[]): Buffer => readFileSync(path.join(FIXTURES, ...parts));

/** Frees whatever tensors a loader returned (a model's parameters, a dict of tensors). */
function release(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  if (typeof record['dispose'] === 'function' && 'shape' in record) return void (record as unknown as Tensor).dispose();
  const model = record['model'] as { parameters?: () => Tensor[] } | undefined;
  if (model !== undefined && typeof model.parameters === 'function') for (const p of model.parameters()) p.dispose();
  const tensors = record['tensors'] as Record<string, Tensor> | undefined;
  if (tensors !== undefined) for (const t of Object.values(tensors)) t.dispose();
}

/** A folder loader fed a mutated config.json beside the fixture's real weights. */
function folderTarget(name: string, fixtureDir: string, load: (dir: string) => unknown): FuzzTarget {
  return {
    name,
    json: true,
    seeds: (dir) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'model.safetensors'), fixture(fixtureDir, 'model.safetensors'));
      return [fixture(fixtureDir, 'config.json')];
    },
    load: (bytes, dir) => {
      writeFileSync(path.join(dir, 'config.json'), bytes);
      release(scope(() => load(dir)));
    },
  };
}

function fileTarget(name: string, json: boolean, file: string, seeds: (dir: string) => Promise<Uint8Array[]> | Uint8Array[], load: (file: string, dir: string) => unknown): FuzzTarget {
  return {
    name,
    json,
    seeds,
    load: async (bytes, dir) => {
      mkdirSync(dir, { recursive: true });
      const target = path.join(dir, file);
      writeFileSync(target, bytes);
      release(await load(target, dir));
    },
  };
}

const LABELLED_ROWS = ['calm grey sea,calm', '"a storm, then rain",storm', 'sun,calm', 'thunder and ""hail"",storm'];

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  { name: 'safetensors', json: false, seeds: () => [fixture('safetensors', 'reference.safetensors'), fixture('gpt2-tiny', 'model.safetensors')], load: (bytes) => release(decodeSafetensors(bytes)) },
  {
    name: 'safetensors index',
    json: true,
    seeds: (dir) => {
      const sharded = path.join(FIXTURES, 'safetensors', 'sharded');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const index = readFileSync(path.join(sharded, 'model.safetensors.index.json'));
      const files = new Set(Object.values((JSON.parse(index.toString('utf8')) as { weight_map: Record<string, string> }).weight_map));
      for (const f of files) writeFileSync(path.join(dir, f), readFileSync(path.join(sharded, f)));
      return [index];
    },
    load: (bytes, dir) => {
      writeFileSync(path.join(dir, 'model.safetensors.index.json'), bytes);
      release(loadShardedSafetensors(dir));
    },
  },
  folderTarget('GPT-2 config.json', 'gpt2-tiny', loadGpt2Folder),
  folderTarget('Llama config.json', 'llama-tiny', loadLlamaFolder),
  folderTarget('BERT config.json', 'bert-tiny', loadBertFolder),
  fileTarget('tokenizer.json', true, 'tokenizer.json', (dir) => {
    mkdirSync(dir, { recursive: true });
    const bpe = path.join(dir, 'seed-bpe.json');
    saveTokenizer(trainByteLevelBpe('the sea, the storm and the ship; a calm grey sea. '.repeat(20), { vocabSize: 270 }), bpe);
    const llama = path.join(dir, 'seed-llama.json');
    saveTokenizer(Llama2cTokenizer.fromFile(path.join(FIXTURES, 'llama2c-tokenizer.bin')).toHfTokenizer(), llama);
    return [readFileSync(bpe), readFileSync(llama)];
  }, (file) => {
    const tokenizer = loadTokenizer(file);
    tokenizer.decode(tokenizer.encode('the storm hits the ship'));
  }),
  fileTarget('llama2.c checkpoint', false, 'model.bin', () => [fixture('llama2c-v1.bin'), fixture('llama2c-legacy.bin')], (file) => loadLlama2cCheckpoint(file)),
  fileTarget('llama2.c tokenizer', false, 'tokenizer.bin', () => [fixture('llama2c-tokenizer.bin')], (file) => {
    const tokenizer = Llama2cTokenizer.fromFile(file);
    tokenizer.toTokenizerJson();
  }),
  {
    name: 'IDX',
    json: false,
    seeds: () => {
      const images = Buffer.concat([Buffer.from([0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 5]), Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 7) % 256))]);
      const labels = Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 4]), Buffer.from([1, 2, 3, 4])]);
      return [images, labels];
    },
    load: (bytes) => decodeIdx(bytes),
  },
  fileTarget('PNG', false, 'image.png', async () => [
    await sharp(Buffer.from(Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 13) % 256)), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer(),
    await sharp(Buffer.from(Array.from({ length: 6 * 5 }, (_, i) => (i * 29) % 256)), { raw: { width: 6, height: 5, channels: 1 } }).png().toBuffer(),
  ], (file) => decodeImage(file, { height: 8, width: 8, channels: 3 })),
  fileTarget('JPEG', false, 'image.jpg', async () => [
    await sharp(Buffer.from(Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 13) % 256)), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer(),
  ], (file) => decodeImage(file, { height: 8, width: 8, channels: 1 })),
  fileTarget('CSV', false, 'data.csv', () => [Buffer.from(['text,label', ...LABELLED_ROWS].join('\n') + '\n')], (file) => readLabelledExamples(file)),
  fileTarget('TSV', false, 'data.tsv', () => [Buffer.from(['label\ttext', 'calm\tgrey sea', 'storm\train "and" hail'].join('\n'))], (file) => readLabelledExamples(file)),
  fileTarget('JSONL', true, 'data.jsonl', () => [Buffer.from([{ text: 'calm grey sea', label: 'calm' }, { text: 'a storm', label: 'storm' }].map((r) => JSON.stringify(r)).join('\n') + '\n')], (file) => readLabelledExamples(file)),
  fileTarget('--config', true, 'run.json', () => [
    Buffer.from(JSON.stringify({ 'max-steps': 500, 'block-size': 32, data: ['a.txt'], 'time-limit': '10m', lr: 3e-4 })),
    Buffer.from(JSON.stringify({ from: 'runs/x', 'class-weights': '1,10', 'lora-targets': 'c_attn', epochs: 2, metric: 'accuracy' })),
    Buffer.from(JSON.stringify({ classes: '0-4', 'crop-padding': 2, flip: true, warmup: 10, 'val-size': 100 })),
  ], (file) => {
    const settings = readConfigFile(file, 'fuzz');
    // The same file through each command's resolver: each either accepts it or names what is wrong.
    for (const resolve of [resolvePretrainConfig, resolveFinetuneConfig, resolveImageRunConfig] as ((layer: Record<string, unknown>) => unknown)[]) {
      try {
        resolve(settings);
      } catch (error) {
        if (!(error instanceof Error)) throw error;
      }
    }
  }),
  fileTarget('metrics.jsonl', true, 'metrics.jsonl', () => [Buffer.from([
    { step: 10, loss: 2.5, lr: 1e-3, tokens_per_s: 1000, elapsed_s: 1 },
    { step: 10, loss: 2.4, val_loss: 2.6, val_accuracy: 0.5, lr: 1e-3, elapsed_s: 2 },
    { step: 20, loss: 2.1, lr: 5e-4, images_per_s: 300, elapsed_s: 3 },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n')], (_file, dir) => readRun(dir)),
  {
    name: 'TensorFlow.js manifest',
    json: true,
    seeds: (dir) => {
      mkdirSync(dir, { recursive: true });
      const values = new Float32Array([1, 2, 3, 4, 5, 6]);
      writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.concat([Buffer.from(values.buffer), Buffer.from([7, 0, 0, 0, 1, 0, 0, 0])]));
      return [Buffer.from(JSON.stringify([{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'dense/kernel', shape: [2, 3], dtype: 'float32' }, { name: 'ids', shape: [2], dtype: 'int32' }] }]))];
    },
    load: (bytes, dir) => {
      const manifest = path.join(dir, 'weights_manifest.json');
      writeFileSync(manifest, bytes);
      release({ tensors: loadTfjsWeights(manifest) });
    },
  },
];

// Sharded safetensors checkpoints in Hugging Face's layout: the reference script's folder loads,
// Kiln writes the same files byte for byte, and inconsistent folders are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Tensor } from '../../src/index.js';
import { tensor } from '../../src/index.js';
import {
  SHARD_INDEX_FILE,
  SafetensorsError,
  loadShardedSafetensors,
  saveShardedSafetensors,
  saveSafetensors,
} from '../../src/io/index.js';
import { FIXTURES, assertMatches, expected, fromExpected, tempDir } from './safetensors-fixture.js';

const SHARDED = path.join(FIXTURES, 'sharded');
const want = expected.sharded;

/** The reference script's tensors, rebuilt from its recorded values, in its state-dict order. */
function referenceTensors(): Map<string, Tensor> {
  return new Map(want.order.map((name) => [name, fromExpected(want.tensors[name]!)]));
}

function disposeAll(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.dispose();
}

test('a sharded checkpoint written by the reference script loads with exact values', () => {
  const { tensors, metadata } = loadShardedSafetensors(SHARDED);
  assert.deepEqual(metadata, { total_size: 180 });
  assert.deepEqual(Object.keys(tensors).sort(), [...want.order].sort());
  for (const [name, e] of Object.entries(want.tensors)) assertMatches(tensors[name]!, e, name);
  disposeAll(Object.values(tensors));
});

test("Kiln's sharded save splits as Hugging Face does and writes the reference bytes", () => {
  const tensors = referenceTensors();
  const dir = tempDir();
  const result = saveShardedSafetensors(dir, tensors, { maxShardBytes: want.maxShardBytes });
  assert.deepEqual(result.files, want.files);
  assert.equal(result.totalBytes, 180);
  assert.deepEqual(readdirSync(dir).sort(), [...want.files, SHARD_INDEX_FILE].sort());
  for (const file of [...want.files, SHARD_INDEX_FILE]) {
    assert.ok(readFileSync(path.join(dir, file)).equals(readFileSync(path.join(SHARDED, file))), `${file} differs from the reference`);
  }

  const { tensors: loaded } = loadShardedSafetensors(dir);
  for (const [name, t] of tensors) assert.ok(loaded[name]!.equal(t), name);
  disposeAll(Object.values(loaded));
  disposeAll(tensors.values());
  rmSync(dir, { recursive: true });
});

test('saving again with fewer shards removes the old shard files', () => {
  const tensors = referenceTensors();
  const dir = tempDir();
  saveShardedSafetensors(dir, tensors, { maxShardBytes: 40 });
  const { files } = saveShardedSafetensors(dir, tensors, { metadata: { step: '3' } });
  assert.deepEqual(files, ['model-00001-of-00001.safetensors']);
  assert.deepEqual(readdirSync(dir).sort(), ['model-00001-of-00001.safetensors', SHARD_INDEX_FILE]);
  const { tensors: loaded } = loadShardedSafetensors(dir);
  assert.equal(Object.keys(loaded).length, tensors.size);
  disposeAll(Object.values(loaded));
  disposeAll(tensors.values());
  rmSync(dir, { recursive: true });
});

test('non-ASCII names are written as Python writes the index (\\u escapes)', () => {
  const dir = tempDir();
  const t = tensor([1, 2], { dtype: 'float32' });
  saveShardedSafetensors(dir, { 'größe.weight': t });
  const index = readFileSync(path.join(dir, SHARD_INDEX_FILE), 'utf8');
  assert.match(index, /"gr\\u00f6\\u00dfe\.weight": "model-00001-of-00001\.safetensors"/);
  const { tensors } = loadShardedSafetensors(dir);
  assert.ok(tensors['größe.weight']!.equal(t));
  disposeAll([t, ...Object.values(tensors)]);
  rmSync(dir, { recursive: true });
});

/** Copies the reference folder so a test can break it. */
function brokenCopy(): string {
  const dir = tempDir();
  for (const file of readdirSync(SHARDED)) copyFileSync(path.join(SHARDED, file), path.join(dir, file));
  return dir;
}

function index(dir: string): { metadata: object; weight_map: Record<string, string> } {
  return JSON.parse(readFileSync(path.join(dir, SHARD_INDEX_FILE), 'utf8')) as { metadata: object; weight_map: Record<string, string> };
}

const BROKEN: [string, (dir: string) => void, RegExp][] = [
  ['a missing shard', (dir) => rmSync(path.join(dir, 'model-00002-of-00004.safetensors')), /shard model-00002-of-00004\.safetensors, which holds 'lm_head\.weight', is missing from/],
  ['a missing index', (dir) => rmSync(path.join(dir, SHARD_INDEX_FILE)), /model\.safetensors\.index\.json: not found, so .* is not a sharded checkpoint/],
  ['an index that is not JSON', (dir) => writeFileSync(path.join(dir, SHARD_INDEX_FILE), '{"weight_map": '), /is not valid JSON/],
  ['an index without a weight_map', (dir) => writeFileSync(path.join(dir, SHARD_INDEX_FILE), '{"metadata": {}}'), /must be an object with a "weight_map" object/],
  ['a shard path outside the folder', (dir) => {
    const i = index(dir);
    i.weight_map['step'] = '../model-00004-of-00004.safetensors';
    writeFileSync(path.join(dir, SHARD_INDEX_FILE), JSON.stringify(i));
  }, /weight_map\['step'\] must be a shard file name inside the folder, got "\.\.\/model-00004-of-00004\.safetensors"/],
  ['a name in two shards', (dir) => {
    // Shard 4 now holds 'wte.weight' as well, which shard 1 also holds.
    const wte = fromExpected(want.tensors['wte.weight']!);
    const step = fromExpected(want.tensors['step']!);
    saveSafetensors(path.join(dir, 'model-00004-of-00004.safetensors'), { step, 'wte.weight': wte });
    disposeAll([wte, step]);
  }, /tensor 'wte\.weight' is in two shards, model-00001-of-00004\.safetensors and model-00004-of-00004\.safetensors/],
  ['a shard tensor the index does not list', (dir) => {
    const step = fromExpected(want.tensors['step']!);
    const extra = tensor([1, 2], { dtype: 'float32' });
    saveSafetensors(path.join(dir, 'model-00004-of-00004.safetensors'), { step, extra });
    disposeAll([step, extra]);
  }, /tensor 'extra' is in shard model-00004-of-00004\.safetensors but not in the weight_map/],
  ['an index entry its shard does not hold', (dir) => {
    const i = index(dir);
    i.weight_map['extra.weight'] = 'model-00001-of-00004.safetensors';
    writeFileSync(path.join(dir, SHARD_INDEX_FILE), JSON.stringify(i));
  }, /the weight_map puts tensor 'extra\.weight' in model-00001-of-00004\.safetensors, but that shard does not hold it/],
  ['an index pointing at the wrong shard', (dir) => {
    const i = index(dir);
    i.weight_map['wte.weight'] = 'model-00004-of-00004.safetensors';
    writeFileSync(path.join(dir, SHARD_INDEX_FILE), JSON.stringify(i));
  }, /the weight_map puts tensor 'wte\.weight' in model-00004-of-00004\.safetensors, but it is in shard model-00001-of-00004\.safetensors/],
  ['a corrupt shard', (dir) => writeFileSync(path.join(dir, 'model-00003-of-00004.safetensors'), Buffer.alloc(4)), /model-00003-of-00004\.safetensors: the file is 4 bytes, shorter than the 8-byte header length/],
];

for (const [problem, breakIt, message] of BROKEN) {
  test(`a sharded checkpoint with ${problem} is refused with a clear error`, () => {
    const dir = brokenCopy();
    breakIt(dir);
    assert.throws(() => loadShardedSafetensors(dir), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected a SafetensorsError, got ${String(e)}`);
      assert.match(e.message, message);
      return true;
    });
    rmSync(dir, { recursive: true });
  });
}

test('saveShardedSafetensors checks maxShardBytes', () => {
  const dir = tempDir();
  assert.throws(() => saveShardedSafetensors(dir, {}, { maxShardBytes: 0 }), /maxShardBytes must be a positive integer, got 0/);
  rmSync(dir, { recursive: true });
});

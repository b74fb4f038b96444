// safetensors: files PyTorch wrote load exactly, Kiln writes the reference bytes, round trips
// are bit-exact for every dtype, and model state survives a save and load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DType, Module, type Tensor, nn, randn, randint, manualSeed, tensor, zeros } from '../../src/index.js';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
} from '../../src/io/index.js';
import { writeFileAtomic, writeAll } from '../../src/util/atomic-write.js';
import { FIXTURES, assertMatches, craft, expected, fromExpected, tempDir } from './safetensors-fixture.js';

const REFERENCE = path.join(FIXTURES, 'reference.safetensors');
const NAME_ORDER = path.join(FIXTURES, 'name_order.safetensors');

function disposeAll(tensors: Record<string, Tensor>): void {
  for (const t of Object.values(tensors)) t.dispose();
}

test('files written by the PyTorch reference script load with exact values, dtypes, shapes and metadata', () => {
  for (const [file, want] of Object.entries(expected.files)) {
    const { tensors, metadata } = loadSafetensors(path.join(FIXTURES, file));
    assert.deepEqual(metadata, want.metadata, `${file}: metadata`);
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(want.tensors).sort(), `${file}: names`);
    for (const [name, e] of Object.entries(want.tensors)) assertMatches(tensors[name]!, e, `${file}:${name}`);
    disposeAll(tensors);
  }
});

test('decodeSafetensors reads the same values from memory, including misaligned tensors', () => {
  // name_order.safetensors puts F32/F64/I64 data after a 3-byte tensor: not aligned in memory.
  for (const file of ['reference.safetensors', 'name_order.safetensors']) {
    const { tensors } = decodeSafetensors(readFileSync(path.join(FIXTURES, file)));
    for (const [name, e] of Object.entries(expected.files[file]!.tensors)) assertMatches(tensors[name]!, e, `${file}:${name}`);
    disposeAll(tensors);
  }
});

test("Kiln's writer produces the reference writer's bytes exactly", () => {
  const want = expected.files['reference.safetensors']!;
  const tensors = Object.fromEntries(Object.entries(want.tensors).map(([name, e]) => [name, fromExpected(e)]));
  const reference = readFileSync(REFERENCE);
  assert.ok(encodeSafetensors(tensors, { metadata: want.metadata }).equals(reference), 'encodeSafetensors bytes differ from reference.safetensors');

  const dir = tempDir();
  const file = path.join(dir, 'model.safetensors');
  saveSafetensors(file, new Map(Object.entries(tensors)), { metadata: want.metadata });
  assert.ok(readFileSync(file).equals(reference), 'saveSafetensors bytes differ from reference.safetensors');
  assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file is left behind');
  rmSync(dir, { recursive: true });

  // Half-precision bits, as PyTorch's view(int16) reported them, are the bytes in the file.
  const header = readSafetensorsHeader(REFERENCE);
  for (const name of ['f16', 'bf16']) {
    const [begin] = header.tensors[name]!.dataOffsets;
    const bits = want.tensors[name]!.bits!;
    const onDisk = bits.map((_, i) => reference.readUInt16LE(header.dataStart + begin + 2 * i));
    assert.deepEqual(onDisk, bits, name);
  }
  disposeAll(tensors);
});

test("the format's own examples: empty files with and without metadata", () => {
  // From the safetensors specification's tests: {} padded with spaces, and a metadata-only file.
  assert.deepEqual([...encodeSafetensors({})], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  const withMetadata = encodeSafetensors({}, { metadata: { framework: 'pt' } });
  assert.equal(withMetadata.readBigUInt64LE(0), 40n);
  assert.equal(withMetadata.subarray(8).toString('utf8'), '{"__metadata__":{"framework":"pt"}}     ');
  assert.deepEqual(decodeSafetensors(withMetadata).metadata, { framework: 'pt' });
});

test('readSafetensorsHeader returns names, dtypes, shapes, ranges and metadata without reading tensor data', () => {
  const header = readSafetensorsHeader(REFERENCE);
  const want = expected.files['reference.safetensors']!;
  assert.deepEqual(header.metadata, want.metadata);
  for (const [name, e] of Object.entries(want.tensors)) {
    assert.equal(header.tensors[name]!.dtype, e.dtype, name);
    assert.deepEqual(header.tensors[name]!.shape, e.shape, name);
  }
  // A 4 GiB tensor in a sparse file: reading its header must not touch (or allocate) its data.
  const dir = tempDir();
  const file = path.join(dir, 'huge.safetensors');
  const size = 2 ** 32 + 8;
  const prefix = craft({ huge: { dtype: 'U8', shape: [size], data_offsets: [0, size] } });
  writeFileSync(file, prefix);
  const fd = openSync(file, 'r+');
  ftruncateSync(fd, prefix.length + size);
  closeSync(fd);
  const huge = readSafetensorsHeader(file);
  assert.deepEqual(huge.tensors['huge'], { dtype: 'uint8', shape: [size], dataOffsets: [0, size] });
  assert.equal(huge.dataStart, prefix.length);
  rmSync(dir, { recursive: true });
});

/** One tensor per dtype with values that exercise it, the edge cases of each format included. */
function tensorsOfEveryDtype(): Record<string, Tensor> {
  manualSeed(7);
  const specials = new Float32Array([0, -0, Infinity, -Infinity, 1, -1, 65504, 2 ** -24, 2 ** -14, 1e-40, 3.3895313892515355e38]);
  const wide = (dtype: DType): Tensor => randn([40]).mul(300).to(dtype); // normals to 3e2
  const tiny = (dtype: DType): Tensor => randn([20]).mul(dtype === 'bfloat16' ? 1e-39 : 1e-6).to(dtype); // subnormals
  return {
    float64: randn([3, 4], { dtype: 'float64' }).mul(1e10),
    float32: randn([2, 3, 4]),
    float16: tensor(new Float32Array([...(wide('float16').toTypedArray() as Float32Array), ...(tiny('float16').toTypedArray() as Float32Array), ...specials]), { dtype: 'float16' }),
    bfloat16: tensor(new Float32Array([...(wide('bfloat16').toTypedArray() as Float32Array), ...(tiny('bfloat16').toTypedArray() as Float32Array), ...specials]), { dtype: 'bfloat16' }),
    int64: tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -7n])),
    int32: randint(-(2 ** 31), 2 ** 31 - 1, [5], { dtype: 'int32' }),
    int16: randint(-32768, 32767, [3, 2], { dtype: 'int16' }),
    int8: randint(-128, 127, [9], { dtype: 'int8' }),
    uint8: randint(0, 256, [7], { dtype: 'uint8' }),
    bool: randint(0, 2, [2, 5]).to('bool'),
    'empty.float16': zeros([2, 0], { dtype: 'float16' }),
    'scalar.int64': tensor(new BigInt64Array([42n]), { shape: [] }),
  };
}

/** The exact bits of a tensor's elements: float32 patterns for floats (exact for half types). */
function bitsOf(t: Tensor): string[] {
  const values = t.toTypedArray();
  const isFloat = values instanceof Float32Array;
  return [...(isFloat ? new Uint32Array(values.buffer, values.byteOffset, values.length) : values)].map(String);
}

test('save → load is bit-exact for every dtype, and saving again writes the same bytes', () => {
  const original = tensorsOfEveryDtype();
  const dir = tempDir();
  const file = path.join(dir, 'every-dtype.safetensors');
  saveSafetensors(file, original, { metadata: { format: 'pt', step: '12' } });
  const { tensors, metadata } = loadSafetensors(file);
  assert.deepEqual(metadata, { format: 'pt', step: '12' });
  for (const [name, t] of Object.entries(original)) {
    const loaded = tensors[name]!;
    assert.equal(loaded.dtype, t.dtype, name);
    assert.deepEqual(loaded.shape, t.shape, name);
    assert.ok(loaded.equal(t), `${name}: values differ`);
    assert.deepEqual(bitsOf(loaded), bitsOf(t), `${name}: bits differ`);
  }
  assert.ok(encodeSafetensors(tensors, { metadata }).equals(readFileSync(file)), 'a second save writes different bytes');
  rmSync(dir, { recursive: true });
  disposeAll(original);
  disposeAll(tensors);
});

test('all 65,536 float16 and bfloat16 bit patterns survive decode → encode (NaNs stay NaN)', () => {
  for (const [code, isNaN] of [
    ['F16', (b: number) => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0],
    ['BF16', (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0],
  ] as const) {
    const data = Buffer.alloc(2 * 65536);
    for (let b = 0; b < 65536; b++) data.writeUInt16LE(b, 2 * b);
    const file = craft({ all: { dtype: code, shape: [65536], data_offsets: [0, data.length] } }, data);
    const { tensors } = decodeSafetensors(file);
    const encoded = encodeSafetensors(tensors);
    const dataStart = encoded.length - data.length;
    const changed: string[] = [];
    for (let b = 0; b < 65536; b++) {
      const out = encoded.readUInt16LE(dataStart + 2 * b);
      if (isNaN(b) ? !isNaN(out) : out !== b) changed.push(`0x${b.toString(16)} → 0x${out.toString(16)}`);
    }
    assert.deepEqual(changed.slice(0, 10), [], `${code}: ${changed.length} patterns changed`);
    disposeAll(tensors);
  }
});

test('load options: device, floating dtype cast (integers and bool keep theirs), and bad options', () => {
  const { tensors } = loadSafetensors(REFERENCE, { device: 'cpu', dtype: 'float64' });
  const want = expected.files['reference.safetensors']!.tensors;
  for (const [name, e] of Object.entries(want)) {
    const t = tensors[name]!;
    assert.equal(t.device, 'cpu');
    const isFloat = ['float64', 'float32', 'float16', 'bfloat16'].includes(e.dtype);
    assert.equal(t.dtype, isFloat ? 'float64' : e.dtype, name);
    assertMatches(isFloat ? t.to(e.dtype) : t, e, name);
  }
  disposeAll(tensors);
  assert.throws(() => loadSafetensors(REFERENCE, { dtype: 'int32' }), /dtype must be a floating dtype/);
});

test('bad arguments to the writer are clear errors', () => {
  const t = zeros([2]);
  assert.throws(() => encodeSafetensors({ __metadata__: t }), /'__metadata__' is reserved/);
  assert.throws(() => encodeSafetensors({ a: [1, 2] as unknown as Tensor }), /'a' is not a Tensor/);
  assert.throws(() => encodeSafetensors({ a: t }, { metadata: { step: 3 as unknown as string } }), /metadata 'step' must be a string/);
  const gone = zeros([1]);
  gone.dispose();
  const dir = tempDir();
  assert.throws(() => saveSafetensors(path.join(dir, 'x.safetensors'), { gone }), (e: unknown) => e instanceof SafetensorsError && /has been disposed/.test(e.message));
  assert.deepEqual(readdirSync(dir), [], 'nothing is written');
  rmSync(dir, { recursive: true });
  t.dispose();
});

test('a file error names the file and the problem', () => {
  const dir = tempDir();
  const file = path.join(dir, 'broken.safetensors');
  writeFileSync(file, craft({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 12));
  for (const read of [() => loadSafetensors(file), () => readSafetensorsHeader(file)]) {
    assert.throws(read, (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.equal(e.file, file);
      assert.match(e.message, new RegExp(`^safetensors ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor 'w': data_offsets \\[0, 16\\] run past the end of the 12-byte data section`));
      return true;
    });
  }
  rmSync(dir, { recursive: true });
});

class TinyNet extends Module {
  embed = new nn.Embedding(11, 4);
  norm = new nn.LayerNorm(4);
  batchNorm = new nn.BatchNorm1d(4);
  head = new nn.Linear(4, 3);
  forward(ids: Tensor): Tensor {
    return this.head.forward(this.batchNorm.forward(this.norm.forward(this.embed.forward(ids))));
  }
}

test("a Module's state dict saved and loaded into a fresh module gives identical parameters and buffers", () => {
  for (const dtype of ['float32', 'bfloat16'] as const) {
    manualSeed(1);
    const trained = new TinyNet().to(dtype);
    trained.forward(randint(0, 11, [6])).dispose(); // moves batch-norm running statistics and the step counter
    const dir = tempDir();
    const file = path.join(dir, 'model.safetensors');
    const state = trained.stateDict();
    saveSafetensors(file, state, { metadata: { format: 'pt' } });

    manualSeed(2);
    const fresh = new TinyNet().to(dtype);
    const { tensors } = loadSafetensors(file);
    fresh.loadStateDict(tensors);
    const after = fresh.stateDict();
    assert.deepEqual(Object.keys(after).sort(), Object.keys(state).sort());
    for (const [name, t] of Object.entries(state)) {
      assert.equal(after[name]!.dtype, t.dtype, `${dtype} ${name}: dtype`);
      assert.ok(after[name]!.equal(t), `${dtype} ${name}: values differ`);
    }
    assert.ok(Object.keys(state).includes('batchNorm.num_batches_tracked'), 'int64 buffers are saved too');
    disposeAll(state);
    disposeAll(after);
    disposeAll(tensors);
    rmSync(dir, { recursive: true });
  }
});

test('writes are atomic: a failed write leaves the old file intact and no temporary file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.safetensors');
  const first = { w: tensor([1, 2, 3], { dtype: 'float32' }) };
  saveSafetensors(file, first);
  const before = readFileSync(file);
  assert.throws(
    () => writeFileAtomic(file, (fd) => {
      writeAll(fd, Buffer.from('half a header'));
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.ok(readFileSync(file).equals(before), 'the old file was changed');
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);

  const second = { w: tensor([4, 5], { dtype: 'float64' }) };
  saveSafetensors(file, second); // replaces the existing file
  const { tensors } = loadSafetensors(file);
  assert.deepEqual(tensors['w']!.toArray(), [4, 5]);
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
  assert.ok(existsSync(file));
  disposeAll({ ...first, ...tensors });
  second.w.dispose();
  rmSync(dir, { recursive: true });
});

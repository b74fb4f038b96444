/**
 * Shared by the safetensors tests: test/fixtures/safetensors/ (written by
 * test/fixtures/safetensors_reference.py, whose docstring describes expected.json), tensors
 * rebuilt from the values PyTorch recorded, exact comparison, and hand-built files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DType, Tensor, tensor } from '../../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** test/fixtures/safetensors, found from dist/test/io. */
export const FIXTURES = path.resolve(here, '../../../test/fixtures/safetensors');

/** Floats as JSON numbers, non-finite ones as strings; int64 as decimal strings; bool as booleans. */
export type FixtureValue = number | string | boolean;

export interface ExpectedTensor {
  dtype: DType;
  shape: number[];
  values: FixtureValue[];
  /** float16/bfloat16 only: each element's 16-bit pattern. */
  bits?: number[];
}

export interface Expected {
  files: Record<string, { metadata: Record<string, string>; tensors: Record<string, ExpectedTensor> }>;
  sharded: { maxShardBytes: number; order: string[]; tensors: Record<string, ExpectedTensor>; files: string[] };
}

export const expected: Expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

function asNumber(value: FixtureValue): number {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return Number(value);
}

/** A Kiln tensor holding the values PyTorch recorded (half types from their exact float values). */
export function fromExpected(e: ExpectedTensor): Tensor {
  const options = { shape: e.shape, dtype: e.dtype };
  switch (e.dtype) {
    case 'float64': return tensor(new Float64Array(e.values.map(asNumber)), options);
    case 'int64': return tensor(new BigInt64Array(e.values.map((v) => BigInt(v as string))), options);
    case 'int32': return tensor(new Int32Array(e.values.map(asNumber)), options);
    case 'int16': return tensor(new Int16Array(e.values.map(asNumber)), options);
    case 'int8': return tensor(new Int8Array(e.values.map(asNumber)), options);
    case 'uint8': return tensor(new Uint8Array(e.values.map(asNumber)), options);
    case 'bool': return tensor(new Uint8Array(e.values.map((v) => (v === true ? 1 : 0))), options);
    default: return tensor(new Float32Array(e.values.map(asNumber)), options); // float32, float16, bfloat16
  }
}

/** Asserts dtype, shape and every value exactly (-0 and NaN included, int64 beyond 2^53 too). */
export function assertMatches(actual: Tensor, e: ExpectedTensor, name: string): void {
  assert.equal(actual.dtype, e.dtype, `${name}: dtype`);
  assert.deepEqual(actual.shape, e.shape, `${name}: shape`);
  const values = [...actual.toTypedArray()];
  assert.equal(values.length, e.values.length, `${name}: element count`);
  values.forEach((v, i) => {
    const want = e.values[i]!;
    if (e.dtype === 'int64') assert.equal(String(v), want, `${name}[${i}]`);
    else if (e.dtype === 'bool') assert.equal(v === 1, want, `${name}[${i}]`);
    else assert.ok(Object.is(v, asNumber(want)), `${name}[${i}]: got ${String(v)}, expected ${String(want)}`);
  });
}

/** Builds a safetensors buffer by hand: the header (JSON text, a value to stringify, or raw bytes; padded to 8 bytes unless `pad` is false), then `data`. */
export function craft(header: unknown, data: Uint8Array | number = 0, options: { length?: bigint; pad?: boolean } = {}): Buffer {
  let json = header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  if (options.pad !== false) json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const bytes = typeof data === 'number' ? new Uint8Array(data).fill(0x41) : data;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(options.length ?? BigInt(json.length));
  return Buffer.concat([prefix, json, bytes]);
}

/** A fresh temporary folder for one test. */
export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'kiln-safetensors-'));
}

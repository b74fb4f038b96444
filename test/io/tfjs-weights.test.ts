/**
 * TensorFlow.js weight manifests, checked against TensorFlow.js itself: the same bytes decoded
 * by @tensorflow/tfjs-core's io.decodeWeights (CPU backend) and by loadTfjsWeights give the same
 * values, for float32, int32, and uint8 / uint16 / float16-quantised weights split over shards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { loadTfjsWeights } from '../../src/io/tfjs-weights.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kiln-tfjs-'));

/** Float32 bits of a half-precision number written as uint16 (for the float16 weights). */
function half(value: number): number {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = (bits >>> 13) & 0x3ff;
  return exponent <= 0 ? sign : sign | (exponent << 10) | mantissa;
}

test('loadTfjsWeights decodes what TensorFlow.js decodes: float32, int32, quantised uint8/uint16/float16, over two shards', async () => {
  const specs: tf.io.WeightsManifestEntry[] = [
    { name: 'conv/kernel', shape: [2, 3], dtype: 'float32' },
    { name: 'ids', shape: [4], dtype: 'int32' },
    { name: 'dense/kernel', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: -1 } },
    { name: 'dense/bias', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.001, min: 2 } },
    { name: 'norm/gamma', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } },
  ];
  const parts = [
    Buffer.from(Float32Array.from([0.5, -1.25, 3, 1e-7, -0, 42]).buffer),
    Buffer.from(Int32Array.from([7, -3, 0, 2147483647]).buffer),
    Buffer.from(Uint8Array.from([0, 10, 128, 200, 255]).buffer),
    Buffer.from(Uint16Array.from([0, 1000, 65535]).buffer),
    Buffer.from(Uint16Array.from([1, -2.5, 0.0999755859375, 65504].map(half)).buffer),
  ];
  const bytes = Buffer.concat(parts);
  const cut = 27; // the second shard starts mid-weight
  writeFileSync(path.join(dir, 'group1-shard1of2.bin'), bytes.subarray(0, cut));
  writeFileSync(path.join(dir, 'group1-shard2of2.bin'), bytes.subarray(cut));
  const manifest = path.join(dir, 'tiny-weights_manifest.json');
  writeFileSync(manifest, JSON.stringify([{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs }]));

  const reference = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), specs);
  const ours = loadTfjsWeights(manifest);
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(reference).sort());
  for (const [name, expected] of Object.entries(reference)) {
    const got = ours[name]!;
    assert.deepEqual(got.shape, expected.shape, `${name} shape`);
    const want = Array.from(await expected.data());
    const have = Array.from(got.toTypedArray() as Float32Array | Int32Array);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(have[i]! - want[i]!) <= 1e-6 * Math.max(1, Math.abs(want[i]!)), `${name}[${i}]: ${have[i]} vs ${want[i]}`);
  }
  assert.equal(ours['ids']!.dtype, 'int32');

  // A model.json with weightsManifest reads the same; missing and short shards are errors naming the file.
  const modelJson = path.join(dir, 'model.json');
  writeFileSync(modelJson, JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs }] }));
  assert.deepEqual(Object.keys(loadTfjsWeights(modelJson)).sort(), Object.keys(reference).sort());
  writeFileSync(path.join(dir, 'missing.json'), JSON.stringify([{ paths: ['nope.bin'], weights: specs }]));
  assert.throws(() => loadTfjsWeights(path.join(dir, 'missing.json')), /missing\.json: shard nope\.bin is missing/);
  writeFileSync(path.join(dir, 'short.json'), JSON.stringify([{ paths: ['group1-shard1of2.bin'], weights: specs }]));
  assert.throws(() => loadTfjsWeights(path.join(dir, 'short.json')), /short\.json: ids needs 16 bytes at offset 24, but the shards hold 27/);
  writeFileSync(path.join(dir, 'odd.json'), JSON.stringify([{ paths: ['group1-shard1of2.bin'], weights: [{ name: 'x', shape: [1], dtype: 'complex64' }] }]));
  assert.throws(() => loadTfjsWeights(path.join(dir, 'odd.json')), /x: dtype complex64 is not supported/);
  assert.throws(() => loadTfjsWeights(path.join(dir, 'none.json')), /no such file/);
  // A shard path out of the manifest's folder would read any file on the machine as weights.
  for (const escape of ['../secret.bin', '/etc/passwd', 'sub/../../secret.bin', '']) {
    writeFileSync(path.join(dir, 'escape.json'), JSON.stringify([{ paths: [escape], weights: [{ name: 'x', shape: [1], dtype: 'uint8' }] }]));
    assert.throws(() => loadTfjsWeights(path.join(dir, 'escape.json')), /escape\.json: group 0: shard path .* is not a file inside the manifest's folder/, escape);
  }
});

test('kiln import tfjs writes the weights as one safetensors file', () => {
  const manifest = path.join(dir, 'tiny-weights_manifest.json');
  const out = path.join(dir, 'tiny.safetensors');
  const run = spawnSync(process.execPath, [fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)), 'import', 'tfjs', '--manifest', manifest, '--out', out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /imported 5 TensorFlow\.js weights \(22 values\)/);
  const saved = loadSafetensors(out).tensors;
  const direct = loadTfjsWeights(manifest);
  for (const [name, t] of Object.entries(direct)) assert.deepEqual(saved[name]!.toArray(), t.toArray(), name);
  const missing = spawnSync(process.execPath, [fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)), 'import', 'tfjs', '--out', out], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /kiln import tfjs: --manifest FILE is required/);
});

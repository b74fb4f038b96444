/**
 * TensorFlow.js weights: a weights manifest (`*-weights_manifest.json`, or the `weightsManifest`
 * of a `model.json`) and the binary shards it names, read into named tensors. Each group's shards
 * are one byte stream; its weights follow each other in manifest order, each `numel × bytes`
 * long. Quantised weights (`quantization: { dtype: 'uint8' | 'uint16', scale, min }`, or
 * `'float16'`) are dequantised to float32 as TensorFlow.js does: value = q · scale + min.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { ModelFolderError } from './model-folder-error.js';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface WeightGroup {
  paths: string[];
  weights: WeightSpec[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function fail(file: string, problem: string): never {
  throw new ModelFolderError(`TensorFlow.js weights ${file}: ${problem}`);
}

/** IEEE half precision to float32. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function readManifest(file: string): WeightGroup[] {
  if (!existsSync(file) || !statSync(file).isFile()) fail(file, 'no such file; pass a weights_manifest.json or a model.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    fail(file, `not valid JSON (${(error as Error).message})`);
  }
  const groups = Array.isArray(json) ? json : (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(groups)) fail(file, 'holds neither a weights manifest (an array of {paths, weights}) nor a model.json with weightsManifest');
  for (const [i, group] of (groups as unknown[]).entries()) {
    const g = group as Partial<WeightGroup> | null;
    if (g === null || typeof g !== 'object' || !Array.isArray(g.paths) || !Array.isArray(g.weights)) fail(file, `group ${i} lacks paths or weights`);
    // A shard is a file beside the manifest (or below it): a path out of that folder would read any file on the machine as weights.
    const root = path.resolve(path.dirname(file));
    for (const p of g.paths as unknown[]) {
      const inside = typeof p === 'string' && p !== '' && !path.isAbsolute(p) && !path.relative(root, path.resolve(root, p)).split(path.sep).includes('..');
      if (!inside) fail(file, `group ${i}: shard path ${JSON.stringify(p)} is not a file inside the manifest's folder`);
    }
    for (const w of g.weights) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(file, `group ${i}: a weight lacks a name or a shape of non-negative integers`);
      const stored = w.quantization?.dtype ?? w.dtype;
      if (BYTES[stored] === undefined) fail(file, `${w.name}: dtype ${String(stored)} is not supported (float32, int32, bool; quantised uint8, uint16, float16)`);
    }
  }
  return groups as WeightGroup[];
}

/**
 * The manifest's weights by name (float32, or int32/bool as stored). Missing or short shards,
 * and extra bytes, are errors naming the file.
 * @example const weights = loadTfjsWeights('node_modules/@vladmandic/face-api/model/ssd_mobilenetv1_model-weights_manifest.json');
 */
export function loadTfjsWeights(manifestFile: string): Record<string, Tensor> {
  const groups = readManifest(manifestFile);
  const dir = path.dirname(manifestFile);
  const out: Record<string, Tensor> = {};
  for (const group of groups) {
    const shards = group.paths.map((p) => {
      const shard = path.join(dir, p);
      if (!existsSync(shard)) fail(manifestFile, `shard ${p} is missing next to it`);
      return readFileSync(shard);
    });
    const bytes = Buffer.concat(shards);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    for (const w of group.weights) {
      const numel = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const stored = q?.dtype ?? w.dtype;
      const size = numel * BYTES[stored]!;
      if (offset + size > bytes.length) fail(manifestFile, `${w.name} needs ${size} bytes at offset ${offset}, but the shards hold ${bytes.length}`);
      if (q !== undefined || w.dtype === 'float32') {
        const values = new Float32Array(numel);
        for (let i = 0; i < numel; i++) {
          const at = offset + i * BYTES[stored]!;
          if (stored === 'float32') values[i] = view.getFloat32(at, true);
          else if (stored === 'float16') values[i] = halfToFloat(view.getUint16(at, true));
          else values[i] = (stored === 'uint8' ? view.getUint8(at) : view.getUint16(at, true)) * (q!.scale ?? 1) + (q!.min ?? 0);
        }
        out[w.name] = tensor(values, { shape: w.shape });
      } else if (w.dtype === 'int32') {
        out[w.name] = tensor(new Int32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size)), { shape: w.shape, dtype: 'int32' });
      } else {
        out[w.name] = tensor(Uint8Array.from(bytes.subarray(offset, offset + size)), { shape: w.shape, dtype: 'bool' });
      }
      offset += size;
    }
    if (offset !== bytes.length) fail(manifestFile, `the shards hold ${bytes.length} bytes but the weights use ${offset}`);
  }
  return out;
}

// Shared by the model tests: where the reference fixtures live, scratch folders, and how far
// Kiln's logits are from the ones a reference script wrote.
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Tensor, scope, tensor } from '../../src/index.js';
import { packageRoot } from '../../src/tensor/native.js';

export const fixtures = path.join(packageRoot(), 'test', 'fixtures');
export const systemPython = '/usr/bin/python3';

/** A temporary folder removed when the test file ends. */
export function scratchFolder(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const ids = (rows: number[][]): Tensor => tensor(rows, { dtype: 'int64' });
export const rowsOf = (t: Tensor): number[][] => t.toArray() as number[][];

/** Largest |got − want| over a (T, V) float32 tensor and nested reference rows. */
export function maxAbsDiff(got: Tensor, want: number[][]): number {
  const values = got.toTypedArray() as Float32Array;
  const V = want[0]!.length;
  let worst = 0;
  want.forEach((row, t) => row.forEach((w, v) => (worst = Math.max(worst, Math.abs(values[t * V + v]! - w)))));
  return worst;
}

/** The model's logits for each reference input, in eval mode: the largest deviation over all. */
export function deviationFromReference(
  model: { eval(): unknown; forward(ids: Tensor): Tensor },
  reference: { inputs: number[][]; logits: number[][][] },
): number {
  model.eval();
  return scope(() => Math.max(...reference.inputs.map((input, i) => maxAbsDiff(model.forward(ids([input])).select(0, 0), reference.logits[i]!))));
}

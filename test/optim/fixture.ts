/**
 * Shared by the optim tests: test/fixtures/optim.json (written by optim_reference.py, whose
 * docstring describes the format), the tiny regression problem it uses, and tolerance checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, tensor } from '../../src/index.js';

/** JSON has no literal for non-finite numbers; the fixture spells them as strings. */
export type FixtureNumber = number | 'Infinity' | '-Infinity' | 'NaN';

export const PARAM_NAMES = ['w1', 'b1', 'w2', 'b2'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

export interface OptimizerCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  options: Record<string, unknown>;
  groups: ({ params: ParamName[] } & Record<string, unknown>)[] | null;
  frozen: ParamName[];
  /** After each step: flat float32 values per parameter. */
  steps: Record<ParamName, FixtureNumber[]>[];
}

export interface ScheduleCase {
  name: string;
  schedule: 'ConstantLR' | 'StepLR' | 'CosineLR' | 'LinearLR' | 'OneCycleLR';
  baseLrs: number[];
  options: Record<string, unknown>;
  reference: string;
  /** lrs[step][group] */
  lrs: number[][];
  momentum?: number[][];
}

export interface ClipCase {
  name: string;
  fn: 'clipGradNorm_' | 'clipGradValue_';
  shapes: number[][];
  grads: FixtureNumber[][];
  maxNorm?: number;
  normType?: FixtureNumber;
  clipValue?: number;
  totalNorm?: FixtureNumber;
  expected: FixtureNumber[][];
}

export interface Fixture {
  generator: string;
  torch: string;
  problem: Record<'x' | 'y' | ParamName, number[] | number[][]>;
  optimizers: OptimizerCase[];
  schedules: ScheduleCase[];
  clipping: ClipCase[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
// compiled to dist/test/optim; the fixture stays in the source tree
const FIXTURE_PATH = path.resolve(here, '../../../test/fixtures/optim.json');

export const fixture: Fixture = JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as Fixture;

export function toNumber(v: FixtureNumber): number {
  return typeof v === 'number' ? v : Number(v);
}

/** The regression problem's data and a fresh copy of its parameters (float32). */
export function makeProblem(frozen: readonly ParamName[] = []): { x: Tensor; y: Tensor; params: Record<ParamName, Tensor> } {
  const f32 = { dtype: 'float32' } as const;
  const params = {} as Record<ParamName, Tensor>;
  for (const name of PARAM_NAMES) {
    params[name] = tensor(fixture.problem[name], { ...f32, requiresGrad: !frozen.includes(name) });
  }
  return { x: tensor(fixture.problem.x, f32), y: tensor(fixture.problem.y, f32), params };
}

/** mean((tanh(x @ w1ᵀ + b1) @ w2ᵀ + b2 - y)²), as optim_reference.py's loss_of. */
export function lossOf(params: Record<ParamName, Tensor>, x: Tensor, y: Tensor): Tensor {
  const hidden = x.matmul(params.w1.t()).add(params.b1).tanh(); // (8, 3)
  return hidden.matmul(params.w2.t()).add(params.b2).sub(y).square().mean(); // (8, 2) -> ()
}

/** Largest |actual - expected| so far, and how many values were the same float32 exactly. */
export class Deviation {
  max = 0;
  exact = 0;
  total = 0;

  /**
   * Asserts |actual - expected| <= tolerance × (1 + |expected|) for every element, and records the
   * deviation. `expected` are the shortest decimals of float32 values; they are compared as float32.
   */
  check(actual: ArrayLike<number>, expected: readonly FixtureNumber[], tolerance: number, what: string): void {
    assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
    for (let i = 0; i < expected.length; i++) {
      const e = Math.fround(toNumber(expected[i]!)); // the float32 that PyTorch had
      const a = actual[i]!;
      const deviation = Math.abs(a - e);
      this.max = Math.max(this.max, deviation);
      this.total += 1;
      if (e === a) this.exact += 1;
      assert.ok(
        deviation <= tolerance * (1 + Math.abs(e)),
        `${what}[${i}]: got ${a}, PyTorch ${e} (|Δ| ${deviation.toExponential(2)} > ${tolerance})`,
      );
    }
  }

  toString(): string {
    return `max |Δ| ${this.max.toExponential(2)}; ${this.exact} of ${this.total} values identical to PyTorch's float32`;
  }
}

export function floats(t: Tensor): Float32Array {
  return t.toTypedArray() as Float32Array;
}

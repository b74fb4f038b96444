/**
 * Kiln's forward values against PyTorch's. test/fixtures/engine.json holds inputs and the outputs
 * PyTorch computed for them, written by test/fixtures/engine_reference.py (its docstring says how
 * to regenerate it). Each case rebuilds the inputs in Kiln, makes the same call through Kiln's
 * public API and compares dtype, shape and values, one test per case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/tensor/native.js';
import {
  F,
  Tensor,
  addmm,
  bmm,
  cat,
  einsum,
  matmul,
  maximum,
  minimum,
  scope,
  stack,
  tensor,
  where,
  type DType,
} from '../../src/index.js';

// ---- the fixture format (see engine_reference.py) ----

/** JSON has no literal for non-finite numbers; the fixture spells them as strings. */
type FixtureNumber = number | 'Infinity' | '-Infinity' | 'NaN';

interface TensorSpec {
  dtype: DType;
  shape: number[];
  /** Row-major, flat. */
  values: (FixtureNumber | boolean)[];
}

type Entry = TensorSpec | TensorSpec[];
type ArgValue = null | boolean | number | string | ArgValue[];

interface ReferenceCase {
  name: string;
  /** The Kiln call, a key of OPS. */
  op: string;
  inputs: Record<string, Entry>;
  args: Record<string, ArgValue>;
  expected: Record<string, Entry>;
}

interface Fixture {
  generator: string;
  torch: string;
  cases: ReferenceCase[];
}

/** Tolerances per float dtype: |actual - expected| <= tol + tol * |expected|. */
const TOLERANCE: Partial<Record<DType, number>> = { float64: 1e-10, float32: 1e-5 };



function loadFixture(): Fixture {
  const file = path.join(packageRoot(), 'test', 'fixtures', 'engine.json');
  return JSON.parse(readFileSync(file, 'utf8')) as Fixture;
}

function decodeNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (value === 'NaN') return NaN;
  throw new TypeError(`expected a number, got ${JSON.stringify(value)}`);
}

function isSpecList(entry: Entry): entry is TensorSpec[] {
  return Array.isArray(entry);
}

/** Builds a Kiln tensor holding exactly the fixture's values. */
function fromSpec(spec: TensorSpec): Tensor {
  const { dtype, shape, values } = spec;
  switch (dtype) {
    case 'float64':
      return tensor(new Float64Array(values.map(decodeNumber)), { shape, dtype });
    case 'float32':
      return tensor(new Float32Array(values.map(decodeNumber)), { shape, dtype });
    case 'int64':
      return tensor(BigInt64Array.from(values, (v) => BigInt(decodeNumber(v))), { shape, dtype });
    case 'int32':
      return tensor(Int32Array.from(values, decodeNumber), { shape, dtype });
    case 'bool':
      return tensor(Uint8Array.from(values, (v) => (v === true ? 1 : 0)), { shape, dtype });
    default:
      throw new TypeError(`fixture dtype ${dtype} has no builder here`);
  }
}

// ---- comparison ----

function describeMismatches(mismatches: string[], total: number): string {
  const shown = mismatches.slice(0, 8).join('\n  ');
  const more = mismatches.length > 8 ? `\n  ... ${mismatches.length - 8} more` : '';
  return `${mismatches.length} of ${total} values differ from PyTorch:\n  ${shown}${more}`;
}

function compareTensor(actual: unknown, expected: TensorSpec, label: string): void {
  assert.ok(actual instanceof Tensor, `${label}: Kiln returned ${String(actual)}, not a Tensor`);
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual([...actual.shape], expected.shape, `${label}: shape`);
  const flat = actual.toTypedArray();
  assert.equal(flat.length, expected.values.length, `${label}: number of elements`);
  const tolerance = TOLERANCE[expected.dtype];
  const mismatches: string[] = [];
  for (let i = 0; i < flat.length; i++) {
    const raw = flat[i]!;
    const want = expected.values[i]!;
    let same: boolean;
    let got: number | boolean;
    if (expected.dtype === 'bool') {
      got = raw !== 0;
      same = got === want;
    } else {
      got = typeof raw === 'bigint' ? Number(raw) : raw;
      const wantNumber = decodeNumber(want);
      if (tolerance === undefined || !Number.isFinite(wantNumber)) same = Object.is(got, wantNumber);
      else same = Math.abs(got - wantNumber) <= tolerance + tolerance * Math.abs(wantNumber);
    }
    if (!same) mismatches.push(`[${i}] Kiln ${String(got)}, PyTorch ${String(want)}`);
  }
  assert.ok(mismatches.length === 0, `${label}: ${describeMismatches(mismatches, flat.length)}`);
}

function compareEntry(actual: Tensor | Tensor[] | undefined, expected: Entry, label: string): void {
  if (!isSpecList(expected)) {
    compareTensor(actual, expected, label);
    return;
  }
  assert.ok(Array.isArray(actual), `${label}: Kiln returned ${String(actual)}, not a list of tensors`);
  assert.equal(actual.length, expected.length, `${label}: number of tensors`);
  expected.forEach((spec, i) => compareTensor(actual[i], spec, `${label}[${i}]`));
}

// ---- reading a case's inputs and arguments ----

type Outputs = Record<string, Tensor | Tensor[]>;
type Sizes = number | number[];

/** A case's inputs as Kiln tensors and its arguments, recording which ones the call used. */
class Call {
  readonly #inputs: Map<string, Tensor | Tensor[]>;
  readonly #args: Record<string, ArgValue>;
  readonly #used = new Set<string>();

  constructor(testCase: ReferenceCase) {
    this.#inputs = new Map(
      Object.entries(testCase.inputs).map(([name, entry]) => [
        name,
        isSpecList(entry) ? entry.map(fromSpec) : fromSpec(entry),
      ]),
    );
    this.#args = testCase.args;
  }

  /** Fixture entries no Kiln call read: each is an input or option the test would silently drop. */
  unused(): string[] {
    const inputs = [...this.#inputs.keys()].map((k) => `input ${k}`);
    const args = Object.keys(this.#args).map((k) => `arg ${k}`);
    return [...inputs, ...args].filter((key) => !this.#used.has(key));
  }

  hasInput(name: string): boolean {
    return this.#inputs.has(name);
  }

  tensor(name: string): Tensor {
    const t = this.optTensor(name);
    assert.ok(t !== undefined, `the case has no input '${name}'`);
    return t;
  }

  optTensor(name: string): Tensor | undefined {
    const t = this.#inputs.get(name);
    if (t === undefined) return undefined;
    this.#used.add(`input ${name}`);
    assert.ok(t instanceof Tensor, `input '${name}' should be one tensor`);
    return t;
  }

  tensors(name: string): Tensor[] {
    const list = this.#inputs.get(name);
    assert.ok(Array.isArray(list), `input '${name}' should be a list of tensors`);
    this.#used.add(`input ${name}`);
    return list;
  }

  #arg(name: string): ArgValue | undefined {
    if (!(name in this.#args)) return undefined;
    this.#used.add(`arg ${name}`);
    return this.#args[name];
  }

  optNum(name: string): number | undefined {
    const v = this.#arg(name);
    return v === undefined ? undefined : decodeNumber(v);
  }

  num(name: string): number {
    const v = this.optNum(name);
    assert.ok(v !== undefined, `the case has no argument '${name}'`);
    return v;
  }

  /** A number, or null for "no bound" (clamp, slice). Absent counts as null. */
  numOrNull(name: string): number | null {
    const v = this.#arg(name);
    return v === undefined || v === null ? null : decodeNumber(v);
  }

  optBool(name: string): boolean | undefined {
    const v = this.#arg(name);
    if (v === undefined) return undefined;
    assert.equal(typeof v, 'boolean', `argument '${name}' should be a boolean`);
    return v as boolean;
  }

  str(name: string): string {
    const v = this.#arg(name);
    assert.equal(typeof v, 'string', `argument '${name}' should be a string`);
    return v as string;
  }

  optChoice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.#arg(name);
    if (v === undefined) return undefined;
    assert.ok(typeof v === 'string' && (choices as readonly string[]).includes(v), `argument '${name}': ${String(v)}`);
    return v as T;
  }

  optSizes(name: string): Sizes | undefined {
    const v = this.#arg(name);
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v.map(decodeNumber);
    return decodeNumber(v);
  }

  /** Sizes, or one of the named modes (conv padding: 'same' | 'valid'). */
  optSizesOrChoice<T extends string>(name: string, choices: readonly T[]): Sizes | T | undefined {
    return typeof this.#args[name] === 'string' ? this.optChoice(name, choices) : this.optSizes(name);
  }

  sizes(name: string): Sizes {
    const v = this.optSizes(name);
    assert.ok(v !== undefined, `the case has no argument '${name}'`);
    return v;
  }

  ints(name: string): number[] {
    const v = this.sizes(name);
    assert.ok(Array.isArray(v), `argument '${name}' should be a list`);
    return v;
  }

  /** A tensor input of that name, else the number argument of that name. */
  operand(name: string): Tensor | number {
    return this.hasInput(name) ? this.tensor(name) : this.num(name);
  }

  optOperand(name: string): Tensor | number | undefined {
    return this.hasInput(name) ? this.tensor(name) : this.optNum(name);
  }

  /** A tensor input, a number argument, or null. */
  bound(name: string): Tensor | number | null {
    return this.hasInput(name) ? this.tensor(name) : this.numOrNull(name);
  }
}

/** Drops undefined entries, so optional settings reach Kiln only when the case sets them. */
function present<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

const REDUCTIONS = ['mean', 'sum', 'none'] as const;
const FIXTURE_DTYPES = ['float64', 'float32', 'int64', 'int32', 'bool'] as const;

function out(t: Tensor): Outputs {
  return { out: t };
}

function valuesIndices(pair: { values: Tensor; indices: Tensor }): Outputs {
  return { values: pair.values, indices: pair.indices };
}

// ---- the Kiln call for each fixture op ----

const unaryOps: Record<string, (x: Tensor) => Tensor> = {
  neg: (x) => x.neg(),
  abs: (x) => x.abs(),
  exp: (x) => x.exp(),
  expm1: (x) => x.expm1(),
  square: (x) => x.square(),
  sin: (x) => x.sin(),
  cos: (x) => x.cos(),
  tanh: (x) => x.tanh(),
  sigmoid: (x) => x.sigmoid(),
  logSigmoid: (x) => x.logSigmoid(),
  relu: (x) => x.relu(),
  silu: (x) => x.silu(),
  erf: (x) => x.erf(),
  sign: (x) => x.sign(),
  log: (x) => x.log(),
  log2: (x) => x.log2(),
  log1p: (x) => x.log1p(),
  sqrt: (x) => x.sqrt(),
  rsqrt: (x) => x.rsqrt(),
  reciprocal: (x) => x.reciprocal(),
  floor: (x) => x.floor(),
  ceil: (x) => x.ceil(),
  round: (x) => x.round(),
  trunc: (x) => x.trunc(),
  logicalNot: (x) => x.logicalNot(),
};

const comparisons = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;

const OPS: Record<string, (c: Call) => Outputs> = {
  ...Object.fromEntries(Object.entries(unaryOps).map(([op, fn]) => [op, (c: Call) => out(fn(c.tensor('x')))])),
  ...Object.fromEntries(comparisons.map((op) => [op, (c: Call) => out(c.tensor('x')[op](c.operand('other')))])),

  // elementwise
  add: (c) => out(c.tensor('x').add(c.operand('other'), c.optNum('alpha'))),
  sub: (c) => out(c.tensor('x').sub(c.operand('other'), c.optNum('alpha'))),
  rsub: (c) => out(c.tensor('x').rsub(c.num('value'))),
  mul: (c) => out(c.tensor('x').mul(c.operand('other'))),
  div: (c) => out(c.tensor('x').div(c.operand('other'), c.optChoice('roundingMode', ['trunc', 'floor'] as const))),
  remainder: (c) => out(c.tensor('x').remainder(c.operand('other'))),
  pow: (c) => out(c.tensor('x').pow(c.operand('other'))),
  rpow: (c) => out(c.tensor('x').rpow(c.num('base'))),
  maximum: (c) => out(maximum(c.tensor('x'), c.operand('other'))),
  minimum: (c) => out(minimum(c.tensor('x'), c.operand('other'))),
  logicalAnd: (c) => out(c.tensor('x').logicalAnd(c.tensor('other'))),
  logicalOr: (c) => out(c.tensor('x').logicalOr(c.tensor('other'))),
  logicalXor: (c) => out(c.tensor('x').logicalXor(c.tensor('other'))),
  where: (c) => out(where(c.tensor('condition'), c.operand('a'), c.operand('b'))),
  clamp: (c) => out(c.tensor('x').clamp(c.bound('min'), c.bound('max'))),
  lerp: (c) => out(c.tensor('x').lerp(c.tensor('end'), c.operand('weight'))),
  elu: (c) => out(c.tensor('x').elu(c.optNum('alpha'))),
  'F.gelu': (c) => out(F.gelu(c.tensor('x'), c.optChoice('approximate', ['none', 'tanh'] as const))),
  'F.silu': (c) => out(F.silu(c.tensor('x'))),
  'F.softplus': (c) => out(F.softplus(c.tensor('x'), c.optNum('beta'), c.optNum('threshold'))),
  'F.leakyRelu': (c) => out(F.leakyRelu(c.tensor('x'), c.optNum('negativeSlope'))),

  // reductions
  sum: (c) => {
    const options = present({ dtype: c.optChoice('dtype', FIXTURE_DTYPES) });
    return out(c.tensor('x').sum(c.optSizes('dim'), c.optBool('keepdim'), options));
  },
  mean: (c) => out(c.tensor('x').mean(c.optSizes('dim'), c.optBool('keepdim'))),
  prod: (c) => out(c.tensor('x').prod(c.optNum('dim'), c.optBool('keepdim'))),
  max: (c) => {
    const dim = c.optNum('dim');
    return dim === undefined ? out(c.tensor('x').max()) : valuesIndices(c.tensor('x').max(dim, c.optBool('keepdim')));
  },
  min: (c) => {
    const dim = c.optNum('dim');
    return dim === undefined ? out(c.tensor('x').min()) : valuesIndices(c.tensor('x').min(dim, c.optBool('keepdim')));
  },
  amax: (c) => out(c.tensor('x').amax(c.optSizes('dim'), c.optBool('keepdim'))),
  amin: (c) => out(c.tensor('x').amin(c.optSizes('dim'), c.optBool('keepdim'))),
  argmax: (c) => out(c.tensor('x').argmax(c.optNum('dim'), c.optBool('keepdim'))),
  argmin: (c) => out(c.tensor('x').argmin(c.optNum('dim'), c.optBool('keepdim'))),
  var: (c) => out(c.tensor('x').var(c.optSizes('dim'), varianceOptions(c))),
  std: (c) => out(c.tensor('x').std(c.optSizes('dim'), varianceOptions(c))),
  logsumexp: (c) => out(c.tensor('x').logsumexp(c.sizes('dim'), c.optBool('keepdim'))),
  norm: (c) => out(c.tensor('x').norm(c.optNum('p'), c.optSizes('dim'), c.optBool('keepdim'))),
  cumsum: (c) => out(c.tensor('x').cumsum(c.num('dim'))),
  all: (c) => out(c.tensor('x').all(c.optNum('dim'), c.optBool('keepdim'))),
  any: (c) => out(c.tensor('x').any(c.optNum('dim'), c.optBool('keepdim'))),
  softmax: (c) => out(c.tensor('x').softmax(c.num('dim'))),
  logSoftmax: (c) => out(c.tensor('x').logSoftmax(c.num('dim'))),

  // linear algebra
  matmul: (c) => out(matmul(c.tensor('a'), c.tensor('b'))),
  bmm: (c) => out(bmm(c.tensor('a'), c.tensor('b'))),
  mm: (c) => out(c.tensor('a').mm(c.tensor('b'))),
  outer: (c) => out(c.tensor('a').outer(c.tensor('b'))),
  dot: (c) => out(c.tensor('a').dot(c.tensor('b'))),
  addmm: (c) => {
    const options = present({ beta: c.optNum('beta'), alpha: c.optNum('alpha') });
    return out(addmm(c.tensor('input'), c.tensor('mat1'), c.tensor('mat2'), options));
  },
  einsum: (c) => out(einsum(c.str('equation'), ...c.tensors('operands'))),

  // shape
  transpose: (c) => out(c.tensor('x').transpose(c.num('dim0'), c.num('dim1'))),
  permute: (c) => out(c.tensor('x').permute(c.ints('dims'))),
  reshape: (c) => out(c.tensor('x').reshape(c.ints('shape'))),
  view: (c) => out(c.tensor('x').view(c.ints('shape'))),
  squeeze: (c) => out(c.tensor('x').squeeze(c.optNum('dim'))),
  unsqueeze: (c) => out(c.tensor('x').unsqueeze(c.num('dim'))),
  expand: (c) => out(c.tensor('x').expand(c.ints('shape'))),
  flatten: (c) => out(c.tensor('x').flatten(c.optNum('startDim'), c.optNum('endDim'))),
  cat: (c) => out(cat(c.tensors('tensors'), c.optNum('dim'))),
  stack: (c) => out(stack(c.tensors('tensors'), c.optNum('dim'))),
  split: (c) => ({ pieces: c.tensor('x').split(c.sizes('sizeOrSizes'), c.optNum('dim')) }),
  chunk: (c) => ({ pieces: c.tensor('x').chunk(c.num('chunks'), c.optNum('dim')) }),
  unbind: (c) => ({ pieces: c.tensor('x').unbind(c.optNum('dim')) }),
  narrow: (c) => out(c.tensor('x').narrow(c.num('dim'), c.num('start'), c.num('length'))),
  slice: (c) => out(c.tensor('x').slice(c.num('dim'), c.numOrNull('start'), c.numOrNull('end'), c.optNum('step'))),
  select: (c) => out(c.tensor('x').select(c.num('dim'), c.num('index'))),
  indexSelect: (c) => out(c.tensor('x').indexSelect(c.num('dim'), c.tensor('index'))),
  gather: (c) => out(c.tensor('x').gather(c.num('dim'), c.tensor('index'))),
  scatter: (c) => out(c.tensor('x').scatter(c.num('dim'), c.tensor('index'), c.operand('src'))),
  scatterAdd: (c) => out(c.tensor('x').scatterAdd(c.num('dim'), c.tensor('index'), c.tensor('src'))),
  indexAdd: (c) => out(c.tensor('x').indexAdd(c.num('dim'), c.tensor('index'), c.tensor('source'))),
  maskedFill: (c) => out(c.tensor('x').maskedFill(c.tensor('mask'), c.operand('value'))),
  tril: (c) => out(c.tensor('x').tril(c.optNum('diagonal'))),
  triu: (c) => out(c.tensor('x').triu(c.optNum('diagonal'))),
  repeat: (c) => out(c.tensor('x').repeat(c.ints('repeats'))),
  repeatInterleave: (c) => out(c.tensor('x').repeatInterleave(c.num('repeats'), c.optNum('dim'))),
  flip: (c) => out(c.tensor('x').flip(c.ints('dims'))),
  roll: (c) => out(c.tensor('x').roll(c.sizes('shifts'), c.sizes('dims'))),
  'F.pad': (c) => out(F.pad(c.tensor('x'), c.ints('pads'), c.optNum('value'))),

  // sorting
  sort: (c) => valuesIndices(c.tensor('x').sort(c.optNum('dim'), c.optBool('descending'))),
  topk: (c) =>
    valuesIndices(c.tensor('x').topk(c.num('k'), c.optNum('dim'), c.optBool('largest'), c.optBool('sorted'))),
  argsort: (c) => out(c.tensor('x').argsort(c.optNum('dim'), c.optBool('descending'))),

  // losses
  'F.crossEntropy': (c) =>
    out(F.crossEntropy(c.tensor('logits'), c.tensor('target'), present({
      weight: c.optTensor('weight'),
      ignoreIndex: c.optNum('ignoreIndex'),
      labelSmoothing: c.optNum('labelSmoothing'),
      reduction: c.optChoice('reduction', REDUCTIONS),
    }))),
  'F.nllLoss': (c) =>
    out(F.nllLoss(c.tensor('logProbs'), c.tensor('target'), present({
      weight: c.optTensor('weight'),
      ignoreIndex: c.optNum('ignoreIndex'),
      reduction: c.optChoice('reduction', REDUCTIONS),
    }))),
  'F.mseLoss': (c) => out(F.mseLoss(c.tensor('input'), c.tensor('target'), c.optChoice('reduction', REDUCTIONS))),
  'F.l1Loss': (c) => out(F.l1Loss(c.tensor('input'), c.tensor('target'), c.optChoice('reduction', REDUCTIONS))),
  'F.smoothL1Loss': (c) =>
    out(F.smoothL1Loss(c.tensor('input'), c.tensor('target'), c.optChoice('reduction', REDUCTIONS), c.optNum('beta'))),
  'F.bceWithLogits': (c) =>
    out(F.bceWithLogits(c.tensor('logits'), c.tensor('target'), present({
      weight: c.optTensor('weight'),
      posWeight: c.optTensor('posWeight'),
      reduction: c.optChoice('reduction', REDUCTIONS),
    }))),

  // normalisation
  'F.layerNorm': (c) =>
    out(F.layerNorm(c.tensor('x'), c.ints('normalizedShape'), c.optTensor('weight'), c.optTensor('bias'),
      c.optNum('eps'))),
  'F.rmsNorm': (c) => out(F.rmsNorm(c.tensor('x'), c.optTensor('weight'), c.optNum('eps'))),
  'F.groupNorm': (c) =>
    out(F.groupNorm(c.tensor('x'), c.num('groups'), c.optTensor('weight'), c.optTensor('bias'), c.optNum('eps'))),
  'F.batchNorm': (c) => {
    const runningMean = c.optTensor('runningMean') ?? null;
    const runningVar = c.optTensor('runningVar') ?? null;
    const y = F.batchNorm(c.tensor('x'), runningMean, runningVar, present({
      weight: c.optTensor('weight'),
      bias: c.optTensor('bias'),
      training: c.optBool('training'),
      momentum: c.optNum('momentum'),
      eps: c.optNum('eps'),
    }));
    // The running statistics are compared after the call: training updates them in place.
    const outputs: Outputs = { out: y };
    if (runningMean !== null) outputs['runningMean'] = runningMean;
    if (runningVar !== null) outputs['runningVar'] = runningVar;
    return outputs;
  },

  // layers
  'F.embedding': (c) =>
    out(F.embedding(c.tensor('indices'), c.tensor('weight'), present({ paddingIdx: c.optNum('paddingIdx') }))),
  'F.linear': (c) => out(F.linear(c.tensor('x'), c.tensor('weight'), c.optTensor('bias'))),
  'F.conv1d': (c) => out(F.conv1d(c.tensor('x'), c.tensor('weight'), c.optTensor('bias'), convOptions(c))),
  'F.conv2d': (c) => out(F.conv2d(c.tensor('x'), c.tensor('weight'), c.optTensor('bias'), convOptions(c))),
  'F.maxPool1d': (c) => {
    const dilation = c.optSizes('dilation');
    assert.ok(!Array.isArray(dilation), 'maxPool1d takes one dilation');
    return out(F.maxPool1d(c.tensor('x'), c.num('kernelSize'), present({ ...poolOptions(c), dilation })));
  },
  'F.maxPool2d': (c) =>
    out(F.maxPool2d(c.tensor('x'), c.sizes('kernelSize'),
      present({ ...poolOptions(c), dilation: c.optSizes('dilation') }))),
  'F.avgPool2d': (c) =>
    out(F.avgPool2d(c.tensor('x'), c.sizes('kernelSize'),
      present({ ...poolOptions(c), countIncludePad: c.optBool('countIncludePad') }))),
  'F.adaptiveAvgPool2d': (c) => {
    const size = c.sizes('outputSize');
    if (Array.isArray(size)) {
      assert.equal(size.length, 2, 'outputSize should be [H, W]');
      return out(F.adaptiveAvgPool2d(c.tensor('x'), [size[0]!, size[1]!]));
    }
    return out(F.adaptiveAvgPool2d(c.tensor('x'), size));
  },
  'F.oneHot': (c) => out(F.oneHot(c.tensor('indices'), c.optNum('numClasses'))),

  // attention and recurrent kernels
  'F.scaledDotProductAttention': (c) =>
    out(F.scaledDotProductAttention(c.tensor('q'), c.tensor('k'), c.tensor('v'), present({
      attnMask: c.optTensor('attnMask'),
      isCausal: c.optBool('isCausal'),
      scale: c.optNum('scale'),
    }))),
  'F.lstm': (c) => {
    const [output, hN, cN] = F.lstm(c.tensor('input'), c.tensor('h0'), c.tensor('c0'), c.tensors('params'),
      recurrentOptions(c));
    return { output, hN, cN };
  },
  'F.gru': (c) => {
    const [output, hN] = F.gru(c.tensor('input'), c.tensor('h0'), c.tensors('params'), recurrentOptions(c));
    return { output, hN };
  },
};

function varianceOptions(c: Call): { correction?: 0 | 1; keepdim?: boolean } {
  const correction = c.optNum('correction');
  assert.ok(correction === undefined || correction === 0 || correction === 1, `correction ${correction}`);
  return present({ correction, keepdim: c.optBool('keepdim') });
}

function convOptions(c: Call): F.ConvOptions {
  return present({
    stride: c.optSizes('stride'),
    padding: c.optSizesOrChoice('padding', ['same', 'valid'] as const),
    dilation: c.optSizes('dilation'),
    groups: c.optNum('groups'),
  });
}

function poolOptions(c: Call): F.PoolOptions {
  return present({ stride: c.optSizes('stride'), padding: c.optSizes('padding'), ceilMode: c.optBool('ceilMode') });
}

function recurrentOptions(c: Call): F.RecurrentOptions {
  return present({
    numLayers: c.optNum('numLayers'),
    bidirectional: c.optBool('bidirectional'),
    batchFirst: c.optBool('batchFirst'),
  });
}

// ---- the tests ----

function runCase(testCase: ReferenceCase): void {
  const call = OPS[testCase.op];
  assert.ok(call !== undefined, `no Kiln call is mapped for fixture op '${testCase.op}'`);
  scope(() => {
    const inputs = new Call(testCase);
    const outputs = call(inputs);
    assert.deepEqual(inputs.unused(), [], 'fixture inputs or arguments the Kiln call ignored');
    assert.deepEqual(Object.keys(outputs).sort(), Object.keys(testCase.expected).sort(), 'output names');
    for (const [name, expected] of Object.entries(testCase.expected)) compareEntry(outputs[name], expected, name);
  });
}

const fixture = loadFixture();

test('reference fixture: every mapped op has cases', () => {
  assert.ok(fixture.cases.length > 0, 'engine.json has no cases');
  const ops = new Set(fixture.cases.map((c) => c.op));
  assert.deepEqual(Object.keys(OPS).filter((op) => !ops.has(op)), [], 'ops mapped here without a fixture case');
  const names = new Set(fixture.cases.map((c) => c.name));
  assert.equal(names.size, fixture.cases.length, 'case names must be unique');
});

for (const testCase of fixture.cases) {
  test(`${testCase.op}: ${testCase.name}`, () => runCase(testCase));
}

/**
 * Kiln's layers against PyTorch's. test/fixtures/nn.json holds, per case, a layer's state dict,
 * inputs, output cotangents, and the outputs and gradients PyTorch computed; it also holds the
 * weights PyTorch's default initialisation draws after a seed. test/fixtures/nn_reference.py
 * writes it (its docstring says how to regenerate it and describes the format).
 *
 * Each case builds the layer in Kiln, loads the state dict, runs forward, backpropagates
 * sum(output · cotangent) and compares the outputs, the input gradients, every parameter
 * gradient and the buffers afterwards (batch norm's running statistics).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/tensor/native.js';
import { Module, Tensor, manualSeed, nn, scope, tensor, type DType } from '../../src/index.js';
import type { Layer } from '../../src/nn/module.js';

// ---- the fixture format (see nn_reference.py) ----

interface TensorSpec {
  dtype: DType;
  shape: number[];
  /** Row-major, flat. */
  values: (number | boolean)[];
}

type Tensors = Record<string, TensorSpec>;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface LayerSpec {
  type: string;
  args: Json[];
  options: Record<string, Json>;
}

interface LayerCase {
  name: string;
  layer: LayerSpec;
  training: boolean;
  seed?: number;
  forward: { causal?: boolean };
  state: Tensors;
  inputs: Tensors;
  cotangents: Tensors;
  expected: Tensors;
  inputGrads: Tensors;
  paramGrads: Tensors;
  stateAfter?: Tensors;
}

interface InitCase {
  name: string;
  layer: LayerSpec;
  seed: number;
  state: Tensors;
}

interface Fixture {
  generator: string;
  torch: string;
  cases: LayerCase[];
  inits: InitCase[];
}

/** float32 outputs and gradients: |Kiln − PyTorch| ≤ TOLERANCE · (1 + |PyTorch|). */
const TOLERANCE = 1e-5;

function loadFixture(): Fixture {
  return JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'nn.json'), 'utf8')) as Fixture;
}

function fromSpec(spec: TensorSpec): Tensor {
  const { dtype, shape, values } = spec;
  switch (dtype) {
    case 'float32':
      return tensor(new Float32Array(values as number[]), { shape, dtype });
    case 'int64':
      return tensor(BigInt64Array.from(values as number[], (v) => BigInt(v)), { shape, dtype });
    case 'bool':
      return tensor(Uint8Array.from(values, (v) => (v === true ? 1 : 0)), { shape, dtype });
    default:
      throw new TypeError(`fixture dtype ${dtype} has no builder here`);
  }
}

function fromSpecs(specs: Tensors): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, fromSpec(spec)]));
}

// ---- comparison, with the largest deviation seen per kind of value ----

const largestDeviation = new Map<string, { value: number; where: string }>();

/** Compares dtype, shape and values; `kind` groups the deviation report (output, input grad, ...). */
function compare(actual: Tensor | null | undefined, expected: TensorSpec, label: string, kind: string, exact = false): void {
  assert.ok(actual instanceof Tensor, `${label}: Kiln has ${String(actual)}, not a Tensor`);
  assert.equal(actual.dtype, expected.dtype, `${label}: dtype`);
  assert.deepEqual([...actual.shape], expected.shape, `${label}: shape`);
  const flat = actual.toTypedArray();
  const mismatches: string[] = [];
  let worst = 0;
  for (let i = 0; i < flat.length; i++) {
    const raw = flat[i]!;
    const got = typeof raw === 'bigint' ? Number(raw) : expected.dtype === 'bool' ? raw !== 0 : raw;
    const want = expected.values[i]!;
    if (typeof got === 'boolean' || typeof want === 'boolean') {
      if (got !== want) mismatches.push(`[${i}] Kiln ${String(got)}, PyTorch ${String(want)}`);
      continue;
    }
    // The fixture writes the shortest decimal that reads back as the float32; read it back.
    const wantValue = expected.dtype === 'float32' ? Math.fround(want) : want;
    const deviation = Math.abs(got - wantValue);
    worst = Math.max(worst, Number.isNaN(deviation) ? Infinity : deviation);
    const limit = exact ? 0 : TOLERANCE * (1 + Math.abs(wantValue));
    if (!(deviation <= limit)) mismatches.push(`[${i}] Kiln ${got}, PyTorch ${wantValue}`);
  }
  const seen = largestDeviation.get(kind);
  if (seen === undefined || worst > seen.value) largestDeviation.set(kind, { value: worst, where: label });
  const shown = mismatches.slice(0, 8).join('\n  ') + (mismatches.length > 8 ? `\n  ... ${mismatches.length - 8} more` : '');
  assert.ok(mismatches.length === 0, `${label}: ${mismatches.length} of ${flat.length} values differ from PyTorch:\n  ${shown}`);
}

after(() => {
  const lines = [...largestDeviation].map(([kind, { value, where }]) => `${kind}: ${value.toExponential(2)} (${where})`);
  console.log(`largest |Kiln − PyTorch| per kind of value:\n  ${lines.join('\n  ')}`);
});

// ---- building the Kiln layer a case names ----

// The fixture spells constructor arguments as JSON; each builder passes them on untyped.
type Builder = (args: any[], options: any) => Module;

const BUILDERS: Record<string, Builder> = {
  Linear: (a, o) => new nn.Linear(a[0], a[1], o),
  Embedding: (a, o) => new nn.Embedding(a[0], a[1], o),
  LayerNorm: (a, o) => new nn.LayerNorm(a[0], o),
  RMSNorm: (a) => new nn.RMSNorm(a[0], a[1]),
  Dropout: (a) => new nn.Dropout(a[0]),
  ReLU: () => new nn.ReLU(),
  GELU: (a) => new nn.GELU(a[0]),
  SiLU: () => new nn.SiLU(),
  Tanh: () => new nn.Tanh(),
  Sigmoid: () => new nn.Sigmoid(),
  Flatten: (a) => new nn.Flatten(a[0], a[1]),
  Sequential: (a) => new nn.Sequential(...a.map((spec: LayerSpec) => build(spec) as Module & Layer)),
  Conv1d: (a, o) => new nn.Conv1d(a[0], a[1], a[2], o),
  Conv2d: (a, o) => new nn.Conv2d(a[0], a[1], a[2], o),
  BatchNorm1d: (a, o) => new nn.BatchNorm1d(a[0], o),
  BatchNorm2d: (a, o) => new nn.BatchNorm2d(a[0], o),
  MaxPool2d: (a, o) => new nn.MaxPool2d(a[0], o),
  AvgPool2d: (a, o) => new nn.AvgPool2d(a[0], o),
  AdaptiveAvgPool2d: (a) => new nn.AdaptiveAvgPool2d(a[0]),
  LSTM: (a, o) => new nn.LSTM(a[0], a[1], o),
  GRU: (a, o) => new nn.GRU(a[0], a[1], o),
  MultiheadSelfAttention: (a, o) => new nn.MultiheadSelfAttention(a[0], a[1], o),
  TransformerEncoderBlock: (a, o) => new nn.TransformerEncoderBlock(a[0], a[1], o),
  GPTBlock: (a, o) => new nn.GPTBlock(a[0], a[1], o),
};

function build(spec: LayerSpec): Module {
  const builder = BUILDERS[spec.type];
  assert.ok(builder !== undefined, `no Kiln builder for fixture layer type '${spec.type}'`);
  return builder(spec.args, spec.options);
}

/** Runs the layer's forward with the case's inputs; returns its outputs by the fixture's names. */
function runForward(layer: Module, inputs: Record<string, Tensor>, forward: LayerCase['forward']): Record<string, Tensor> {
  const { x, h, c, keyPaddingMask } = inputs;
  assert.ok(x !== undefined, 'every case has an input x');
  const attention = {
    ...(forward.causal === undefined ? {} : { causal: forward.causal }),
    ...(keyPaddingMask === undefined ? {} : { keyPaddingMask }),
  };
  if (layer instanceof nn.LSTM) {
    const result = layer.forward(x, h === undefined || c === undefined ? undefined : { h, c });
    return { output: result.output, h: result.h, c: result.c };
  }
  if (layer instanceof nn.GRU) {
    const result = layer.forward(x, h === undefined ? undefined : { h });
    return { output: result.output, h: result.h };
  }
  if (layer instanceof nn.MultiheadSelfAttention || layer instanceof nn.TransformerEncoderBlock) {
    return { output: layer.forward(x, attention) };
  }
  if (layer instanceof nn.GPTBlock) {
    assert.equal(forward.causal, undefined, 'GPTBlock is always causal');
    return { output: layer.forward(x, keyPaddingMask === undefined ? {} : { keyPaddingMask }) };
  }
  assert.equal(Object.keys(attention).length, 0, `${layer.constructor.name} takes no attention options`);
  return { output: (layer as Module & Layer).forward(x) };
}

// ---- the cases ----

const fixture = loadFixture();

for (const testCase of fixture.cases) {
  test(`${testCase.layer.type}: ${testCase.name}`, () => {
    scope(() => {
      const layer = build(testCase.layer);
      layer.loadStateDict(fromSpecs(testCase.state));
      layer.train(testCase.training);
      const inputs = fromSpecs(testCase.inputs);
      for (const name of Object.keys(testCase.inputGrads)) inputs[name]!.requiresGrad = true;

      if (testCase.seed !== undefined) manualSeed(testCase.seed);
      const outputs = runForward(layer, inputs, testCase.forward);

      assert.deepEqual(Object.keys(outputs).sort(), Object.keys(testCase.expected).sort(), 'the outputs');
      for (const [name, spec] of Object.entries(testCase.expected)) compare(outputs[name], spec, `${testCase.name}: output ${name}`, 'output');

      const loss = Object.entries(testCase.cotangents)
        .map(([name, spec]) => outputs[name]!.mul(fromSpec(spec)).sum())
        .reduce((a, b) => a.add(b));
      loss.backward();

      for (const [name, spec] of Object.entries(testCase.inputGrads)) {
        compare(inputs[name]!.grad, spec, `${testCase.name}: d loss / d input ${name}`, 'input gradient');
      }
      const params = new Map(layer.namedParameters());
      assert.deepEqual([...params.keys()].sort(), Object.keys(testCase.paramGrads).sort(), 'the parameters');
      for (const [name, spec] of Object.entries(testCase.paramGrads)) {
        compare(params.get(name)!.grad, spec, `${testCase.name}: d loss / d ${name}`, 'parameter gradient');
      }
      if (testCase.stateAfter !== undefined) {
        const state = layer.stateDict();
        for (const [name, spec] of Object.entries(testCase.stateAfter)) {
          compare(state[name], spec, `${testCase.name}: buffer ${name} after the forward`, 'buffer after forward');
        }
      }
    });
  });
}

// ---- seeded initialisation: the same draws from the same generator give the same bits ----

for (const init of fixture.inits) {
  test(`seeded init: ${init.name} starts from PyTorch's weights`, () => {
    scope(() => {
      manualSeed(init.seed);
      const state = build(init.layer).stateDict();
      assert.deepEqual(Object.keys(state), Object.keys(init.state), 'state dict names, in order');
      for (const [name, spec] of Object.entries(init.state)) compare(state[name], spec, `${init.name}: ${name}`, 'seeded init', true);
    });
  });
}

// Every differentiable op against central finite differences in float64 (see gradcheck.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F,
  Tensor,
  addmm,
  cat,
  einsum,
  gradcheck,
  manualSeed,
  noGrad,
  rand,
  randn,
  stack,
  tensor,
  where,
} from '../../src/index.js';

const f64 = { dtype: 'float64' } as const;

/** A float64 leaf requiring grad, standard normal. */
function input(...shape: number[]): Tensor {
  return randn(shape, f64).requiresGrad_();
}

/** A float64 leaf with values in [low, high), for ops defined on part of the line. */
function inputIn(low: number, high: number, ...shape: number[]): Tensor {
  return noGrad(() => rand(shape, f64).mul(high - low).add(low)).requiresGrad_();
}

function indices(values: number[], shape?: number[]): Tensor {
  return tensor(new BigInt64Array(values.map(BigInt)), shape === undefined ? {} : { shape });
}

type Case = [name: string, inputs: () => Tensor[], fn: (...xs: Tensor[]) => Tensor];

const elementwise: Case[] = [
  ['add broadcast', () => [input(2, 3, 1), input(1, 4)], (a, b) => a.add(b)],
  ['add alpha', () => [input(3), input(3)], (a, b) => a.add(b, 2.5)],
  ['add scalar', () => [input(3)], (a) => a.add(1.5)],
  ['sub broadcast', () => [input(4, 1), input(3)], (a, b) => a.sub(b)],
  ['rsub', () => [input(3)], (a) => a.rsub(2)],
  ['mul broadcast', () => [input(2, 3), input(3)], (a, b) => a.mul(b)],
  ['div', () => [input(2, 3), inputIn(0.5, 2, 2, 3)], (a, b) => a.div(b)],
  ['div scalar', () => [input(3)], (a) => a.div(4)],
  ['pow tensor', () => [inputIn(0.5, 2, 3), input(3)], (a, b) => a.pow(b)],
  ['pow scalar', () => [input(3)], (a) => a.pow(3)],
  ['rpow', () => [input(3)], (a) => a.rpow(2)],
  ['remainder', () => [inputIn(0.1, 0.9, 4)], (a) => a.remainder(1)],
  ['maximum', () => [input(5), input(5)], (a, b) => a.maximum(b)],
  ['minimum', () => [input(5), input(5)], (a, b) => a.minimum(b)],
  ['neg', () => [input(3)], (a) => a.neg()],
  ['abs', () => [input(4)], (a) => a.abs()],
  ['exp', () => [input(4)], (a) => a.exp()],
  ['expm1', () => [input(4)], (a) => a.expm1()],
  ['log', () => [inputIn(0.5, 3, 4)], (a) => a.log()],
  ['log2', () => [inputIn(0.5, 3, 4)], (a) => a.log2()],
  ['log1p', () => [inputIn(0, 3, 4)], (a) => a.log1p()],
  ['sqrt', () => [inputIn(0.5, 3, 4)], (a) => a.sqrt()],
  ['rsqrt', () => [inputIn(0.5, 3, 4)], (a) => a.rsqrt()],
  ['square', () => [input(4)], (a) => a.square()],
  ['reciprocal', () => [inputIn(0.5, 3, 4)], (a) => a.reciprocal()],
  ['sin', () => [input(4)], (a) => a.sin()],
  ['cos', () => [input(4)], (a) => a.cos()],
  ['tanh', () => [input(4)], (a) => a.tanh()],
  ['sigmoid', () => [input(4)], (a) => a.sigmoid()],
  ['logSigmoid', () => [input(4)], (a) => a.logSigmoid()],
  ['relu', () => [input(6)], (a) => a.relu()],
  ['gelu erf', () => [input(6)], (a) => a.gelu()],
  ['gelu tanh', () => [input(6)], (a) => a.gelu('tanh')],
  ['silu', () => [input(6)], (a) => a.silu()],
  ['softplus', () => [input(6)], (a) => a.softplus(2, 20)],
  ['leakyRelu', () => [input(6)], (a) => a.leakyRelu(0.1)],
  ['elu', () => [input(6)], (a) => a.elu(1.5)],
  ['erf', () => [input(6)], (a) => a.erf()],
  ['clamp scalars', () => [input(8)], (a) => a.clamp(-0.5, 0.5)],
  ['clamp tensors', () => [input(8), input(8)], (a, lo) => a.clamp(lo, null)],
  ['lerp scalar', () => [input(4), input(4)], (a, b) => a.lerp(b, 0.3)],
  ['lerp tensor', () => [input(4), input(4), inputIn(0, 1, 4)], (a, b, w) => a.lerp(b, w)],
  ['maskedFill', () => [input(2, 3)], (a) => a.maskedFill(tensor([true, false, true]), 0.5)],
  ['where', () => [input(2, 3), input(3)], (a, b) => where(tensor([[true, false, true], [false, false, true]]), a, b)],
  ['where scalar', () => [input(3)], (a) => where(tensor([true, false, true]), a, 2)],
];

const reductions: Case[] = [
  ['sum all', () => [input(2, 3)], (a) => a.sum()],
  ['sum dims keepdim', () => [input(2, 3, 4)], (a) => a.sum([0, 2], true)],
  ['mean dim', () => [input(2, 3)], (a) => a.mean(1)],
  ['mean all', () => [input(2, 3)], (a) => a.mean()],
  ['prod dim', () => [input(2, 3)], (a) => a.prod(1)],
  ['prod all', () => [input(4)], (a) => a.prod()],
  ['max all', () => [input(2, 3)], (a) => a.max()],
  ['max dim', () => [input(2, 3)], (a) => a.max(1).values],
  ['min dim keepdim', () => [input(2, 3)], (a) => a.min(0, true).values],
  ['amax', () => [input(2, 3)], (a) => a.amax(1)],
  ['amin', () => [input(2, 3)], (a) => a.amin([0, 1])],
  ['var unbiased', () => [input(2, 5)], (a) => a.var(1)],
  ['var population keepdim', () => [input(2, 5)], (a) => a.var(0, { correction: 0, keepdim: true })],
  ['std', () => [input(3, 4)], (a) => a.std(1)],
  ['std all', () => [input(3, 4)], (a) => a.std()],
  ['logsumexp', () => [input(3, 4)], (a) => a.logsumexp(1)],
  ['norm 2', () => [input(3, 4)], (a) => a.norm(2, 1)],
  ['norm 1 all', () => [input(3, 4)], (a) => a.norm(1)],
  ['norm 3 keepdim', () => [input(3, 4)], (a) => a.norm(3, 0, true)],
  ['cumsum', () => [input(3, 4)], (a) => a.cumsum(1)],
  ['softmax', () => [input(3, 4)], (a) => a.softmax(1)],
  ['logSoftmax', () => [input(3, 4)], (a) => a.logSoftmax(0)],
];

const linalg: Case[] = [
  ['matmul batched broadcast', () => [input(2, 1, 3, 4), input(5, 4, 2)], (a, b) => a.matmul(b)],
  ['matmul vector', () => [input(3, 4), input(4)], (a, b) => a.matmul(b)],
  ['mm', () => [input(3, 4), input(4, 2)], (a, b) => a.mm(b)],
  ['bmm', () => [input(2, 3, 4), input(2, 4, 2)], (a, b) => a.bmm(b)],
  ['outer', () => [input(3), input(4)], (a, b) => a.outer(b)],
  ['dot', () => [input(4), input(4)], (a, b) => a.dot(b)],
  ['addmm', () => [input(3, 2), input(3, 4), input(4, 2)], (c, a, b) => addmm(c, a, b, { beta: 0.5, alpha: 2 })],
  ['einsum', () => [input(2, 3, 4), input(2, 4, 5)], (a, b) => einsum('bij,bjk->bik', a, b)],
];

const shapes: Case[] = [
  ['view', () => [input(2, 6)], (a) => a.view(3, 4).mul(tensor([1, 2, 3, 4], f64))],
  ['reshape', () => [input(2, 6)], (a) => a.transpose(0, 1).reshape([4, 3])],
  ['transpose', () => [input(2, 3)], (a) => a.transpose(0, 1)],
  ['t', () => [input(2, 3)], (a) => a.t()],
  ['permute', () => [input(2, 3, 4)], (a) => a.permute(2, 0, 1)],
  ['expand', () => [input(3, 1)], (a) => a.expand(3, 4)],
  ['squeeze', () => [input(3, 1, 2)], (a) => a.squeeze(1)],
  ['unsqueeze', () => [input(3)], (a) => a.unsqueeze(0)],
  ['flatten', () => [input(2, 3, 4)], (a) => a.flatten(1)],
  ['cat', () => [input(2, 3), input(1, 3)], (a, b) => cat([a, b], 0)],
  ['stack', () => [input(2, 3), input(2, 3)], (a, b) => stack([a, b], 1)],
  ['split sizes', () => [input(5, 2)], (a) => a.split([2, 3], 0)[1]!],
  ['split size', () => [input(5, 2)], (a) => a.split(2, 0)[2]!],
  ['chunk', () => [input(4, 3)], (a) => a.chunk(2, 1)[0]!],
  ['unbind', () => [input(3, 2)], (a) => a.unbind(0)[1]!],
  ['narrow', () => [input(5, 3)], (a) => a.narrow(0, 1, 3)],
  ['slice step', () => [input(7, 2)], (a) => a.slice(0, 1, 6, 2)],
  ['select', () => [input(3, 4)], (a) => a.select(1, -1)],
  ['indexSelect', () => [input(4, 3)], (a) => a.indexSelect(0, indices([3, 0, 3]))],
  ['gather', () => [input(3, 4)], (a) => a.gather(1, indices([0, 3, 1, 1, 2, 2], [3, 2]))],
  ['scatter', () => [input(3, 4), input(3, 2)], (a, s) => a.scatter(1, indices([0, 3, 1, 2, 2, 0], [3, 2]), s)],
  ['scatterAdd', () => [input(3, 4), input(3, 2)], (a, s) => a.scatterAdd(1, indices([0, 0, 1, 2, 3, 3], [3, 2]), s)],
  ['indexAdd', () => [input(4, 2), input(3, 2)], (a, s) => a.indexAdd(0, indices([0, 2, 0]), s)],
  ['tril', () => [input(3, 3)], (a) => a.tril(-1)],
  ['triu', () => [input(3, 4)], (a) => a.triu(1)],
  ['repeat', () => [input(2, 3)], (a) => a.repeat(2, 1, 2)],
  ['repeatInterleave', () => [input(2, 3)], (a) => a.repeatInterleave(2, 1)],
  ['flip', () => [input(2, 3)], (a) => a.flip(0, 1)],
  ['roll', () => [input(2, 3)], (a) => a.roll(1, 1)],
  ['pad', () => [input(2, 3)], (a) => F.pad(a, [1, 2, 0, 1], 0.5)],
  ['contiguous clone', () => [input(2, 3)], (a) => a.t().contiguous().clone()],
  ['topk values', () => [input(3, 5)], (a) => a.topk(2, 1).values],
  ['sort values', () => [input(3, 5)], (a) => a.sort(1, true).values],
];

const nn: Case[] = [
  ['crossEntropy', () => [input(4, 3)], (x) => F.crossEntropy(x, indices([0, 2, 1, 2]))],
  ['crossEntropy weight+smoothing', () => [input(4, 3)],
    (x) => F.crossEntropy(x, indices([0, 2, 1, 2]), { weight: tensor([1, 2, 0.5], f64), labelSmoothing: 0.1 })],
  ['crossEntropy ignoreIndex sum', () => [input(4, 3)],
    (x) => F.crossEntropy(x, indices([0, -100, 1, 2]), { reduction: 'sum' })],
  ['crossEntropy probabilities', () => [input(2, 3)],
    (x) => F.crossEntropy(x, tensor([[0.2, 0.3, 0.5], [1, 0, 0]], f64))],
  ['crossEntropy (B, C, T)', () => [input(2, 3, 4)],
    (x) => F.crossEntropy(x, indices([0, 1, 2, 0, 2, 2, 1, 0], [2, 4]), { reduction: 'none' })],
  ['nllLoss', () => [input(4, 3)], (x) => F.nllLoss(x.logSoftmax(1), indices([1, 0, 2, 2]), { weight: tensor([1, 3, 2], f64) })],
  ['mseLoss', () => [input(3, 2), input(3, 2)], (a, b) => F.mseLoss(a, b)],
  ['l1Loss', () => [input(3, 2), input(3, 2)], (a, b) => F.l1Loss(a, b, 'sum')],
  ['smoothL1Loss', () => [input(3, 2), input(3, 2)], (a, b) => F.smoothL1Loss(a, b, 'mean', 0.5)],
  ['bceWithLogits', () => [input(3, 2), inputIn(0, 1, 3, 2)],
    (x, y) => F.bceWithLogits(x, y, { posWeight: tensor([2, 0.5], f64), weight: tensor([1, 3], f64) })],
  ['layerNorm', () => [input(2, 3, 4), input(4), input(4)], (x, w, b) => F.layerNorm(x, [4], w, b)],
  ['rmsNorm', () => [input(2, 4), input(4)], (x, w) => F.rmsNorm(x, w)],
  ['groupNorm', () => [input(2, 4, 3), input(4), input(4)], (x, w, b) => F.groupNorm(x, 2, w, b)],
  ['batchNorm training', () => [input(4, 3), input(3), input(3)],
    (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true })],
  ['batchNorm eval', () => [input(4, 3, 2), input(3)],
    (x, w) => F.batchNorm(x, tensor([0.1, -0.2, 0.3], f64), tensor([1, 2, 0.5], f64), { weight: w })],
  ['dropout (seeded)', () => [input(4, 5)], (x) => { manualSeed(7); return F.dropout(x, 0.4, true); }],
  ['embedding', () => [input(5, 3)], (w) => F.embedding(indices([4, 0, 4, 2], [2, 2]), w)],
  ['linear', () => [input(2, 3), input(4, 3), input(4)], (x, w, b) => F.linear(x, w, b)],
  ['conv1d', () => [input(2, 2, 7), input(4, 1, 3), input(4)],
    (x, w, b) => F.conv1d(x, w, b, { stride: 2, padding: 1, groups: 2 })],
  ['conv2d', () => [input(1, 2, 5, 5), input(3, 2, 3, 2), input(3)],
    (x, w, b) => F.conv2d(x, w, b, { stride: [2, 1], padding: [1, 0], dilation: [1, 2] })],
  ['conv2d same', () => [input(1, 1, 4, 4), input(2, 1, 3, 3)], (x, w) => F.conv2d(x, w, null, { padding: 'same' })],
  ['maxPool2d', () => [input(1, 2, 4, 5)], (x) => F.maxPool2d(x, 2, { stride: 1, padding: 1 })],
  ['maxPool1d', () => [input(1, 2, 6)], (x) => F.maxPool1d(x, 3)],
  ['avgPool2d', () => [input(1, 2, 4, 5)], (x) => F.avgPool2d(x, [2, 3], { stride: 1, padding: 1, countIncludePad: false })],
  ['adaptiveAvgPool2d', () => [input(1, 2, 5, 7)], (x) => F.adaptiveAvgPool2d(x, [2, 3])],
  ['attention causal', () => [input(2, 3, 4), input(2, 3, 4), input(2, 3, 2)],
    (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true })],
  ['attention bool mask', () => [input(1, 2, 3), input(1, 4, 3), input(1, 4, 2)],
    (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: tensor([[true, false, true, true], [true, true, false, true]]) })],
  ['attention float mask', () => [input(2, 3), input(4, 3), input(4, 2), input(2, 4)],
    (q, k, v, m) => F.scaledDotProductAttention(q, k, v, { attnMask: m, scale: 0.3 })],
];

// LSTM/GRU: every weight and the initial state get gradients.
function recurrentParams(gates: number, inputSize: number, hidden: number, layers: number, dirs: number): Tensor[] {
  const params: Tensor[] = [];
  for (let layer = 0; layer < layers; layer++) {
    for (let d = 0; d < dirs; d++) {
      const inSize = layer === 0 ? inputSize : hidden * dirs;
      params.push(input(gates * hidden, inSize), input(gates * hidden, hidden), input(gates * hidden), input(gates * hidden));
    }
  }
  return params;
}

const recurrent: Case[] = [
  ['lstm 2 layers bidirectional batch-first', () => [input(2, 3, 2), input(4, 2, 2), input(4, 2, 2), ...recurrentParams(4, 2, 2, 2, 2)],
    (x, h0, c0, ...params) => {
      const [out, hN, cN] = F.lstm(x, h0, c0, params, { numLayers: 2, bidirectional: true, batchFirst: true });
      return cat([out.flatten(), hN.flatten(), cN.flatten()]);
    }],
  ['gru 2 layers', () => [input(3, 2, 2), input(2, 2, 3), ...recurrentParams(3, 2, 3, 2, 1)],
    (x, h0, ...params) => {
      const [out, hN] = F.gru(x, h0, params, { numLayers: 2 });
      return cat([out.flatten(), hN.flatten()]);
    }],
];

const groups: [string, Case[]][] = [
  ['elementwise', elementwise],
  ['reductions', reductions],
  ['linear algebra', linalg],
  ['shape ops', shapes],
  ['nn functional', nn],
  ['recurrent', recurrent],
];

for (const [group, cases] of groups) {
  for (const [name, makeInputs, fn] of cases) {
    test(`gradcheck ${group}: ${name}`, () => {
      manualSeed(1234);
      const inputs = makeInputs();
      const mismatch = gradcheck(fn, inputs);
      assert.equal(mismatch, null, `${name}: ${JSON.stringify(mismatch)}`);
    });
  }
}

test('gradcheck reports a wrong gradient', () => {
  // detach() hides one factor from autograd: analytic d/dx = x, finite differences give 2x.
  const x = tensor([0.5, -1.25, 2], f64).requiresGrad_();
  const mismatch = gradcheck((a) => a.detach().mul(a), [x]);
  assert.notEqual(mismatch, null);
  assert.ok(Math.abs(mismatch!.numeric - 2 * mismatch!.analytic) < 1e-6);
});

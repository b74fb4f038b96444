// What the PyTorch fixtures (layers.test.ts) do not pin down: errors, modes, state carried
// across calls, names, dtypes, and the attention masks' edge cases. Expected values come from
// closed forms or from a second Kiln computation that must agree, never from stored Kiln output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, cat, manualSeed, nn, randn, tensor } from '../../src/index.js';

function assertClose(actual: Tensor, expected: Tensor, tolerance = 1e-5, label = ''): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${label} shape`);
  const worst = actual.sub(expected).abs().max().item();
  assert.ok(worst <= tolerance, `${label} differs by ${worst} (tolerance ${tolerance})`);
}

function allFinite(t: Tensor): boolean {
  return t.isfinite().logicalNot().sum().item() === 0;
}

// ---- batch norm ----

test('BatchNorm counts training forwards in num_batches_tracked; eval leaves every buffer alone', () => {
  const bn = new nn.BatchNorm1d(3);
  assert.equal(bn.num_batches_tracked!.dtype, 'int64');
  bn.forward(randn([4, 3]));
  bn.forward(randn([4, 3, 2]));
  assert.equal(bn.num_batches_tracked!.item(), 2);
  const before = bn.running_mean!.clone();
  bn.eval();
  bn.forward(randn([4, 3]));
  assert.equal(bn.num_batches_tracked!.item(), 2);
  assert.ok(bn.running_mean!.equal(before), 'eval must not update running_mean');
});

test('BatchNorm momentum null keeps the plain average of the batch means and unbiased variances', () => {
  const bn = new nn.BatchNorm2d(2, { momentum: null });
  const batches = [randn([3, 2, 2, 2]), randn([2, 2, 3, 1]), randn([4, 2, 1, 2])];
  for (const x of batches) bn.forward(x);
  const means = batches.map((x) => x.mean([0, 2, 3]).unsqueeze(0));
  const variances = batches.map((x) => x.var([0, 2, 3]).unsqueeze(0)); // unbiased, as PyTorch's running_var
  assertClose(bn.running_mean!, cat(means).mean(0), 1e-6, 'running_mean');
  assertClose(bn.running_var!, cat(variances).mean(0), 1e-6, 'running_var');
});

test('BatchNorm eval normalises with the running statistics', () => {
  const bn = new nn.BatchNorm1d(2, { eps: 0 }).eval();
  bn.running_mean!.copy_(tensor([1, -2]));
  bn.running_var!.copy_(tensor([4, 0.25]));
  const y = bn.forward(tensor([[3, -2], [1, -1.5]]));
  assertClose(y, tensor([[1, 0], [0, 1]]), 1e-6);
});

test('BatchNorm rejects a wrong rank, a wrong channel count and a single value per channel when training', () => {
  assert.throws(() => new nn.BatchNorm2d(3).forward(randn([2, 3, 4])), /BatchNorm2d: expected 4-D \(B, C, H, W\) input, got shape \[2, 3, 4\]/);
  assert.throws(() => new nn.BatchNorm1d(3).forward(randn([2, 3, 4, 4])), /BatchNorm1d: expected 2-D \(B, C\) or 3-D \(B, C, L\) input/);
  assert.throws(() => new nn.BatchNorm1d(3).forward(randn([2, 4])), /expected 3 channels in dim 1, got shape \[2, 4\]/);
  assert.throws(() => new nn.BatchNorm1d(3).forward(randn([1, 3])), /more than 1 value per channel when training/);
  assert.doesNotThrow(() => new nn.BatchNorm1d(3).eval().forward(randn([1, 3])));
});

test('BatchNorm without affine or running stats has no such parameters or buffers', () => {
  const bn = new nn.BatchNorm2d(4, { affine: false, trackRunningStats: false });
  assert.deepEqual(Object.keys(bn.stateDict()), []);
  assert.deepEqual(new nn.BatchNorm2d(4).namedBuffers().map(([n]) => n), ['running_mean', 'running_var', 'num_batches_tracked']);
});

// ---- convolution and pooling ----

test('Conv2d checks its settings and its input', () => {
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /inChannels \(3\) and outChannels \(4\) must both be divisible by groups \(2\)/);
  assert.throws(() => new nn.Conv2d(2, 2, 3, { padding: 'same', stride: 2 }), /padding 'same' needs stride 1/);
  assert.throws(() => new nn.Conv2d(3, 4, 3).forward(randn([1, 2, 5, 5])), /expected 3 input channels/);
  assert.throws(() => new nn.Conv1d(3, 4, 3).forward(randn([3, 5])), /Conv1d: expected a 3-D input \(B, Cin, T\)/);
});

test("Conv padding 'same' keeps the size, 'valid' shrinks it by kernel − 1", () => {
  const x = randn([2, 3, 7, 6]);
  assert.deepEqual([...new nn.Conv2d(3, 5, [4, 3], { padding: 'same', dilation: 2 }).forward(x).shape], [2, 5, 7, 6]);
  assert.deepEqual([...new nn.Conv2d(3, 5, [4, 3], { padding: 'valid' }).forward(x).shape], [2, 5, 4, 4]);
  assert.deepEqual([...new nn.Conv1d(3, 2, 5, { padding: 'same' }).forward(randn([1, 3, 9])).shape], [1, 2, 9]);
});

test('Conv2d with a dtype makes float64 parameters', () => {
  const conv = new nn.Conv2d(2, 3, 2, { dtype: 'float64' });
  assert.ok(conv.parameters().every((p) => p.dtype === 'float64'));
  assert.equal(conv.forward(randn([1, 2, 3, 3], { dtype: 'float64' })).dtype, 'float64');
});

test('AdaptiveAvgPool2d(1) is the mean over height and width', () => {
  const x = randn([2, 3, 5, 4]);
  assertClose(new nn.AdaptiveAvgPool2d(1).forward(x), x.mean([2, 3], true), 1e-6);
  assert.throws(() => new nn.AdaptiveAvgPool2d(2).forward(randn([4, 4])), /expected a 3-D \(C, H, W\) or 4-D/);
});

// ---- recurrent layers ----

test('LSTM and GRU carry the state: two halves with the state passed on equal one whole run', () => {
  const x = randn([2, 6, 3]); // (B, T, F)
  const [first, second] = [x.narrow(1, 0, 4), x.narrow(1, 4, 2)];
  const lstm = new nn.LSTM(3, 5, { numLayers: 2, batchFirst: true });
  const whole = lstm.forward(x);
  const a = lstm.forward(first);
  const b = lstm.forward(second, a);
  assertClose(cat([a.output, b.output], 1), whole.output, 1e-6, 'LSTM output');
  assertClose(b.h, whole.h, 1e-6, 'LSTM h');
  assertClose(b.c, whole.c, 1e-6, 'LSTM c');

  const gru = new nn.GRU(3, 5, { numLayers: 2, batchFirst: true });
  const gruWhole = gru.forward(x);
  const g = gru.forward(second, gru.forward(first));
  assertClose(g.h, gruWhole.h, 1e-6, 'GRU h');
});

test('a bidirectional LSTM: output (T, B, 2H); the state holds layers × directions; the last step of the forward half is h[-2]', () => {
  const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true });
  const { output, h, c } = lstm.forward(randn([5, 2, 3]));
  assert.deepEqual([...output.shape], [5, 2, 8]);
  assert.deepEqual([...h.shape], [4, 2, 4]);
  assert.deepEqual([...c.shape], [4, 2, 4]);
  assertClose(output.select(0, 4).narrow(1, 0, 4), h.select(0, 2), 1e-7, 'forward direction');
  assertClose(output.select(0, 0).narrow(1, 4, 4), h.select(0, 3), 1e-7, 'reverse direction');
});

test('recurrent dropout acts between layers only in training', () => {
  manualSeed(3);
  const lstm = new nn.LSTM(3, 4, { numLayers: 2, dropout: 0.5 });
  const x = randn([6, 2, 3]);
  lstm.eval();
  const evalOutput = lstm.forward(x).output;
  assertClose(lstm.forward(x).output, evalOutput, 0, 'eval is deterministic');
  lstm.train();
  const trainOutput = lstm.forward(x).output;
  assert.ok(trainOutput.sub(evalOutput).abs().max().item() > 1e-3, 'training applies dropout');
  const single = new nn.GRU(3, 4, { dropout: 0.5 });
  assertClose(single.forward(x).h, single.eval().forward(x).h, 0, 'no dropout after the last (only) layer');
});

test('LSTM checks the input and the initial state shapes', () => {
  const lstm = new nn.LSTM(3, 4, { numLayers: 2 });
  assert.throws(() => lstm.forward(randn([5, 2, 6])), /expected input \(T, B, F\) or unbatched \(T, F\) with F = inputSize = 3, got shape \[5, 2, 6\]/);
  assert.throws(
    () => lstm.forward(randn([5, 2, 3]), { h: randn([1, 2, 4]), c: randn([2, 2, 4]) }),
    /initial state h must have shape \[2, 2, 4\] \(layers × directions, batch, hiddenSize\), got \[1, 2, 4\]/,
  );
  assert.throws(() => new nn.GRU(3, 0), /hiddenSize must be a positive integer/);
});

test('recurrent parameters are fields named as PyTorch names them', () => {
  const gru = new nn.GRU(3, 4, { bias: false, bidirectional: true });
  assert.deepEqual(gru.namedParameters().map(([n]) => n), ['weight_ih_l0', 'weight_hh_l0', 'weight_ih_l0_reverse', 'weight_hh_l0_reverse']);
  assert.deepEqual([...gru.weight_hh_l0_reverse.shape], [12, 4]);
});

// ---- attention ----

test('with left padding and causal masking, the real tokens see what they would see without the padding, and nothing is NaN', () => {
  manualSeed(5);
  const attention = new nn.MultiheadSelfAttention(8, 2);
  const real = randn([1, 3, 8]);
  const padded = cat([randn([1, 2, 8]), real], 1).requiresGrad_(); // (1, 5, 8): two padding tokens first
  const keyPaddingMask = tensor([[true, true, false, false, false]]);
  const y = attention.forward(padded, { causal: true, keyPaddingMask });
  assertClose(y.narrow(1, 2, 3), attention.forward(real, { causal: true }), 1e-6, 'real positions');
  assert.ok(allFinite(y), 'padding positions that see no key stay finite');
  y.sum().backward();
  assert.ok(allFinite(padded.grad!) && attention.parameters().every((p) => allFinite(p.grad!)), 'finite gradients');
});

test('a GPTBlock ignores right padding for the tokens before it', () => {
  const block = new nn.GPTBlock(8, 2).eval();
  const x = randn([1, 5, 8]);
  const y = block.forward(x, { keyPaddingMask: tensor([[false, false, false, true, true]]) });
  assertClose(y.narrow(1, 0, 3), block.forward(x.narrow(1, 0, 3)), 1e-6);
});

test('attention dropout acts only in training', () => {
  const attention = new nn.MultiheadSelfAttention(8, 2, { dropout: 0.5 }).eval();
  const x = randn([2, 4, 8]);
  assertClose(attention.forward(x), attention.forward(x), 0, 'eval is deterministic');
  attention.train();
  assert.ok(attention.forward(x).sub(attention.eval().forward(x)).abs().max().item() > 1e-4);
});

test('attention checks its settings and inputs', () => {
  assert.throws(() => new nn.MultiheadSelfAttention(10, 3), /embedDim \(10\) must be divisible by numHeads \(3\)/);
  const attention = new nn.MultiheadSelfAttention(8, 2);
  assert.throws(() => attention.forward(randn([2, 4, 6])), /expected input \(B, T, E\) with E = 8/);
  assert.throws(
    () => attention.forward(randn([2, 4, 8]), { keyPaddingMask: tensor([[0, 0, 0, 1], [0, 0, 0, 0]]) }),
    /keyPaddingMask must be a bool tensor \(B, T\) = \[2, 4\] with true at padding, got int64 \[2, 4\]/,
  );
});

test('the blocks use the parameter names of torch.nn.TransformerEncoderLayer and Hugging Face GPT-2', () => {
  assert.deepEqual(Object.keys(new nn.TransformerEncoderBlock(8, 2, { dimFeedforward: 16 }).stateDict()), [
    'self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
    'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias',
    'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
  ]);
  const gpt = new nn.GPTBlock(8, 2);
  assert.deepEqual(gpt.namedParameters().map(([name, p]) => `${name} [${p.shape.join(', ')}]`), [
    'ln_1.weight [8]', 'ln_1.bias [8]',
    'attn.c_attn.weight [24, 8]', 'attn.c_attn.bias [24]', 'attn.c_proj.weight [8, 8]', 'attn.c_proj.bias [8]',
    'ln_2.weight [8]', 'ln_2.bias [8]',
    'mlp.c_fc.weight [32, 8]', 'mlp.c_fc.bias [32]', 'mlp.c_proj.weight [8, 32]', 'mlp.c_proj.bias [8]',
  ]);
});

test('the blocks honour a dtype for every parameter, LayerNorms included', () => {
  for (const block of [new nn.GPTBlock(8, 2, { dtype: 'float64' }), new nn.TransformerEncoderBlock(8, 2, { dimFeedforward: 16, dtype: 'float64' })]) {
    assert.ok(block.parameters().every((p) => p.dtype === 'float64'), block.constructor.name);
    assert.equal(block.eval().forward(randn([1, 3, 8], { dtype: 'float64' })).dtype, 'float64');
  }
});

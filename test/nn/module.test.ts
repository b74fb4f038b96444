// Module mechanics: naming, state dicts, modes, freezing, dtype moves, reporting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Module, Parameter, Tensor, manualSeed, nn, ones, randn, tensor, zeros } from '../../src/index.js';

class Attention extends Module {
  c_attn = new nn.Linear(4, 12);
  c_proj = new nn.Linear(4, 4, { bias: false });
  forward(x: Tensor): Tensor { return this.c_proj.forward(this.c_attn.forward(x).narrow(-1, 0, 4)); }
}

class Block extends Module {
  ln_1 = new nn.LayerNorm(4);
  attn = new Attention();
  drop = new nn.Dropout(0.5);
  forward(x: Tensor): Tensor { return x.add(this.attn.forward(this.ln_1.forward(x))); }
}

class TinyModel extends Module {
  wte = new nn.Embedding(10, 4);
  h = [new Block(), new Block()];
  ln_f = new nn.LayerNorm(4);
  lm_head = new nn.Linear(4, 10, { bias: false });
  constructor() {
    super();
    this.lm_head.weight = this.wte.weight; // tied, as GPT-2
  }
}

test('parameter names follow the fields, arrays become .i, shared parameters are listed once', () => {
  const model = new TinyModel();
  const names = model.namedParameters().map(([n]) => n);
  assert.deepEqual(names, [
    'wte.weight',
    'h.0.ln_1.weight', 'h.0.ln_1.bias', 'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias', 'h.0.attn.c_proj.weight',
    'h.1.ln_1.weight', 'h.1.ln_1.bias', 'h.1.attn.c_attn.weight', 'h.1.attn.c_attn.bias', 'h.1.attn.c_proj.weight',
    'ln_f.weight', 'ln_f.bias',
  ]);
  const keys = Object.keys(model.stateDict());
  assert.ok(keys.includes('lm_head.weight'), 'the state dict keeps both names of a tied weight');
  assert.equal(model.numParameters(), 10 * 4 + 2 * (4 + 4 + 48 + 12 + 16) + 8);
  assert.deepEqual(model.namedModules().map(([n]) => n).slice(0, 4), ['', 'wte', 'h.0', 'h.0.ln_1']);
});

test('train() and eval() reach every sub-module', () => {
  const model = new TinyModel();
  model.eval();
  assert.ok(model.modules().every((m) => !m.training));
  model.train();
  assert.ok(model.modules().every((m) => m.training));
  const drop = new nn.Dropout(0.5).eval();
  const x = ones([100]);
  assert.ok(drop.forward(x).equal(x));
  drop.train();
  const y = drop.forward(x).toArray() as number[];
  assert.ok(y.every((v) => v === 0 || v === 2) && y.some((v) => v === 0));
});

test('stateDict -> loadStateDict copies values into another instance', () => {
  manualSeed(1);
  const a = new TinyModel();
  manualSeed(2);
  const b = new TinyModel();
  const x = tensor([[1, 2, 3]]);
  assert.ok(!a.wte.forward(x).equal(b.wte.forward(x)));
  const result = b.loadStateDict(a.stateDict());
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  for (const [name, p] of a.stateDict() ? Object.entries(a.stateDict()) : []) {
    assert.ok(p.equal(b.stateDict()[name]!), name);
  }
});

test('a bad state dict is rejected whole, with every problem listed', () => {
  const model = new TinyModel();
  const before = model.ln_f.weight!.clone();
  const state = model.stateDict();
  delete state['h.1.attn.c_proj.weight'];
  state['h.9.extra'] = zeros([1]);
  state['ln_f.bias'] = zeros([5]);
  state['ln_f.weight'] = zeros([4]);
  assert.throws(() => model.loadStateDict(state), (e: Error) =>
    /missing keys: h\.1\.attn\.c_proj\.weight/.test(e.message) &&
    /unexpected keys: h\.9\.extra/.test(e.message) &&
    /wrong shapes: ln_f\.bias \(expected \[4\], got \[5\]\)/.test(e.message));
  assert.ok(model.ln_f.weight!.equal(before), 'nothing was loaded');
  state['ln_f.bias'] = zeros([4]);
  const result = model.loadStateDict(state, { strict: false });
  assert.deepEqual(result, { missingKeys: ['h.1.attn.c_proj.weight'], unexpectedKeys: ['h.9.extra'] });
  assert.equal(model.ln_f.weight!.sum().item(), 0);
});

test('freeze and unfreeze by name pattern', () => {
  const model = new TinyModel();
  model.freeze();
  assert.equal(model.numParameters({ trainableOnly: true }), 0);
  model.unfreeze('h.1');
  assert.deepEqual(model.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n),
    ['h.1.ln_1.weight', 'h.1.ln_1.bias', 'h.1.attn.c_attn.weight', 'h.1.attn.c_attn.bias', 'h.1.attn.c_proj.weight']);
  model.unfreeze('*.ln_1.*').freeze(/c_attn\.bias$/);
  assert.equal(model.h[0]!.ln_1.weight!.requiresGrad, true);
  assert.equal(model.h[1]!.attn.c_attn.bias!.requiresGrad, false);
  assert.throws(() => model.freeze('nothing.like.this'), /no parameter name matches/);
  model.requiresGrad_(true);
  assert.equal(model.numParameters({ trainableOnly: true }), model.numParameters());
});

test('to(dtype) converts in place and keeps the parameter objects', () => {
  const model = new TinyModel();
  const weight = model.h[0]!.attn.c_attn.weight;
  const values = weight.toArray();
  model.to('float64');
  assert.equal(model.h[0]!.attn.c_attn.weight, weight);
  assert.equal(weight.dtype, 'float64');
  assert.equal(weight.requiresGrad, true);
  assert.equal(weight.isLeaf, true);
  assert.deepEqual(weight.toArray(), values, 'float32 -> float64 is exact');
  const out = model.h[0]!.forward(randn([2, 4], { dtype: 'float64' }));
  out.sum().backward();
  assert.equal(weight.grad!.dtype, 'float64');
});

test('Parameter wraps data without copying and survives scopes', () => {
  const data = ones([2]);
  const p = new Parameter(data);
  assert.equal(p.requiresGrad, true);
  assert.equal(data.requiresGrad, false);
  data.mul_(3);
  assert.deepEqual(p.toArray(), [3, 3], 'shares storage like torch.nn.Parameter');
});

test('toString and summary describe the model', () => {
  const model = new nn.Sequential(new nn.Linear(100, 50), new nn.ReLU(), new nn.Linear(50, 10));
  assert.equal(model.toString(), [
    'Sequential(',
    '  (0): Linear(inFeatures=100, outFeatures=50, bias=true)',
    '  (1): ReLU()',
    '  (2): Linear(inFeatures=50, outFeatures=10, bias=true)',
    ')',
  ].join('\n'));
  const summary = model.summary();
  assert.match(summary, /^Sequential: 5\.6 K parameters \(5,560\), 5\.6 K trainable/);
  assert.match(summary, /0\.weight\s+\[50, 100\]\s+5,000\s+yes/);
});

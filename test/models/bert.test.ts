/**
 * BERT against a reference BERT. test/fixtures/bert_reference.py (Debian's PyTorch, Hugging
 * Face's BERT forward pass written out under its parameter names) wrote a tiny random
 * BertForMaskedLM as a Hugging Face folder (test/fixtures/bert-tiny/: `bert.` prefix, pooler
 * included, tied decoder left out, a position_ids buffer) and the float64 MLM logits and pooled
 * outputs it produces for fixed padded inputs (test/fixtures/bert_tiny.json).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdamW, Tensor, loadSafetensors, manualSeed, readSafetensorsHeader, saveSafetensors, scope, setFusedKernels, tensor } from '../../src/index.js';
import { SeededRandom } from '../../src/data/index.js';
import { bertConfigFromHf, loadBertFolder, saveBertFolder } from '../../src/io/hf-bert.js';
import { BertForMaskedLM, BertForSequenceClassification, BertModel, bertConfig, maskTokens, maskedLmLoss } from '../../src/models/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../test/fixtures');
const tinyFolder = path.join(fixtures, 'bert-tiny');
const referenceScript = path.join(fixtures, 'bert_reference.py');
const systemPython = '/usr/bin/python3';

interface Case {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  mlm_logits: number[][][];
  pooled: number[][];
}
const { cases } = JSON.parse(readFileSync(path.join(fixtures, 'bert_tiny.json'), 'utf8')) as { cases: Case[] };

const scratch = mkdtempSync(path.join(tmpdir(), 'kiln-bert-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ids = (rows: number[][]): Tensor => tensor(rows, { dtype: 'int64' });
const inputsOf = (c: Case) => ({ attentionMask: ids(c.attention_mask), tokenTypeIds: ids(c.token_type_ids) });

/** Largest |got − want| over the elements where `include(index path)` holds. */
function maxAbsDiff(got: Tensor, want: number[] | number[][] | number[][][], include: (b: number, t: number) => boolean = () => true): number {
  const values = got.toTypedArray() as Float32Array;
  const flat: number[] = [];
  const keep: boolean[] = [];
  const walk = (node: unknown, at: number[]): void => {
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, [...at, i]));
    else {
      flat.push(node as number);
      keep.push(include(at[0]!, at[1] ?? 0));
    }
  };
  walk(want, []);
  assert.equal(values.length, flat.length);
  let worst = 0;
  flat.forEach((w, i) => {
    if (keep[i]) worst = Math.max(worst, Math.abs(values[i]! - w));
  });
  return worst;
}

/** MLM logits of every case: the largest deviation from the reference, at real tokens and at padding. */
function mlmDeviation(model: BertForMaskedLM): { tokens: number; padding: number } {
  model.eval();
  return scope(() => {
    let tokens = 0;
    let padding = 0;
    for (const c of cases) {
      const logits = model.forward(ids(c.input_ids), inputsOf(c)); // (B, T, V)
      tokens = Math.max(tokens, maxAbsDiff(logits, c.mlm_logits, (b, t) => c.attention_mask[b]![t] === 1));
      padding = Math.max(padding, maxAbsDiff(logits, c.mlm_logits, (b, t) => c.attention_mask[b]![t] === 0));
    }
    return { tokens, padding };
  });
}

function pooledDeviation(model: BertModel): number {
  model.eval();
  return scope(() => Math.max(...cases.map((c) => maxAbsDiff(model.forward(ids(c.input_ids), inputsOf(c)).pooledOutput!, c.pooled))));
}

function assertSameState(a: BertModel | BertForMaskedLM | BertForSequenceClassification, b: typeof a): void {
  const [before, after] = [a.stateDict(), b.stateDict()];
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  for (const [name, t] of Object.entries(before)) assert.ok(t.equal(after[name]!), `${name} changed in the round trip`);
}

const loaded = loadBertFolder(tinyFolder, { architecture: 'BertForMaskedLM' });
const tiny = loaded.model;

test('the Hugging Face BERT folder reproduces the reference MLM logits and pooled outputs to 1e-4', (t) => {
  assert.deepEqual({ ...tiny.config }, {
    vocabSize: 60, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64, hiddenAct: 'gelu',
    maxPositionEmbeddings: 24, typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, padTokenId: 0,
  });
  // BertForMaskedLM has no pooler: the checkpoint's is ignored, as Transformers does.
  assert.deepEqual(loaded.ignoredKeys.sort(), ['bert.pooler.dense.bias', 'bert.pooler.dense.weight']);
  const { tokens, padding } = mlmDeviation(tiny);
  t.diagnostic(`max |MLM logit - reference| = ${tokens.toExponential(2)} at tokens, ${padding.toExponential(2)} at padding`);
  assert.ok(tokens < 1e-4, `MLM logits deviate by ${tokens}`);
  // Padding positions' outputs are not meaningful, but they are computed as Hugging Face does.
  assert.ok(padding < 1e-4, `MLM logits at padding deviate by ${padding}`);
  assert.equal(tiny.cls.predictions.decoder.weight, tiny.bert.embeddings.word_embeddings.weight);

  const { model: body, ignoredKeys } = loadBertFolder(tinyFolder, { architecture: 'BertModel' });
  assert.ok(ignoredKeys.every((k) => k.startsWith('cls.')) && ignoredKeys.length === 5, ignoredKeys.join(', '));
  const pooled = pooledDeviation(body);
  t.diagnostic(`max |pooled - reference| = ${pooled.toExponential(2)}`);
  assert.ok(pooled < 1e-4, `pooled outputs deviate by ${pooled}`);
});

test('padding changes nothing at real tokens; no mask equals an all-ones mask', () => {
  tiny.eval();
  scope(() => {
    const c = cases[0]!;
    const real = c.attention_mask[0]!.filter((m) => m === 1).length;
    const withPad = tiny.forward(ids([c.input_ids[0]!]), { attentionMask: ids([c.attention_mask[0]!]) }).narrow(1, 0, real);
    const otherPad = c.input_ids[0]!.map((id, i) => (i < real ? id : 50 + i - real));
    const withOther = tiny.forward(ids([otherPad]), { attentionMask: ids([c.attention_mask[0]!]) }).narrow(1, 0, real);
    const unpadded = tiny.forward(ids([c.input_ids[0]!.slice(0, real)]));
    assert.ok(withPad.sub(withOther).abs().max().item() < 1e-5);
    assert.ok(withPad.sub(unpadded).abs().max().item() < 1e-5);
    const boolMask = tiny.forward(ids([c.input_ids[0]!]), { attentionMask: tensor([c.attention_mask[0]!.map((m) => m === 1)]) }).narrow(1, 0, real);
    assert.ok(withPad.equal(boolMask));
    const full = ids([c.input_ids[1]!]);
    const ones = tiny.forward(full, { attentionMask: ids([c.attention_mask[1]!]) });
    // without a mask attention takes the fused kernel, with an all-ones mask ATen's composition:
    // equal to rounding, and bit for bit once both take the composition
    assert.ok(tiny.forward(full).sub(ones).abs().max().item() < 1e-5);
    const before = setFusedKernels(false);
    try {
      assert.ok(tiny.forward(full).equal(ones));
    } finally {
      setFusedKernels(before);
    }
  });
});

test('save -> load round trips are bit-exact for BertForMaskedLM and BertForSequenceClassification', () => {
  const mlmDir = path.join(scratch, 'mlm');
  saveBertFolder(tiny, mlmDir);
  const again = loadBertFolder(mlmDir);
  assert.ok(again.model instanceof BertForMaskedLM);
  assert.deepEqual([again.ignoredKeys, again.newlyInitialized], [[], []]);
  assertSameState(tiny, again.model);

  const header = readSafetensorsHeader(path.join(mlmDir, 'model.safetensors'));
  assert.deepEqual(header.metadata, { format: 'pt' });
  const names = Object.keys(header.tensors);
  assert.ok(names.includes('bert.encoder.layer.1.attention.self.query.weight'));
  assert.ok(names.includes('bert.encoder.layer.0.attention.output.LayerNorm.weight'));
  assert.ok(names.includes('cls.predictions.transform.LayerNorm.bias'));
  assert.ok(names.includes('cls.predictions.bias'));
  assert.ok(!names.includes('cls.predictions.decoder.weight'), 'the tied decoder is left out, as Transformers does');
  assert.ok(!names.some((n) => n.startsWith('bert.pooler.')));
  assert.equal(names.length, 5 + 16 * 2 + 4 + 1);
  const config = JSON.parse(readFileSync(path.join(mlmDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(
    [config['model_type'], config['architectures'], config['hidden_act'], config['position_embedding_type'], config['vocab_size'], config['hidden_size'], config['layer_norm_eps']],
    ['bert', ['BertForMaskedLM'], 'gelu', 'absolute', 60, 32, 1e-12],
  );
  assert.deepEqual(Object.keys(config), Object.keys(config).sort());

  // Fine-tuning start: the masked-LM checkpoint as a classifier (new head, cls.* ignored).
  manualSeed(5);
  const classifier = loadBertFolder(tinyFolder, { architecture: 'BertForSequenceClassification', numLabels: 3 });
  assert.deepEqual(classifier.newlyInitialized.sort(), ['classifier.bias', 'classifier.weight']);
  assert.ok(classifier.ignoredKeys.some((k) => k === 'cls.predictions.bias'));
  assert.ok(pooledDeviation(classifier.model.bert) < 1e-4);
  const clsDir = path.join(scratch, 'classifier');
  saveBertFolder(classifier.model, clsDir);
  const reloaded = loadBertFolder(clsDir);
  assert.ok(reloaded.model instanceof BertForSequenceClassification);
  assert.equal((reloaded.model as BertForSequenceClassification).numLabels, 3);
  assertSameState(classifier.model, reloaded.model);
  const clsConfig = JSON.parse(readFileSync(path.join(clsDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(clsConfig['id2label'], { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
  assert.deepEqual(scope(() => classifier.model.forward(ids([[2, 5, 3]])).shape), [1, 3]);
});

test('Kiln-saved folders reload through the reference script with matching outputs', (t) => {
  // npm test's set-up installs Debian's python3-torch for this cross-check.
  const probe = spawnSync(systemPython, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `${systemPython} cannot import torch; run 'bash scripts/setup.sh --test' (installs python3-torch)`);
  const mlmDir = path.join(scratch, 'verify-mlm');
  saveBertFolder(tiny, mlmDir);
  const { model: body } = loadBertFolder(tinyFolder, { architecture: 'BertModel' });
  const bodyDir = path.join(scratch, 'verify-body');
  saveBertFolder(body, bodyDir);
  for (const [dir, checked] of [[mlmDir, ['mlm_logits']], [bodyDir, ['pooled']]] as const) {
    const run = spawnSync(systemPython, [referenceScript, 'verify', dir], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const verdict = JSON.parse(run.stdout) as { match: boolean; max_abs_diff: number; checked: string[] };
    t.diagnostic(`reference script on ${path.basename(dir)}: max |output - expected| = ${verdict.max_abs_diff}`);
    assert.equal(verdict.match, true);
    assert.deepEqual(verdict.checked, checked);
  }
});

test('legacy gamma/beta names, no prefix, tied decoder keys and buffers load; an untied decoder is refused', () => {
  const dir = path.join(scratch, 'legacy');
  cpSync(tinyFolder, dir, { recursive: true });
  const weights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  const legacy: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(weights)) {
    const renamed = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    legacy[renamed.startsWith('bert.') ? renamed.slice(5) : renamed] = t;
  }
  legacy['cls.predictions.decoder.weight'] = weights['bert.embeddings.word_embeddings.weight']!;
  legacy['cls.predictions.decoder.bias'] = weights['cls.predictions.bias']!;
  legacy['cls.seq_relationship.weight'] = tensor([[1, 2]], { dtype: 'float32' });
  legacy['embeddings.token_type_ids'] = tensor([[0, 0]]);
  saveSafetensors(path.join(dir, 'model.safetensors'), legacy);
  const { model, ignoredKeys } = loadBertFolder(dir);
  assert.ok(model instanceof BertForMaskedLM);
  assert.ok(ignoredKeys.includes('cls.seq_relationship.weight'));
  assert.ok(mlmDeviation(model as BertForMaskedLM).tokens < 1e-4);

  legacy['cls.predictions.decoder.weight'] = weights['bert.embeddings.word_embeddings.weight']!.add(1);
  saveSafetensors(path.join(dir, 'model.safetensors'), legacy);
  assert.throws(() => loadBertFolder(dir), /cls\.predictions\.decoder\.weight differs from the word embeddings/);
});

test('missing, unexpected and misshapen weights are errors that list them', () => {
  const dir = path.join(scratch, 'broken');
  cpSync(tinyFolder, dir, { recursive: true });
  const weights = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  delete weights['bert.encoder.layer.1.output.LayerNorm.bias'];
  delete weights['cls.predictions.bias'];
  weights['bert.encoder.layer.0.attention.self.rotary'] = tensor([1, 2], { dtype: 'float32' });
  saveSafetensors(path.join(dir, 'model.safetensors'), weights);
  assert.throws(() => loadBertFolder(dir), (error: Error) => {
    assert.match(error.message, /BERT folder .*broken: the weights do not match config\.json's BertForMaskedLM/);
    assert.match(error.message, /missing keys: bert\.encoder\.layer\.1\.output\.LayerNorm\.bias, cls\.predictions\.bias/);
    assert.match(error.message, /unexpected keys: bert\.encoder\.layer\.0\.attention\.self\.rotary/);
    return true;
  });

  const original = loadSafetensors(path.join(tinyFolder, 'model.safetensors')).tensors;
  original['bert.encoder.layer.0.intermediate.dense.weight'] = original['bert.encoder.layer.0.intermediate.dense.weight']!.t().contiguous();
  saveSafetensors(path.join(dir, 'model.safetensors'), original);
  assert.throws(() => loadBertFolder(dir), /wrong shapes: bert\.encoder\.layer\.0\.intermediate\.dense\.weight \(expected \[64, 32\], got \[32, 64\]\)/);

  // Without the architecture override, another head's weights are unexpected, not ignored.
  const body = path.join(scratch, 'body-with-classifier');
  saveBertFolder(loadBertFolder(tinyFolder, { architecture: 'BertModel' }).model, body);
  const bodyWeights = loadSafetensors(path.join(body, 'model.safetensors')).tensors;
  bodyWeights['classifier.weight'] = tensor([[1, 2]], { dtype: 'float32' });
  saveSafetensors(path.join(body, 'model.safetensors'), bodyWeights);
  assert.throws(() => loadBertFolder(body), /unexpected keys: classifier\.weight/);

  rmSync(path.join(dir, 'model.safetensors'));
  assert.throws(() => loadBertFolder(dir), /no model\.safetensors or model\.safetensors\.index\.json/);
});

test('unsupported BERT configs are refused with what is supported', () => {
  const base = JSON.parse(readFileSync(path.join(tinyFolder, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.throws(() => bertConfigFromHf({ ...base, position_embedding_type: 'relative_key' }), /position_embedding_type = "relative_key" is not supported \(Kiln's BERT needs "absolute"/);
  assert.throws(() => bertConfigFromHf({ ...base, hidden_act: 'gelu_new' }), /hidden_act = "gelu_new" is not supported/);
  assert.throws(() => bertConfigFromHf({ ...base, architectures: ['BertForQuestionAnswering'] }), /architecture BertForQuestionAnswering is not supported; supported: BertModel, BertForMaskedLM, BertForSequenceClassification/);
  assert.throws(() => bertConfigFromHf({ ...base, model_type: 'roberta' }), /model_type 'roberta' is not supported/);
  assert.throws(() => bertConfigFromHf({ ...base, is_decoder: true }), /is_decoder = true is not supported/);
  assert.throws(() => bertConfigFromHf({ ...base, tie_word_embeddings: false }), /tie_word_embeddings = false is not supported/);
  assert.throws(() => bertConfigFromHf({ ...base, problem_type: 'regression' }), /problem_type = "regression" is not supported/);
  const { hidden_size: _, ...noWidth } = base;
  assert.throws(() => bertConfigFromHf(noWidth), /config\.json lacks 'hidden_size'/);
  const { num_hidden_layers: __, ...noDepth } = base;
  assert.throws(() => bertConfigFromHf(noDepth, 'x'), /^ModelFolderError: BERT folder x: config\.json lacks 'num_hidden_layers'$/);
  assert.throws(() => bertConfigFromHf({ ...base, num_attention_heads: 5 }), /hiddenSize \(32\) must be divisible by numAttentionHeads \(5\)/);
  assert.equal(bertConfigFromHf({ ...base, architectures: ['BertForSequenceClassification'], id2label: { 0: 'ham', 1: 'spam', 2: 'eggs' } }).numLabels, 3);

  const dir = path.join(scratch, 'bad-config');
  cpSync(tinyFolder, dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), '{"vocab_size": 60,');
  assert.throws(() => loadBertFolder(dir), /config\.json is not valid JSON/);

  assert.throws(() => bertConfig({ numLayers: 2 } as never), /unknown key 'numLayers'; the keys are vocabSize, hiddenSize/);
  assert.throws(() => bertConfig({ hiddenDropout: 1 }), /hiddenDropout must be in \[0, 1\)/);
  assert.throws(() => bertConfig({ hiddenAct: 'relu' as never }), /hiddenAct 'relu' is not supported/);
  assert.throws(() => bertConfig({ vocabSize: 10, padTokenId: 10 }), /padTokenId must be a token id in \[0, 10\)/);
  assert.equal(bertConfig().hiddenSize, 768);
});

test('forward rejects bad ids, masks and token types with the shapes involved', () => {
  assert.throws(() => tiny.forward(ids([Array.from({ length: 25 }, () => 5)])), /the sequence has 25 tokens but the model has 24 positions/);
  assert.throws(() => tiny.forward(ids([[1, 60]])), /token ids \(vocabSize\) must be in \[0, 60\), got values from 1 to 60/);
  assert.throws(() => tiny.forward(tensor([[1, 2]], { dtype: 'float32' })), /ids must be \(B, T\) int64 token ids, got float32 of shape \[1, 2\]/);
  assert.throws(() => tiny.forward(ids([[1, 2]]), { attentionMask: ids([[1, 1, 1]]) }), /attentionMask must be \(B, T\) = \[1, 2\]/);
  assert.throws(() => tiny.forward(ids([[1, 2]]), { tokenTypeIds: ids([[0, 2]]) }), /tokenTypeIds \(typeVocabSize\) must be in \[0, 2\)/);
  assert.throws(() => tiny.loss(ids([[1, 2]]), tensor([1, 2], { dtype: 'int64' })), /labels must be int64 shaped like ids \[1, 2\]/);
});

test('BERT initialisation: N(0, 0.02) weights, zero biases, LayerNorm ones, zero padding row, tied decoder', () => {
  manualSeed(0);
  const model = new BertForMaskedLM({ vocabSize: 1000, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 256, padTokenId: 3 });
  const std = (t: Tensor): number => scope(() => t.std().item());
  const near = (got: number, name: string): void => assert.ok(Math.abs(got / 0.02 - 1) < 0.05, `${name}: std ${got}, expected ≈ 0.02`);
  const { embeddings, encoder } = model.bert;
  near(std(embeddings.word_embeddings.weight), 'word_embeddings');
  near(std(embeddings.position_embeddings.weight), 'position_embeddings');
  assert.equal(scope(() => embeddings.word_embeddings.weight.select(0, 3).abs().max().item()), 0);
  for (const layer of encoder.layer) {
    near(std(layer.attention.self.query.weight), 'query');
    near(std(layer.intermediate.dense.weight), 'intermediate.dense');
    near(std(layer.output.dense.weight), 'output.dense');
    for (const bias of [layer.attention.self.key.bias, layer.attention.output.dense.bias, layer.output.LayerNorm.bias]) {
      assert.equal(scope(() => bias!.abs().max().item()), 0);
    }
    assert.equal(scope(() => layer.attention.output.LayerNorm.weight!.sub(1).abs().max().item()), 0);
  }
  near(std(model.cls.predictions.transform.dense.weight), 'transform.dense');
  assert.equal(scope(() => model.cls.predictions.bias.abs().max().item()), 0);
  assert.equal(model.cls.predictions.decoder.weight, embeddings.word_embeddings.weight);
  assert.equal(model.bert.pooler, null);
  assert.ok(!model.namedParameters().some(([name]) => name === 'cls.predictions.decoder.weight'));
  const classifier = new BertForSequenceClassification({ vocabSize: 100, hiddenSize: 256, numHiddenLayers: 1, numAttentionHeads: 4, intermediateSize: 64 }, { numLabels: 64 });
  near(std(classifier.classifier.weight), 'classifier');
});

test('maskTokens: ≈15% picked, 80/10/10, specials never picked, reproducible with a seed', (t) => {
  const special = [0, 1, 2, 3]; // [PAD], [CLS], [SEP], [MASK]
  const vocabSize = 1000;
  const rows = 200;
  const T = 500;
  const random = new SeededRandom(42);
  const source = Array.from({ length: rows }, (_, r) => Array.from({ length: T }, (_, i) => (i === 0 ? 1 : i === T - 1 ? 2 : r % 4 === 0 && i > 400 ? 0 : 4 + random.int(vocabSize - 4))));
  const options = { maskTokenId: 3, vocabSize, specialIds: special, seed: 7 };
  const { input, labels } = maskTokens(ids(source), options);
  assert.deepEqual([input.shape, labels.shape, input.dtype, labels.dtype], [[rows, T], [rows, T], 'int64', 'int64']);
  const inp = input.toArray() as number[][];
  const lab = labels.toArray() as number[][];
  let eligible = 0;
  let picked = 0;
  let masked = 0;
  let randomised = 0;
  let kept = 0;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < T; i++) {
      const id = source[r]![i]!;
      if (special.includes(id)) {
        assert.equal(lab[r]![i], -100, 'a special token was picked');
        assert.equal(inp[r]![i], id);
        continue;
      }
      eligible++;
      if (lab[r]![i] === -100) {
        assert.equal(inp[r]![i], id, 'an unpicked token changed');
        continue;
      }
      picked++;
      assert.equal(lab[r]![i], id, 'the label is the original token');
      if (inp[r]![i] === 3) masked++;
      else if (inp[r]![i] === id) kept++;
      else randomised++;
    }
  }
  // A random replacement equals the original with chance 1/V; those count as kept (≈ 0.01%).
  const share = (n: number): number => n / picked;
  t.diagnostic(`picked ${(picked / eligible * 100).toFixed(2)}% of ${eligible}; [MASK] ${(share(masked) * 100).toFixed(2)}%, random ${(share(randomised) * 100).toFixed(2)}%, unchanged ${(share(kept) * 100).toFixed(2)}%`);
  // ~95,000 eligible tokens, ~14,000 picked: the binomial std of each share is < 0.4 percentage points.
  assert.ok(Math.abs(picked / eligible - 0.15) < 0.005, `picked ${picked / eligible}`);
  assert.ok(Math.abs(share(masked) - 0.8) < 0.015, `[MASK] share ${share(masked)}`);
  assert.ok(Math.abs(share(randomised) - 0.1) < 0.01, `random share ${share(randomised)}`);
  assert.ok(Math.abs(share(kept) - 0.1) < 0.01, `unchanged share ${share(kept)}`);

  const again = maskTokens(ids(source), options);
  assert.ok(again.input.equal(input) && again.labels.equal(labels), 'the same seed gave a different masking');
  const other = maskTokens(ids(source), { ...options, seed: 8 });
  assert.ok(!other.labels.equal(labels));
  // A shared generator masks each call differently, reproducibly.
  const [g1, g2] = [new SeededRandom(3), new SeededRandom(3)];
  const small = ids([source[0]!.slice(0, 50)]);
  const a = [maskTokens(small, { maskTokenId: 3, vocabSize, specialIds: special, generator: g1 }), maskTokens(small, { maskTokenId: 3, vocabSize, specialIds: special, generator: g1 })];
  const b = [maskTokens(small, { maskTokenId: 3, vocabSize, specialIds: special, generator: g2 }), maskTokens(small, { maskTokenId: 3, vocabSize, specialIds: special, generator: g2 })];
  assert.ok(a[0]!.labels.equal(b[0]!.labels) && a[1]!.labels.equal(b[1]!.labels));
  assert.ok(!a[0]!.labels.equal(a[1]!.labels));

  assert.throws(() => maskTokens(small, { maskTokenId: 3, vocabSize }), /pass exactly one of seed .* or generator/);
  assert.throws(() => maskTokens(small, { maskTokenId: 1000, vocabSize, seed: 1 }), /maskTokenId must be a token id in \[0, 1000\)/);
  assert.throws(() => maskTokens(small, { maskTokenId: 3, vocabSize, seed: 1, probability: 1.5 }), /probability must be in \[0, 1\]/);
});

test('maskedLmLoss is the mean cross-entropy over labelled positions, 0 when none is', () => {
  scope(() => {
    const logits = tensor([[[2, 0, -1], [0.5, 0.5, 0], [1, -2, 3]]], { dtype: 'float32' }); // (1, 3, 3)
    const labels = ids([[0, -100, 2]]);
    const lse = (row: number[]): number => Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
    const want = ((lse([2, 0, -1]) - 2) + (lse([1, -2, 3]) - 3)) / 2;
    assert.ok(Math.abs(maskedLmLoss(logits, labels).item() - want) < 1e-6);
    assert.equal(maskedLmLoss(logits, ids([[-100, -100, -100]])).item(), 0);
  });
});

test('a tiny BERT learns a small repeated corpus: MLM loss falls well below ln(vocab)', (t) => {
  manualSeed(3);
  const vocabSize = 40; // 0 [PAD], 1 [CLS], 2 [SEP], 3 [MASK], words 4..39
  const model = new BertForMaskedLM({ vocabSize, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64, maxPositionEmbeddings: 16, hiddenDropout: 0, attentionDropout: 0 });
  const sentences = [
    [4, 5, 6, 7, 8, 9, 10, 11, 12],
    [13, 14, 15, 16, 17, 18],
    [19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29],
    [30, 31, 32, 33, 34, 35, 36, 37, 38, 39],
  ];
  const T = 13;
  const batchRows = sentences.flatMap((s) => [s, s, s, s]).map((s) => [1, ...s, 2, ...Array<number>(T - s.length - 2).fill(0)]);
  const attention = batchRows.map((row) => row.map((id) => (id === 0 ? 0 : 1)));
  const batch = ids(batchRows);
  const attentionMask = ids(attention);
  const generator = new SeededRandom(11);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  const started = Date.now();
  let recent: number[] = [];
  for (let step = 0; step < 60; step++) {
    const loss = scope(() => {
      const { input, labels } = maskTokens(batch, { maskTokenId: 3, vocabSize, specialIds: [0, 1, 2, 3], generator, probability: 0.3 });
      optimizer.zeroGrad();
      const value = model.loss(input, labels, { attentionMask });
      value.backward();
      optimizer.step();
      return value.item();
    });
    recent = [...recent.slice(-9), loss];
  }
  const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
  t.diagnostic(`mean MLM loss over the last 10 steps ${mean.toFixed(3)} (ln V = ${Math.log(vocabSize).toFixed(3)}) in ${Date.now() - started} ms`);
  assert.ok(mean < 0.5 * Math.log(vocabSize), `MLM loss ${mean} is not well below ln(${vocabSize})`);
});

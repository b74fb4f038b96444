/**
 * Metric learning: ArcFace's loss against its formula computed by hand, recognition scores
 * (identification, ROC AUC) in closed form, the digit-instance identities, a folder of identities
 * split into training, validation and test identities, and a short run whose embedding identifies
 * unseen identities better than the one it started from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tensor } from '../../src/tensor/creation.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { runImageClassification } from '../../src/vision/image-run.js';
import { digitInstances } from '../../src/vision/embedding/digit-instances.js';
import { evaluateEmbeddingFolder, runEmbedding } from '../../src/vision/embedding/embed-run.js';
import { ArcFaceLoss, recognitionScores } from '../../src/vision/embedding/metric-learning.js';
import { loadImageClassifier } from '../../src/vision/image-model-folder.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { scratchFolder } from '../models/reference.js';

test("ArcFace's loss equals its formula: s·cos(θ_y + m) for the true identity, s·cos θ_j for the others, then cross-entropy", () => {
  const loss = new ArcFaceLoss(3, 2, 0.4, 10);
  noGrad(() => loss.weight.copy_(tensor([[1, 0], [0, 2], [-1, -1]])));
  const embeddings = [[3, 4], [-1, 0.2]];
  const identities = [1, 0];
  const got = loss.forward(tensor(embeddings), tensor(identities).long()).item();
  const centres = [[1, 0], [0, 1], [-Math.SQRT1_2, -Math.SQRT1_2]];
  let want = 0;
  embeddings.forEach((e, i) => {
    const n = Math.hypot(e[0]!, e[1]!);
    const cos = centres.map((c) => (e[0]! * c[0]! + e[1]! * c[1]!) / n);
    const logits = cos.map((c, k) => {
      if (k !== identities[i]) return 10 * c;
      const theta = Math.acos(c);
      return 10 * (c > Math.cos(Math.PI - 0.4) ? Math.cos(theta + 0.4) : c - Math.sin(Math.PI - 0.4) * 0.4);
    });
    const max = Math.max(...logits);
    want += -(logits[identities[i]!]! - max - Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0)));
  });
  want /= embeddings.length;
  assert.ok(Math.abs(got - want) < 1e-4, `${got} vs ${want}`);
});

test('recognition scores in closed form: nearest-neighbour identification and the ROC AUC of pair similarities', () => {
  const e = (x: number, y: number) => Float32Array.from([x, y].map((v) => v / Math.hypot(x, y)));
  // Identity 0 near (1, 0), identity 1 near (0, 1); one query of identity 1 sits nearer identity 0.
  const embeddings = [e(1, 0), e(1, 0.1), e(0, 1), e(0.1, 1), e(1, 0.3)];
  const identities = [0, 0, 1, 1, 1];
  const scores = recognitionScores(embeddings, identities, 1, 3);
  assert.equal(scores.gallery, 2);
  assert.equal(scores.queries, 3);
  assert.equal(scores.pairs, 10);
  // Whatever the gallery draw, the query (1, 0.3) of identity 1 is nearer identity 0's image: at most 2 of 3 right.
  assert.ok(scores.identification <= 2 / 3 + 1e-12);
  // AUC by hand: positives (0,1), (2,3), (2,4), (3,4); negatives the other 6 pairs.
  const sim = (i: number, j: number) => embeddings[i]!.reduce((s, v, k) => s + v * embeddings[j]![k]!, 0);
  const pos = [[0, 1], [2, 3], [2, 4], [3, 4]].map(([i, j]) => sim(i!, j!));
  const neg = [[0, 2], [0, 3], [0, 4], [1, 2], [1, 3], [1, 4]].map(([i, j]) => sim(i!, j!));
  const wins = pos.reduce((s, p) => s + neg.reduce((t, n) => t + (p > n ? 1 : p === n ? 0.5 : 0), 0), 0);
  assert.ok(Math.abs(scores.verificationAuc - wins / 24) < 1e-6, `${scores.verificationAuc} vs ${wins / 24}`);
  assert.equal(recognitionScores([e(1, 0), e(0, 1), e(1, 0.01), e(0.01, 1)], [0, 1, 0, 1], 1).identification, 1);
});

test('digit instances: each identity one MNIST digit, its views differ, the same arguments give the same images', () => {
  const a = digitInstances({ split: 'train', identities: 5, views: 4, seed: 1 });
  assert.equal(a.length, 20);
  assert.deepEqual(Array.from(a.labels.slice(0, 8)), [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.match(a.classNames[0]!, /^train#0 \(5\)$/); // MNIST's first training digit is a 5
  assert.deepEqual(digitInstances({ split: 'train', identities: 5, views: 4, seed: 1 }).data, a.data);
  const views = [0, 1, 2, 3].map((k) => a.data.subarray(k * 784, (k + 1) * 784));
  assert.notDeepEqual(views[0], views[1]);
  const ink = (v: Uint8Array) => v.reduce((s, x) => s + x, 0);
  assert.ok(views.every((v) => ink(v) > 10_000), 'every view keeps its digit in the frame');
  assert.throws(() => digitInstances({ split: 'test', identities: 10, first: 9995 }), /not within MNIST's 10000 test images/);
});

test('metric learning: a run from a pretrained classifier identifies unseen identities better than its starting embedding; folders of identities are split by identity', async () => {
  const dir = scratchFolder('kiln-embed-');
  await runImageClassification({ data: 'mnist', classes: [0, 1, 2, 3, 4], maxSteps: 60, evalEvery: 60, valSize: 200, batchSize: 64, threads: 1, out: path.join(dir, 'cls') });
  const run = await runEmbedding({ from: path.join(dir, 'cls'), identities: 200, views: 6, valIdentities: 30, testIdentities: 60, maxSteps: 120, evalEvery: 60, threads: 1, seed: 1, out: path.join(dir, 'embed') });
  assert.ok(run.start !== null && run.test !== null);
  assert.ok(run.test.identification > run.start.identification + 0.1, `identification ${run.start.identification} → ${run.test.identification}`);
  assert.ok(run.test.verificationAuc > run.start.verificationAuc, `AUC ${run.start.verificationAuc} → ${run.test.verificationAuc}`);
  assert.equal(run.trainIdentities, 200);
  assert.equal(loadImageClassifier(run.bestDir).model.numClasses, 128);
  const again = await evaluateEmbeddingFolder(run.bestDir, 'digit-instances', { identities: 60, views: 6 });
  // kiln evaluate --task embed: the run's test identities, the same scores (to the last bits the thread count changes).
  assert.ok(Math.abs(again.identification - run.test.identification) < 1e-9 && Math.abs(again.verificationAuc - run.test.verificationAuc) < 1e-6, `${JSON.stringify(again)} vs ${JSON.stringify(run.test)}`);

  // Stopped at its first checkpoint and resumed: the uninterrupted run's weights (ArcFace's centres too) exactly.
  const short = { from: path.join(dir, 'cls'), identities: 50, views: 4, valIdentities: 10, testIdentities: 0, maxSteps: 20, evalEvery: 10, batchSize: 16, threads: 1, seed: 3 };
  const whole = await runEmbedding({ ...short, out: path.join(dir, 'whole') });
  const controller = new AbortController();
  const out = path.join(dir, 'stopped');
  await runEmbedding({ ...short, out }, { signal: controller.signal, onLog: (log, { isEval }) => { if (isEval && log.step === 10) controller.abort(); } });
  const resumed = await runEmbedding({ ...short, out }, { resume: true });
  assert.equal(resumed.step, 20);
  const a = loadSafetensors(path.join(whole.out, 'state', 'model-20', 'weights.safetensors')).tensors;
  const b = loadSafetensors(path.join(out, 'state', 'model-20', 'weights.safetensors')).tensors;
  assert.ok(Object.keys(a).some((k) => k.startsWith('arcface.')));
  for (const [name, value] of Object.entries(a)) assert.ok(value.equal(b[name]!), `${name} differs after resume`);

  // A folder of 8 identities: 1 for validation, 2 for the test, 5 to train on.
  const people = path.join(dir, 'people');
  const faces = digitInstances({ split: 'test', identities: 8, views: 3, seed: 4 });
  for (let i = 0; i < faces.length; i++) {
    const who = path.join(people, `person${faces.labels[i]}`);
    mkdirSync(who, { recursive: true });
    writeFileSync(path.join(who, `${i}.png`), await sharp(Buffer.from(faces.data.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
  }
  const small = await runEmbedding({ data: people, channels: 1, imageSize: 28, valIdentities: 1, testIdentities: 2, embeddingSize: 16, maxSteps: 3, evalEvery: 3, batchSize: 4, threads: 1, out: path.join(dir, 'folder') });
  assert.equal(small.trainIdentities, 5);
  assert.equal(small.trainImages, 15);
  assert.equal(small.test?.gallery, 2);
  await assert.rejects(runEmbedding({ data: people, valIdentities: 3, testIdentities: 4, out: path.join(dir, 'x') }), /has 8 identities; holding out 3 for validation and 4 for the test leaves fewer than 2/);
});

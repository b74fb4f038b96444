/**
 * A two-layer network written with Kiln's tensors and autograd alone (no nn, no optimizer),
 * learning to separate two interleaved spirals.
 *
 *   npm run build:ts && node dist/examples/engine-demo.js
 *
 * B = batch (points), D = 2 input coordinates, H = hidden units, C = 2 classes.
 */
import { pathToFileURL } from 'node:url';
import { F, Tensor, cat, getNumThreads, manualSeed, noGrad, randn, stack, tensor, buildInfo } from '../src/index.js';

function spirals(pointsPerClass: number): { x: Tensor; y: Tensor } {
  const coords: number[] = [];
  const labels: number[] = [];
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < pointsPerClass; i++) {
      const r = i / pointsPerClass;
      const angle = 3 * r * Math.PI + c * Math.PI;
      coords.push(r * Math.cos(angle), r * Math.sin(angle));
      labels.push(c);
    }
  }
  return {
    x: tensor(new Float32Array(coords), { shape: [2 * pointsPerClass, 2] }).mul(3), // (B, D)
    y: tensor(labels), // (B) int64
  };
}

export interface SpiralOptions {
  /** @default 3000 */
  steps?: number;
  /** @default console.log */
  log?: (line: string) => void;
}

export function trainSpirals(options: SpiralOptions = {}): { accuracy: number } {
  const steps = options.steps ?? 3000;
  const log = options.log ?? console.log;
  manualSeed(0);
  const info = buildInfo();
  log(`Kiln engine demo: libtorch ${info.torchVersion}, ${getNumThreads()} threads`);
  const { x, y } = spirals(200);
  const hidden = 64;
  // Parameters as plain leaf tensors; scaled like PyTorch's default Linear init.
  const w1 = randn([2, hidden]).mul(1 / Math.sqrt(2)).requiresGrad_(); // (D, H)
  const b1 = randn([hidden]).mul(0.1).requiresGrad_();
  const w2 = randn([hidden, 2]).mul(1 / Math.sqrt(hidden)).requiresGrad_(); // (H, C)
  const b2 = randn([2]).mul(0.1).requiresGrad_();
  const params = [w1, b1, w2, b2];
  const lr = 0.3;
  const started = Date.now();
  let accuracy = 0;
  for (let step = 0; step <= steps; step++) {
    const logits = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2); // (B, C)
    const loss = F.crossEntropy(logits, y);
    loss.backward();
    noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(lr));
        p.grad!.zero_();
      }
    });
    if (step % 500 === 0 || step === steps) {
      accuracy = logits.argmax(1).eq(y).float().mean().item();
      log(`step ${String(step).padStart(4)}  loss ${loss.item().toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const grid = stack([tensor([-0.5, 0, 0.5]), tensor([0.5, 0, -0.5])], 1); // (3, D)
  const probs = noGrad(() => grid.matmul(w1).add(b1).tanh().matmul(w2).add(b2).softmax(1));
  log(`trained in ${seconds.toFixed(1)} s; class probabilities at three points:`);
  log(cat([grid, probs], 1).toString());
  return { accuracy };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) trainSpirals();

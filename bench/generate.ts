/**
 * `npm run bench:generate`: greedy generation speed, Kiln with its key/value cache against
 * PyTorch generating with a cache (bench/generate_torch.py, GPT-2 in plain PyTorch, the cache
 * grown by torch.cat as Hugging Face's DynamicCache does), same model and weights, at prompts
 * of 64, 512 and 1024 tokens; and Kiln without its cache at 1024.
 *
 * The model is a GPT-2 of 6 layers, width 512, 8 heads, 8,192-token vocabulary and 1,088
 * positions with random weights (N(0, 0.05): decisive greedy choices), saved once as a GPT-2
 * folder both sides read. Each measurement is a fresh process that loads the model, generates 4
 * tokens untimed, then times `--new-tokens` (default 64) new tokens after the prompt (prompt
 * read included). Rounds alternate Kiln and PyTorch (order flipped each round) with the same
 * threads and environment; medians and the per-round ratio range are printed, then one JSON line.
 *
 *   npm run bench:generate -- [--rounds 5] [--new-tokens 64]
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads, manualSeed, noGrad, tensor } from '../src/index.js';
import { loadGpt2Folder, saveGpt2Folder } from '../src/io/hf-gpt2.js';
import { GPT } from '../src/models/gpt.js';
import { normal_ } from '../src/nn/init.js';
import { packageRoot } from '../src/tensor/native.js';
import { PYTHON, checkPythonTorch, median, round, runChild } from './torch-side.js';

const CONTEXTS = [64, 512, 1024];
const MODEL = { vocabSize: 8192, blockSize: 1088, nLayer: 6, nHead: 8, nEmbd: 512 };
const WORKER = '--worker';

interface Sample {
  tokens_per_s: number;
  seconds: number;
  tokens: number[];
}

function parseArgs(argv: string[]): { rounds: number; newTokens: number } {
  const args = { rounds: 5, newTokens: 64 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = { '--rounds': 'rounds', '--new-tokens': 'newTokens' }[argv[i]!] as keyof typeof args | undefined;
    const n = Number(argv[i + 1]);
    if (key === undefined || !Number.isInteger(n) || n < 1) throw new Error(`usage: npm run bench:generate -- [--rounds N] [--new-tokens N]; got ${argv.slice(i, i + 2).join(' ')}`);
    args[key] = n;
  }
  if (1024 + args.newTokens > MODEL.blockSize) throw new Error(`--new-tokens ${args.newTokens}: a 1024-token prompt leaves room for ${MODEL.blockSize - 1024}`);
  return args;
}

/** The benchmark's model folder, made once (seeded). */
function modelFolder(): string {
  const dir = path.join(packageRoot(), 'runs', 'bench-generate', 'model');
  if (!existsSync(path.join(dir, 'model.safetensors'))) {
    manualSeed(1234);
    const model = new GPT(MODEL);
    noGrad(() => {
      for (const p of model.parameters()) if (p.ndim === 2) normal_(p, 0, 0.05);
    });
    mkdirSync(dir, { recursive: true });
    saveGpt2Folder(model, dir);
  }
  return dir;
}

/** One Kiln measurement, in this (fresh) process. */
function kilnWorker(argv: string[]): void {
  const [dir, context, newTokens, cache] = argv;
  const { model } = loadGpt2Folder(dir!);
  model.eval();
  const V = model.config.vocabSize;
  const prompt = tensor([Array.from({ length: Number(context) }, (_, i) => (31 * i + 7) % V)], { dtype: 'int64' });
  const useCache = cache === 'cache';
  model.generate(prompt.narrow(1, 0, 8), { maxNewTokens: 4, temperature: 0, useCache });
  const start = performance.now();
  const out = model.generate(prompt, { maxNewTokens: Number(newTokens), temperature: 0, useCache });
  const seconds = (performance.now() - start) / 1000;
  const tokens = (out.toArray() as number[][])[0]!.slice(Number(context));
  console.log(JSON.stringify({ tokens_per_s: Number(newTokens) / seconds, seconds, tokens }));
}

async function main(): Promise<void> {
  const { rounds, newTokens } = parseArgs(process.argv.slice(2));
  const threads = getNumThreads();
  const env: NodeJS.ProcessEnv = { ...process.env };
  checkPythonTorch(env, 'bench:generate');
  const dir = modelFolder();
  const script = fileURLToPath(import.meta.url);
  const torchScript = path.join(packageRoot(), 'bench', 'generate_torch.py');
  const kiln = (context: number, cache: boolean): Promise<Sample> =>
    runChild<Sample>(process.execPath, [script, WORKER, dir, String(context), String(newTokens), cache ? 'cache' : 'no-cache'], env, `Kiln at ${context}`);
  const torch = (context: number): Promise<Sample> =>
    runChild<Sample>(PYTHON, [torchScript, dir, '--context', String(context), '--new-tokens', String(newTokens), '--threads', String(threads)], env, `PyTorch at ${context}`);

  const samples: Record<string, Sample[]> = {};
  const add = (key: string, sample: Sample): void => void (samples[key] ??= []).push(sample);
  for (let round = 0; round < rounds; round++) {
    for (const context of CONTEXTS) {
      process.stderr.write(`[bench:generate] round ${round + 1}/${rounds}, prompt ${context} ...\n`);
      const pair: [string, () => Promise<Sample>][] = [[`kiln_${context}`, () => kiln(context, true)], [`torch_${context}`, () => torch(context)]];
      if (round % 2 === 1) pair.reverse();
      for (const [key, run] of pair) add(key, await run());
    }
    add('kiln_nocache_1024', await kiln(1024, false));
  }

  const rate = (key: string): number => median(samples[key]!.map((s) => s.tokens_per_s));
  console.log(`Greedy generation of ${newTokens} tokens, GPT-2 6×512 (vocabulary 8,192), ${threads} threads, ${rounds} rounds of fresh processes`);
  console.log('prompt | Kiln tokens/s | PyTorch tokens/s | ratio (median) | per-round ratios | same tokens');
  const result: Record<string, number> = {};
  for (const context of CONTEXTS) {
    const k = samples[`kiln_${context}`]!;
    const t = samples[`torch_${context}`]!;
    const ratios = k.map((s, i) => s.tokens_per_s / t[i]!.tokens_per_s);
    const same = k.map((s, i) => s.tokens.filter((id, j) => id === t[i]!.tokens[j]).length);
    console.log(
      `${String(context).padStart(6)} | ${rate(`kiln_${context}`).toFixed(1).padStart(13)} | ${rate(`torch_${context}`).toFixed(1).padStart(16)} | ` +
        `${(rate(`kiln_${context}`) / rate(`torch_${context}`)).toFixed(2).padStart(14)} | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} | ${Math.min(...same)}/${newTokens}`,
    );
    result[`kiln_${context}`] = round(rate(`kiln_${context}`), 1);
    result[`torch_${context}`] = round(rate(`torch_${context}`), 1);
  }
  const uncached = rate('kiln_nocache_1024');
  console.log(`Kiln without the cache at 1024: ${uncached.toFixed(2)} tokens/s; the cache is ${(rate('kiln_1024') / uncached).toFixed(1)}× faster`);
  result['kiln_nocache_1024'] = round(uncached, 2);
  console.log(JSON.stringify(result));
}

(process.argv[2] === WORKER ? Promise.resolve(kilnWorker(process.argv.slice(3))) : main()).catch((error: unknown) => {
  process.stderr.write(`bench:generate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

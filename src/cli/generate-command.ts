/** `kiln generate`: sample text from a model folder. */
import { existsSync } from 'node:fs';
import { type FlagSpec, formatFlags, parseCommandFlags } from './args.js';
import { DEVICE_FLAG, onFlagDevice } from './device-flag.js';
import { sayRunFolder } from './run-folder-note.js';
import { UsageError } from './usage-error.js';

export const GENERATE_SUMMARY = 'sample text from a trained model folder';

export const GENERATE_FLAGS: readonly FlagSpec[] = [
  { name: 'model', kind: 'string', help: 'model folder (e.g. runs/pretrain/best)', valueName: 'DIR' },
  { name: 'prompt', kind: 'string', help: 'text to continue', defaultText: '"\\n"' },
  { name: 'max-new-tokens', kind: 'int', help: 'tokens to sample', defaultText: '200' },
  { name: 'temperature', kind: 'number', help: 'divides the logits; 0 is greedy', defaultText: '1' },
  { name: 'top-k', kind: 'int', help: 'sample among the k most likely tokens', defaultText: 'all' },
  { name: 'top-p', kind: 'number', help: 'sample among the most likely tokens with total probability p', defaultText: '1' },
  { name: 'repetition-penalty', kind: 'number', help: "divides a repeated token's positive logit (multiplies a negative one), as Hugging Face's", defaultText: '1 (none)' },
  { name: 'seed', kind: 'int', help: 'random seed for sampling', defaultText: 'unseeded' },
  DEVICE_FLAG,
  { name: 'no-cache', kind: 'boolean', help: 'reread the whole window for every token instead of using the key/value cache (GPT, Llama)' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function generateHelp(): string {
  return [
    'Usage: kiln generate --model DIR [--prompt TEXT] [flags]',
    '',
    'Prints the prompt and its sampled continuation, from any architecture kiln pretrain trains',
    '(bert by repeatedly predicting a [MASK] appended to the context).',
    '',
    'Flags:',
    formatFlags(GENERATE_FLAGS),
  ].join('\n');
}

export async function runGenerate(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, GENERATE_FLAGS, 'generate', generateHelp);
  if (flags === undefined) return 0;
  const model = flags.get('model');
  if (typeof model !== 'string') throw new UsageError('kiln generate: --model DIR is required (a folder kiln pretrain wrote, e.g. runs/pretrain/best)');
  const maxNewTokens = (flags.get('max-new-tokens') as number | undefined) ?? 200;
  const temperature = flags.get('temperature') as number | undefined;
  const topK = flags.get('top-k') as number | undefined;
  const topP = flags.get('top-p') as number | undefined;
  const seed = flags.get('seed') as number | undefined;
  const repetitionPenalty = flags.get('repetition-penalty') as number | undefined;
  if (maxNewTokens < 0) throw new UsageError(`kiln generate: --max-new-tokens must be ≥ 0, got ${maxNewTokens}`);
  if (temperature !== undefined && temperature < 0) throw new UsageError(`kiln generate: --temperature must be ≥ 0 (0 is greedy), got ${temperature}`);
  if (topK !== undefined && topK < 1) throw new UsageError(`kiln generate: --top-k must be ≥ 1, got ${topK}`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new UsageError(`kiln generate: --top-p must be in (0, 1], got ${topP}`);
  if (seed !== undefined && seed < 0) throw new UsageError(`kiln generate: --seed must be ≥ 0, got ${seed}`);
  if (repetitionPenalty !== undefined && !(repetitionPenalty > 0)) throw new UsageError(`kiln generate: --repetition-penalty must be > 0 (1 is none), got ${repetitionPenalty}`);
  if (!existsSync(model)) throw new UsageError(`kiln generate: --model ${model} does not exist; pass a folder kiln pretrain wrote, e.g. runs/pretrain/best`);
  sayRunFolder('--model', model);
  const { loadLanguageModel, generateText } = await import('../train/model-folder.js');
  const text = await onFlagDevice(flags, () => generateText(loadLanguageModel(model), (flags.get('prompt') as string | undefined) ?? '\n', {
    maxNewTokens,
    ...(temperature === undefined ? {} : { temperature }),
    ...(topK === undefined ? {} : { topK }),
    ...(topP === undefined ? {} : { topP }),
    ...(seed === undefined ? {} : { seed }),
    ...(repetitionPenalty === undefined ? {} : { repetitionPenalty }),
    ...(flags.get('no-cache') === true ? { useCache: false } : {}),
  }));
  process.stdout.write(text + '\n');
  return 0;
}

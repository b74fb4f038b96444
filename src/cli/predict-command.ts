/** `kiln predict`: labels and probabilities from a fine-tuned classifier folder. */
import path from 'node:path';
import { readTextDocuments, readTextFile } from '../data/text-readers.js';
import { type FlagSpec, formatFlags, parseCommandFlags } from './args.js';
import { DEVICE_FLAG, onFlagDevice } from './device-flag.js';
import { sayRunFolder } from './run-folder-note.js';
import { UsageError } from './usage-error.js';

export const PREDICT_SUMMARY = 'label texts with a fine-tuned classifier folder';

export const PREDICT_FLAGS: readonly FlagSpec[] = [
  { name: 'model', kind: 'string', help: 'classifier folder kiln finetune wrote (e.g. runs/finetune/best)', valueName: 'DIR' },
  { name: 'text', kind: 'string', help: 'one text to label', valueName: 'TEXT' },
  { name: 'input', kind: 'string', help: 'texts to label: a .csv/.tsv/.jsonl file (its text column) or a text file (one text per line)', valueName: 'FILE' },
  { name: 'text-column', kind: 'string', help: 'text column / field of --input', defaultText: 'text', valueName: 'NAME' },
  DEVICE_FLAG,
  { name: 'json', kind: 'boolean', help: 'print one JSON object per text: {label, probabilities}' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function predictHelp(): string {
  return ['Usage: kiln predict --model DIR --text "…" | --input FILE [--text-column NAME] [--json]', '', 'Prints the most likely label of each text and every label\'s probability.', '', 'Flags:', formatFlags(PREDICT_FLAGS)].join('\n');
}

function readInputs(file: string, textColumn: string | undefined): string[] {
  const ext = path.extname(file).toLowerCase();
  if (['.csv', '.tsv', '.jsonl', '.ndjson'].includes(ext)) return readTextDocuments(file, textColumn === undefined ? {} : { textColumn });
  return readTextFile(file).split('\n').filter((line) => line.trim() !== '');
}

export async function runPredict(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, PREDICT_FLAGS, 'predict', predictHelp);
  if (flags === undefined) return 0;
  const model = flags.get('model');
  if (typeof model !== 'string') throw new UsageError('kiln predict: --model DIR is required (a folder kiln finetune --task classify wrote)');
  const text = flags.get('text') as string | undefined;
  const input = flags.get('input') as string | undefined;
  if ((text === undefined) === (input === undefined)) throw new UsageError('kiln predict: give exactly one of --text "…" or --input FILE');
  const texts = text !== undefined ? [text] : readInputs(input!, flags.get('text-column') as string | undefined);
  if (texts.length === 0) throw new UsageError(`kiln predict: --input ${input} holds no texts`);
  sayRunFolder('--model', model);
  const { predict } = await import('../finetune/evaluate.js');
  const predictions = await onFlagDevice(flags, () => predict(model, texts));
  const json = flags.get('json') === true;
  const lines = predictions.map((p) =>
    json
      ? JSON.stringify({ label: p.label, probabilities: p.probabilities })
      : `${p.label}\t${Object.entries(p.probabilities).map(([l, q]) => `${l} ${q.toFixed(4)}`).join('  ')}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

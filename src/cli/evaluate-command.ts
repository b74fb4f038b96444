/** `kiln evaluate`: score a model folder finetune wrote on a data file. */
import { type FlagSpec, formatFlags, parseCommandFlags } from './args.js';
import { DEVICE_FLAG, onFlagDevice } from './device-flag.js';
import { sayRunFolder } from './run-folder-note.js';
import { UsageError } from './usage-error.js';

export const EVALUATE_SUMMARY = 'score a fine-tuned model folder on labelled data or prompt/completion pairs';

export const EVALUATE_FLAGS: readonly FlagSpec[] = [
  { name: 'model', kind: 'string', help: 'model folder kiln finetune wrote (e.g. runs/finetune/best)', valueName: 'DIR' },
  { name: 'data', kind: 'string', help: "labelled .csv/.tsv/.jsonl, a folder of label sub-folders, or 'default'; for a generation model a {prompt, completion} .jsonl", valueName: 'FILE' },
  { name: 'text-column', kind: 'string', help: 'text column / field', defaultText: 'text', valueName: 'NAME' },
  { name: 'label-column', kind: 'string', help: 'label column / field', defaultText: 'label', valueName: 'NAME' },
  { name: 'max-new-tokens', kind: 'int', help: 'generation models: tokens generated per prompt', defaultText: '64' },
  DEVICE_FLAG,
  { name: 'json', kind: 'boolean', help: 'print the metrics as one JSON object' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function evaluateHelp(): string {
  return [
    'Usage: kiln evaluate --model DIR --data FILE [--text-column NAME --label-column NAME] [--json]',
    '',
    'Classifiers: accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.',
    'Generation models: loss, perplexity, exact match and ROUGE-L of greedy completions.',
    '',
    'Flags:',
    formatFlags(EVALUATE_FLAGS),
  ].join('\n');
}

const pct = (x: number): string => (100 * x).toFixed(1);

export async function runEvaluate(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, EVALUATE_FLAGS, 'evaluate', evaluateHelp);
  if (flags === undefined) return 0;
  const model = flags.get('model');
  const data = flags.get('data');
  if (typeof model !== 'string') throw new UsageError('kiln evaluate: --model DIR is required (a folder kiln finetune wrote, e.g. runs/finetune/best)');
  if (typeof data !== 'string') throw new UsageError('kiln evaluate: --data FILE is required (labelled texts, or {prompt, completion} JSONL for a generation model)');
  const maxNewTokens = flags.get('max-new-tokens') as number | undefined;
  if (maxNewTokens !== undefined && maxNewTokens < 1) throw new UsageError(`kiln evaluate: --max-new-tokens must be ≥ 1, got ${maxNewTokens}`);
  sayRunFolder('--model', model);
  const { evaluateModel } = await import('../finetune/evaluate.js');
  const report = await onFlagDevice(flags, () => evaluateModel(model, data, {
    ...(flags.has('text-column') ? { textColumn: flags.get('text-column') as string } : {}),
    ...(flags.has('label-column') ? { labelColumn: flags.get('label-column') as string } : {}),
    ...(maxNewTokens === undefined ? {} : { maxNewTokens }),
  }));
  if (flags.get('json') === true) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  }
  const lines: string[] = [];
  if (report.task === 'classify') {
    lines.push(`${report.count} examples: accuracy ${pct(report.accuracy)}%, macro-F1 ${pct(report.macro_f1)}, loss ${report.loss.toFixed(4)}`);
    const width = Math.max(5, ...report.labels.map((l) => l.length));
    lines.push(`${'label'.padEnd(width)}  precision  recall     F1  support`);
    for (const c of report.per_class) {
      lines.push(`${c.label.padEnd(width)}  ${pct(c.precision).padStart(9)}  ${pct(c.recall).padStart(6)}  ${pct(c.f1).padStart(5)}  ${String(c.support).padStart(7)}`);
    }
    lines.push('', 'confusion (rows: true, columns: predicted)');
    const cell = Math.max(width, ...report.confusion.flat().map((n) => String(n).length));
    lines.push(`${''.padEnd(width)}  ${report.labels.map((l) => l.padStart(cell)).join('  ')}`);
    report.confusion.forEach((row, i) => lines.push(`${report.labels[i]!.padEnd(width)}  ${row.map((n) => String(n).padStart(cell)).join('  ')}`));
  } else {
    lines.push(`${report.count} examples: exact match ${pct(report.exact_match)}%, ROUGE-L ${pct(report.rouge_l)}, loss ${report.loss.toFixed(4)}, perplexity ${report.perplexity.toFixed(3)}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/**
 * `kiln export onnx --model DIR --out DIR2`: a Kiln model folder as an ONNX folder that
 * transformers.js (`pipeline(task, DIR2)`) and ONNX Runtime load.
 */
import { type FlagSpec, formatFlags, parseCommandFlags } from './args.js';
import { takeFormat } from './positionals.js';
import { sayRunFolder } from './run-folder-note.js';
import { UsageError } from './usage-error.js';

export const EXPORT_SUMMARY = 'write a model as ONNX for transformers.js and ONNX Runtime';

export const EXPORT_FORMATS = ['onnx'] as const;

export const EXPORT_FLAGS: readonly FlagSpec[] = [
  { name: 'model', kind: 'string', help: 'model folder kiln pretrain or kiln finetune wrote (e.g. runs/finetune/best; images: the run folder), or a GPT-2/Llama folder', valueName: 'DIR' },
  { name: 'out', kind: 'string', help: 'folder to write: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx (created if needed; files there with the same names are replaced)', valueName: 'DIR' },
  { name: 'quantize', kind: 'boolean', help: "also write onnx/model_quantized.onnx: int8 Linear weights, dynamically quantised activations (transformers.js dtype 'q8')" },
  { name: 'json', kind: 'boolean', help: 'print what was written as one JSON object' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function exportHelp(): string {
  return [
    'Usage: kiln export onnx --model DIR --out DIR2',
    '',
    'Exports GPT and Llama language models (text-generation, with a key/value cache), text',
    'classifiers fine-tuned from GPT, Llama or BERT (text-classification) and image classifiers',
    '(CNN, ResNet, ViT: image-classification) as ONNX (opset 17, fp32).',
    'In JavaScript:',
    "  import { pipeline, env } from '@huggingface/transformers';",
    "  env.localModelPath = '.'; env.allowRemoteModels = false;",
    "  const generate = await pipeline('text-generation', 'DIR2');",
    '',
    'Flags:',
    formatFlags(EXPORT_FLAGS),
  ].join('\n');
}

export async function runExport(argv: readonly string[]): Promise<number> {
  const taken = takeFormat(argv, 'export', EXPORT_FORMATS, exportHelp, 'kiln export onnx --model DIR --out DIR2');
  if (typeof taken === 'number') return taken;
  const { rest } = taken;
  const flags = parseCommandFlags(rest, EXPORT_FLAGS, 'export onnx', exportHelp);
  if (flags === undefined) return 0;
  const need = (name: string): string => {
    const value = flags.get(name);
    if (typeof value !== 'string' || value === '') throw new UsageError(`kiln export onnx: --${name} DIR is required`);
    return value;
  };
  const model = need('model');
  const out = need('out');
  sayRunFolder('--model', model);
  const { exportOnnx } = await import('../io/onnx/export.js');
  const result = exportOnnx(model, out, { quantize: flags.get('quantize') === true });
  if (flags.get('json') === true) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    const quantized = result.quantizedBytes === null ? '' : `; int8: model_quantized.onnx (${(result.quantizedBytes / 1e6).toFixed(1)} MB)`;
    process.stdout.write(`exported ${result.architecture} ${result.task} model to ${result.dir}/onnx/model.onnx (${(result.bytes / 1e6).toFixed(1)} MB, opset ${result.opset}, ${result.ops.length} op types)${quantized}\n`);
  }
  return 0;
}

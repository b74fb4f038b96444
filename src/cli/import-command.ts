/**
 * `kiln import llama2c`: a llama2.c checkpoint (legacy or export version 1) and its
 * tokenizer.bin → a Kiln Llama model folder: config.json + model.safetensors (Hugging Face
 * Llama layout), tokenizer.json (+ tokenizer_config.json) in Hugging Face's Llama form, and
 * kiln.json. `kiln generate --model DIR` then runs it.
 *
 * `kiln import tfjs`: a TensorFlow.js weights manifest (or model.json) and its shards → one
 * safetensors file of the weights under their TensorFlow.js names, dequantised to float32; with
 * `--arch` (a face-api network), a Kiln model folder of that network, layouts converted, that
 * `kiln detect`, `embed` and `verify` run.
 */
import { type FlagSpec, formatFlags, parseCommandFlags } from './args.js';
import { takeFormat } from './positionals.js';
import { UsageError } from './usage-error.js';
import { FACE_ARCHITECTURES, type FaceArchitecture } from '../vision/face/face-architectures.js';

export const IMPORT_SUMMARY = 'turn a model from another format (llama2.c, TensorFlow.js weights) into Kiln files';

export const IMPORT_FORMATS = ['llama2c', 'tfjs'] as const;

export const IMPORT_FLAGS: readonly FlagSpec[] = [
  { name: 'checkpoint', kind: 'string', help: "llama2.c checkpoint (.bin from export.py, legacy or --version 1)", valueName: 'FILE' },
  { name: 'tokenizer', kind: 'string', help: "llama2.c tokenizer.bin (the vocabulary the checkpoint was trained with)", valueName: 'FILE' },
  { name: 'manifest', kind: 'string', help: 'tfjs: a weights_manifest.json or model.json (its shards beside it)', valueName: 'FILE' },
  { name: 'arch', kind: 'string', help: `tfjs: the network the manifest holds (${FACE_ARCHITECTURES.join(', ')}); --out is then a model folder`, valueName: 'NAME' },
  { name: 'out', kind: 'string', help: 'llama2c: model folder to write (created if needed; files there with the same names are replaced); tfjs: the .safetensors file to write, or with --arch the model folder', valueName: 'PATH' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function importHelp(): string {
  return [
    'Usage: kiln import llama2c --checkpoint FILE --tokenizer FILE --out DIR',
    '       kiln import tfjs --manifest FILE --out FILE.safetensors',
    '       kiln import tfjs --manifest FILE --arch NAME --out DIR',
    '',
    "llama2c writes a Kiln Llama model folder (config.json, model.safetensors, tokenizer.json, kiln.json);",
    "then 'kiln generate --model DIR --temperature 0' samples greedily, as llama2.c's run.c does.",
    'tfjs writes the weights under their TensorFlow.js names, quantised ones dequantised to float32;',
    "with --arch, a model folder of that face-api network (e.g. the manifests in @vladmandic/face-api's model/) for kiln detect, embed and verify.",
    '',
    'Flags:',
    formatFlags(IMPORT_FLAGS),
  ].join('\n');
}

export async function runImport(argv: readonly string[]): Promise<number> {
  const taken = takeFormat(argv, 'import', IMPORT_FORMATS, importHelp, 'kiln import llama2c --checkpoint FILE --tokenizer FILE --out DIR');
  if (typeof taken === 'number') return taken;
  const { format, rest } = taken;
  const flags = parseCommandFlags(rest, IMPORT_FLAGS, `import ${format}`, importHelp);
  if (flags === undefined) return 0;
  const need = (name: string, what: string): string => {
    const value = flags.get(name);
    if (typeof value !== 'string' || value === '') throw new UsageError(`kiln import ${format}: --${name} ${what} is required`);
    return value;
  };
  if (format === 'tfjs') {
    const arch = flags.get('arch') as string | undefined;
    if (arch === undefined) return importTfjs(need('manifest', 'FILE'), need('out', 'FILE.safetensors'));
    if (!(FACE_ARCHITECTURES as readonly string[]).includes(arch)) throw new UsageError(`kiln import tfjs: --arch ${arch} is not one Kiln knows (${FACE_ARCHITECTURES.join(', ')})`);
    return importFaceNetwork(need('manifest', 'FILE'), arch as FaceArchitecture, need('out', 'DIR'));
  }
  if (flags.get('arch') !== undefined) throw new UsageError('kiln import llama2c: --arch is for tfjs manifests; a llama2.c checkpoint is always a Llama');
  const options = { checkpoint: need('checkpoint', 'FILE'), tokenizer: need('tokenizer', 'FILE'), out: need('out', 'DIR') };
  const { importLlama2c } = await import('../io/llama2c-import.js');
  let info: ReturnType<typeof importLlama2c>;
  try {
    info = importLlama2c(options);
  } catch (error) {
    // a missing or bad input file is the user's to fix: exit 2, one line
    throw new UsageError(`kiln import llama2c: ${(error as Error).message.replace(/^importLlama2c: /, '')}`);
  }
  const c = info.made.config;
  process.stdout.write(
    `imported ${String(c['format'])} llama2.c checkpoint (dim ${String(c['dim'])}, ${String(c['nLayers'])} layers, vocab ${String(c['vocabSize'])}) into ${options.out}\n`,
  );
  return 0;
}

async function importFaceNetwork(manifest: string, arch: FaceArchitecture, out: string): Promise<number> {
  const [{ loadTfjsWeights }, { faceNetworkFromTfjs }, { saveFaceNetwork }] = await Promise.all([import('../io/tfjs-weights.js'), import('../vision/face/face-nets.js'), import('../vision/face/face-folder.js')]);
  let net: ReturnType<typeof faceNetworkFromTfjs>;
  try {
    net = faceNetworkFromTfjs(arch, loadTfjsWeights(manifest));
  } catch (error) {
    throw new UsageError(`kiln import tfjs: ${(error as Error).message}`);
  }
  saveFaceNetwork(net, out, manifest);
  process.stdout.write(`imported ${arch} (${net.numParameters().toLocaleString('en-US')} parameters) into ${out}\n`);
  return 0;
}

async function importTfjs(manifest: string, out: string): Promise<number> {
  const [{ loadTfjsWeights }, { saveSafetensors }] = await Promise.all([import('../io/tfjs-weights.js'), import('../io/safetensors.js')]);
  let weights: ReturnType<typeof loadTfjsWeights>;
  try {
    weights = loadTfjsWeights(manifest);
  } catch (error) {
    throw new UsageError(`kiln import tfjs: ${(error as Error).message}`);
  }
  saveSafetensors(out, weights, { metadata: { source: 'tensorflow.js', manifest: manifest } });
  const parameters = Object.values(weights).reduce((sum, t) => sum + t.numel(), 0);
  process.stdout.write(`imported ${Object.keys(weights).length} TensorFlow.js weights (${parameters.toLocaleString('en-US')} values) into ${out}\n`);
  return 0;
}

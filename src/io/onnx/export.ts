/**
 * `exportOnnx(modelDir, outDir)`: a Kiln model folder as a folder transformers.js and ONNX
 * Runtime read — config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx (fp32),
 * laid out as transformers.js loads a local model.
 *
 * What is exported:
 * - causal language models (`kiln pretrain --arch gpt|llama`, GPT-2 and Llama folders):
 *   inputs input_ids, attention_mask, position_ids and past_key_values.N.key/value; outputs
 *   logits and present.N.key/value (transformers.js' text-generation, with its cache);
 * - sequence classifiers fine-tuned from GPT, Llama or BERT: input_ids and attention_mask ->
 *   logits, with Kiln's truncation, prefix token, windows and pooling inside the graph, so the
 *   client's tokenizer only has to split text into ids (transformers.js' text-classification);
 * - image classifiers (CNN, ResNet-18/34, ViT): pixel_values -> logits, with
 *   preprocessor_config.json saying how Kiln resizes and normalises (image-classification).
 * Anything else is refused with what can be exported.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describeFolder } from '../../finetune/backbone.js';
import { CLASSIFICATION_TASK, type ClassifierInfo, loadClassifierFolder } from '../../finetune/classifier-folder.js';
import { TFIDF_ARCHITECTURE } from '../../finetune/tfidf/tfidf-folder.js';
import { GPT } from '../../models/gpt.js';
import { Llama } from '../../models/llama.js';
import { noGrad } from '../../tensor/autograd.js';
import { scope } from '../../tensor/scope.js';
import { TOKENIZER_CONFIG_FILE, tokenizerConfigJson } from '../../tokenizers/load.js';
import type { Tokenizer, TokenizerJson } from '../../tokenizers/tokenizer.js';
import { modelContextLength } from '../../train/architectures.js';
import { ConfigError } from '../../train/config-error.js';
import { loadLanguageModel, resolveModelFolder } from '../../train/model-folder.js';
import { writeAll, writeFileAtomic, writeJsonAtomic } from '../../util/atomic-write.js';
import { loadImageClassifier } from '../../vision/image-model-folder.js';
import { hfConfigFromGpt } from '../hf-gpt2.js';
import { hfConfigFromLlama } from '../hf-llama.js';
import { gptCausalLmGraph } from './gpt.js';
import { OPSET, OnnxGraph } from './graph.js';
import { llamaCausalLmGraph } from './llama.js';
import { sequenceClassifierGraph } from './sequence-classifier.js';
import { imageClassifierGraph } from './vision.js';

export const ONNX_MODEL_FILE = path.join('onnx', 'model.onnx');
/** The int8 variant transformers.js loads with `dtype: 'q8'`. */
export const ONNX_QUANTIZED_FILE = path.join('onnx', 'model_quantized.onnx');

export interface ExportOnnxOptions {
  /**
   * Also write onnx/model_quantized.onnx: the Linear layers' weights in int8 (one scale per
   * weight), activations quantised as they come (ONNX Runtime's dynamic quantisation). About a
   * quarter of the size where Linear layers dominate; logits move by the int8 rounding.
   * @default false
   */
  quantize?: boolean;
}

/** transformers.js truncates at model_max_length; a classifier's graph cuts texts itself, so its tokenizer must not (Transformers' "no limit"). */
const NO_LENGTH_LIMIT = 1e30;

export interface ExportOnnxResult {
  /** The folder written. */
  dir: string;
  task: 'text-generation' | 'text-classification' | 'image-classification';
  architecture: string;
  opset: number;
  /** ONNX op types the graph uses. */
  ops: string[];
  /** Size of onnx/model.onnx in bytes. */
  bytes: number;
  /** Size of onnx/model_quantized.onnx, or null when not written. */
  quantizedBytes: number | null;
}


function kilnVersion(): string {
  const packageJson = new URL('../../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

/**
 * tokenizer.json for a client that applies the whole file: a classifier's graph adds the prefix
 * token itself, so the post-processor must add none; a character vocabulary without an unk
 * token drops characters it cannot spell (as Kiln does), which a Replace normalizer says.
 */
function clientTokenizer(tokenizer: Tokenizer, classifier: boolean): Omit<TokenizerJson, 'kiln'> {
  const { kiln: _kiln, ...json } = tokenizer.toJSON();
  if (classifier && json.post_processor !== null && json.post_processor['type'] !== 'ByteLevel') json.post_processor = null;
  if (tokenizer.kind === 'char' && tokenizer.unkId === undefined) {
    const characters = Object.keys(json.model.vocab).filter((token) => [...token].length === 1);
    const unknown = { type: 'Replace', pattern: { Regex: `[^${characters.map((c) => c.replace(/[\\\]\[^-]/g, '\\$&')).join('')}]` }, content: '' };
    json.normalizer = json.normalizer === null ? unknown : { type: 'Sequence', normalizers: [json.normalizer, unknown] };
  }
  return json;
}

/**
 * tokenizer.json and tokenizer_config.json. A classifier's `padId` names the pad token when the
 * tokenizer has none: transformers.js pads a batch with it (the graph never reads padding).
 */
function writeTokenizer(tokenizer: Tokenizer, outDir: string, maxLength: number, padId?: number): void {
  const json = clientTokenizer(tokenizer, padId !== undefined);
  writeJsonAtomic(path.join(outDir, 'tokenizer.json'), json);
  const config: Record<string, unknown> = { ...tokenizerConfigJson(tokenizer), model_max_length: maxLength, clean_up_tokenization_spaces: false };
  if (padId !== undefined && config['pad_token'] === undefined) config['pad_token'] = tokenizer.decode([padId]);
  writeJsonAtomic(path.join(outDir, TOKENIZER_CONFIG_FILE), config);
}

function writeModel(graph: OnnxGraph, outDir: string, file: string, metadata: Record<string, string>): number {
  const bytes = graph.encode({ name: 'kiln', version: kilnVersion() }, metadata);
  mkdirSync(path.join(outDir, 'onnx'), { recursive: true });
  writeFileAtomic(path.join(outDir, file), (fd) => writeAll(fd, bytes));
  return bytes.length;
}

/** Builds the graph (and, when asked, its int8 variant) and writes onnx/model.onnx (and onnx/model_quantized.onnx). */
function writeGraphs(outDir: string, name: string, build: (graph: OnnxGraph) => void, metadata: Record<string, string>, quantize: boolean): Pick<ExportOnnxResult, 'ops' | 'bytes' | 'quantizedBytes'> {
  const made = (quantized: boolean): OnnxGraph => {
    const graph = new OnnxGraph(name, quantized);
    scope(() => noGrad(() => build(graph)));
    return graph;
  };
  const graph = made(false);
  const bytes = writeModel(graph, outDir, ONNX_MODEL_FILE, metadata);
  const quantizedBytes = quantize ? writeModel(made(true), outDir, ONNX_QUANTIZED_FILE, metadata) : null;
  return { ops: graph.opTypes(), bytes, quantizedBytes };
}

function exportClassifier(modelDir: string, outDir: string, quantize: boolean): ExportOnnxResult {
  const { classifier, tokenizer, info } = loadClassifierFolder(modelDir);
  const architecture = classifier.backbone.architecture;
  if (architecture === 'lstm' || architecture === 'sentence-encoder') {
    throw new ConfigError(`${modelDir} is ${architecture === 'lstm' ? 'an LSTM' : 'a sentence-encoder'} classifier, which the ONNX exporter does not write yet; GPT, Llama and BERT classifiers export`);
  }
  mkdirSync(outDir, { recursive: true });
  const config = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  config['architectures'] = [{ gpt: 'GPT2ForSequenceClassification', llama: 'LlamaForSequenceClassification', bert: 'BertForSequenceClassification' }[architecture]];
  writeJsonAtomic(path.join(outDir, 'config.json'), { ...config, kiln: classifierNote(info) });
  writeTokenizer(tokenizer, outDir, NO_LENGTH_LIMIT, info.pad_id);
  const written = writeGraphs(outDir, `kiln-${architecture}-classifier`, (graph) => sequenceClassifierGraph(graph, classifier, info), { task: 'text-classification', labels: JSON.stringify(info.labels) }, quantize);
  return { dir: outDir, task: 'text-classification', architecture, opset: OPSET, ...written };
}

/** What the graph does beyond the network, recorded for readers of config.json. */
function classifierNote(info: ClassifierInfo): Record<string, unknown> {
  return { pooling: info.pooling, max_length: info.max_length, truncation: info.truncation, prefix_id: info.prefix_id, note: 'input_ids are the text\'s tokens without special tokens; the graph truncates, adds the prefix and pools' };
}

function exportCausalLm(modelDir: string, outDir: string, quantize: boolean): ExportOnnxResult {
  const { model, tokenizer, architecture } = loadLanguageModel(modelDir);
  let config: Record<string, unknown>;
  let build: (graph: OnnxGraph) => void;
  if (model instanceof GPT) {
    if (!model.config.bias) throw new ConfigError(`${modelDir} is a GPT without biases, which GPT-2's layout (and transformers.js' gpt2) cannot hold; train with biases to export`);
    config = hfConfigFromGpt(model.config, 'float32');
    build = (graph) => gptCausalLmGraph(graph, model);
  } else if (model instanceof Llama) {
    config = hfConfigFromLlama(model.config, 'float32');
    build = (graph) => llamaCausalLmGraph(graph, model);
  } else {
    throw new ConfigError(`${modelDir} holds a ${architecture} language model; ONNX export reads GPT and Llama language models (and GPT, Llama and BERT classifiers)`);
  }
  mkdirSync(outDir, { recursive: true });
  writeJsonAtomic(path.join(outDir, 'config.json'), { ...config, bos_token_id: tokenizer.bosId ?? null, eos_token_id: tokenizer.eosId ?? null });
  writeTokenizer(tokenizer, outDir, modelContextLength(model) ?? NO_LENGTH_LIMIT);
  const written = writeGraphs(outDir, `kiln-${architecture}`, build, { task: 'text-generation' }, quantize);
  return { dir: outDir, task: 'text-generation', architecture, opset: OPSET, ...written };
}

/** config.json's model_type for transformers.js: its own names where the graph computes what that model type does. */
const IMAGE_MODEL_TYPES: Record<string, { modelType: string; architecture: string }> = {
  vit: { modelType: 'vit', architecture: 'ViTForImageClassification' },
  resnet18: { modelType: 'resnet', architecture: 'ResNetForImageClassification' },
  resnet34: { modelType: 'resnet', architecture: 'ResNetForImageClassification' },
  cnn: { modelType: 'kiln_cnn', architecture: 'KilnCnnForImageClassification' },
};

function exportImageClassifier(modelDir: string, outDir: string, quantize: boolean): ExportOnnxResult {
  const { model, config, classNames } = loadImageClassifier(modelDir);
  model.eval();
  mkdirSync(outDir, { recursive: true });
  const { modelType, architecture } = IMAGE_MODEL_TYPES[config.architecture]!;
  const [height, width] = config.image_size;
  writeJsonAtomic(path.join(outDir, 'config.json'), {
    model_type: modelType,
    architectures: [architecture],
    num_labels: classNames.length,
    id2label: config.id2label,
    label2id: config.label2id,
    num_channels: config.num_channels,
    image_size: config.image_size,
    kiln: { architecture: config.architecture, model: config.model },
  });
  // Kiln decodes with sharp: resized to exactly H×W with lanczos3 (PIL's LANCZOS, resample 1), grey or sRGB, /255, normalised.
  writeJsonAtomic(path.join(outDir, 'preprocessor_config.json'), {
    image_processor_type: 'ViTImageProcessor', // resize, rescale, normalise: nothing model-specific
    do_resize: true,
    size: { height, width },
    resample: 1,
    do_center_crop: false,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: config.normalization.mean,
    image_std: config.normalization.std,
    do_convert_rgb: config.num_channels === 3,
  });
  const build = (graph: OnnxGraph): void => imageClassifierGraph(graph, model, config.num_channels, config.image_size);
  const written = writeGraphs(outDir, `kiln-${config.architecture}`, build, { task: 'image-classification', labels: JSON.stringify(classNames) }, quantize);
  return { dir: outDir, task: 'image-classification', architecture: config.architecture, opset: OPSET, ...written };
}

/**
 * Writes `modelDir`'s model as an ONNX folder in `outDir` (created if needed; files with the
 * same names are replaced).
 * @example exportOnnx('runs/demo/finetune-pretrained/best', 'exported/spam')
 */
export function exportOnnx(folder: string, outDir: string, options: ExportOnnxOptions = {}): ExportOnnxResult {
  const quantize = options.quantize ?? false;
  const modelDir = resolveModelFolder(folder).dir; // a run folder means its best/ (an image run folder is its model)
  const { task, architecture } = describeFolder(modelDir);
  if (architecture === TFIDF_ARCHITECTURE) throw new ConfigError(`${modelDir} is the TF-IDF baseline, not a network; ONNX export writes the networks Kiln trains (GPT, Llama, BERT)`);
  if (task === CLASSIFICATION_TASK) return exportClassifier(modelDir, outDir, quantize);
  if (task === 'image-classification') return exportImageClassifier(modelDir, outDir, quantize);
  if (task === null || task === 'causal-lm') return exportCausalLm(modelDir, outDir, quantize);
  throw new ConfigError(`${modelDir} is a ${String(architecture)} ${task} model; ONNX export reads causal language models (GPT, Llama), text classifiers (GPT, Llama, BERT) and image classifiers (CNN, ResNet, ViT)`);
}

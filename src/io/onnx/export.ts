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
import { TOKENIZER_CONFIG_FILE } from '../../tokenizers/load.js';
import type { Tokenizer, TokenizerJson } from '../../tokenizers/tokenizer.js';
import { modelContextLength } from '../../train/architectures.js';
import { ConfigError } from '../../train/config-error.js';
import { loadLanguageModel, resolveModelFolder } from '../../train/model-folder.js';
import { writeAll, writeFileAtomic } from '../../util/atomic-write.js';
import { loadImageClassifier } from '../../vision/image-model-folder.js';
import { hfConfigFromGpt } from '../hf-gpt2.js';
import { hfConfigFromLlama } from '../hf-llama.js';
import { gptCausalLmGraph } from './gpt.js';
import { OPSET, OnnxGraph } from './graph.js';
import { llamaCausalLmGraph } from './llama.js';
import { sequenceClassifierGraph } from './sequence-classifier.js';
import { imageClassifierGraph } from './vision.js';

export const ONNX_MODEL_FILE = path.join('onnx', 'model.onnx');

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
}

function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, (fd) => writeAll(fd, Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8')));
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
  writeJson(path.join(outDir, 'tokenizer.json'), json);
  const config: Record<string, unknown> = { tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: maxLength, clean_up_tokenization_spaces: false };
  for (const [role, text] of Object.entries(tokenizer.roles)) config[`${role}_token`] = text;
  if (padId !== undefined && config['pad_token'] === undefined) config['pad_token'] = tokenizer.decode([padId]);
  writeJson(path.join(outDir, TOKENIZER_CONFIG_FILE), config);
}

function writeModel(graph: OnnxGraph, outDir: string, metadata: Record<string, string>): number {
  const bytes = graph.encode({ name: 'kiln', version: kilnVersion() }, metadata);
  mkdirSync(path.join(outDir, 'onnx'), { recursive: true });
  writeFileAtomic(path.join(outDir, ONNX_MODEL_FILE), (fd) => writeAll(fd, bytes));
  return bytes.length;
}

function exportClassifier(modelDir: string, outDir: string): ExportOnnxResult {
  const { classifier, tokenizer, info } = loadClassifierFolder(modelDir);
  const architecture = classifier.backbone.architecture;
  if (architecture === 'lstm') {
    throw new ConfigError(`${modelDir} is an LSTM classifier, which the ONNX exporter does not write yet; GPT, Llama and BERT classifiers export`);
  }
  const graph = new OnnxGraph(`kiln-${architecture}-classifier`);
  scope(() => noGrad(() => sequenceClassifierGraph(graph, classifier, info)));
  mkdirSync(outDir, { recursive: true });
  const config = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  config['architectures'] = [{ gpt: 'GPT2ForSequenceClassification', llama: 'LlamaForSequenceClassification', bert: 'BertForSequenceClassification' }[architecture]];
  writeJson(path.join(outDir, 'config.json'), { ...config, kiln: classifierNote(info) });
  writeTokenizer(tokenizer, outDir, NO_LENGTH_LIMIT, info.pad_id);
  const bytes = writeModel(graph, outDir, { task: 'text-classification', labels: JSON.stringify(info.labels) });
  return { dir: outDir, task: 'text-classification', architecture, opset: OPSET, ops: graph.opTypes(), bytes };
}

/** What the graph does beyond the network, recorded for readers of config.json. */
function classifierNote(info: ClassifierInfo): Record<string, unknown> {
  return { pooling: info.pooling, max_length: info.max_length, truncation: info.truncation, prefix_id: info.prefix_id, note: 'input_ids are the text\'s tokens without special tokens; the graph truncates, adds the prefix and pools' };
}

function exportCausalLm(modelDir: string, outDir: string): ExportOnnxResult {
  const { model, tokenizer, architecture } = loadLanguageModel(modelDir);
  const graph = new OnnxGraph(`kiln-${architecture}`);
  let config: Record<string, unknown>;
  if (model instanceof GPT) {
    if (!model.config.bias) throw new ConfigError(`${modelDir} is a GPT without biases, which GPT-2's layout (and transformers.js' gpt2) cannot hold; train with biases to export`);
    config = hfConfigFromGpt(model.config, 'float32');
    scope(() => noGrad(() => gptCausalLmGraph(graph, model)));
  } else if (model instanceof Llama) {
    config = hfConfigFromLlama(model.config, 'float32');
    scope(() => noGrad(() => llamaCausalLmGraph(graph, model)));
  } else {
    throw new ConfigError(`${modelDir} holds a ${architecture} language model; ONNX export reads GPT and Llama language models (and GPT, Llama and BERT classifiers)`);
  }
  mkdirSync(outDir, { recursive: true });
  const idOf = (role: 'bos' | 'eos'): number | null => {
    const text = tokenizer.roles[role];
    return text === undefined ? null : tokenizer.encode(text, { allowSpecial: true })[0] ?? null;
  };
  writeJson(path.join(outDir, 'config.json'), { ...config, bos_token_id: idOf('bos'), eos_token_id: idOf('eos') });
  writeTokenizer(tokenizer, outDir, modelContextLength(model) ?? NO_LENGTH_LIMIT);
  const bytes = writeModel(graph, outDir, { task: 'text-generation' });
  return { dir: outDir, task: 'text-generation', architecture, opset: OPSET, ops: graph.opTypes(), bytes };
}

/** config.json's model_type for transformers.js: its own names where the graph computes what that model type does. */
const IMAGE_MODEL_TYPES: Record<string, { modelType: string; architecture: string }> = {
  vit: { modelType: 'vit', architecture: 'ViTForImageClassification' },
  resnet18: { modelType: 'resnet', architecture: 'ResNetForImageClassification' },
  resnet34: { modelType: 'resnet', architecture: 'ResNetForImageClassification' },
  cnn: { modelType: 'kiln_cnn', architecture: 'KilnCnnForImageClassification' },
};

function exportImageClassifier(modelDir: string, outDir: string): ExportOnnxResult {
  const { model, config, classNames } = loadImageClassifier(modelDir);
  model.eval();
  const graph = new OnnxGraph(`kiln-${config.architecture}`);
  scope(() => noGrad(() => imageClassifierGraph(graph, model, config.num_channels, config.image_size)));
  mkdirSync(outDir, { recursive: true });
  const { modelType, architecture } = IMAGE_MODEL_TYPES[config.architecture]!;
  const [height, width] = config.image_size;
  writeJson(path.join(outDir, 'config.json'), {
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
  writeJson(path.join(outDir, 'preprocessor_config.json'), {
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
  const bytes = writeModel(graph, outDir, { task: 'image-classification', labels: JSON.stringify(classNames) });
  return { dir: outDir, task: 'image-classification', architecture: config.architecture, opset: OPSET, ops: graph.opTypes(), bytes };
}

/**
 * Writes `modelDir`'s model as an ONNX folder in `outDir` (created if needed; files with the
 * same names are replaced).
 * @example exportOnnx('runs/demo/finetune-pretrained/best', 'exported/spam')
 */
export function exportOnnx(folder: string, outDir: string): ExportOnnxResult {
  const modelDir = resolveModelFolder(folder).dir; // a run folder means its best/ (an image run folder is its model)
  const { task, architecture } = describeFolder(modelDir);
  if (architecture === TFIDF_ARCHITECTURE) throw new ConfigError(`${modelDir} is the TF-IDF baseline, not a network; ONNX export writes the networks Kiln trains (GPT, Llama, BERT)`);
  if (task === CLASSIFICATION_TASK) return exportClassifier(modelDir, outDir);
  if (task === 'image-classification') return exportImageClassifier(modelDir, outDir);
  if (task === null || task === 'causal-lm') return exportCausalLm(modelDir, outDir);
  throw new ConfigError(`${modelDir} is a ${String(architecture)} ${task} model; ONNX export reads causal language models (GPT, Llama), text classifiers (GPT, Llama, BERT) and image classifiers (CNN, ResNet, ViT)`);
}

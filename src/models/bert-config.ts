/** BERT's configuration: the encoder's sizes, with defaults and validation. */

export interface BertConfig {
  /** Number of token ids (vocab_size). @default 30522 */
  vocabSize: number;
  /** Width of the residual stream (hidden_size); must be divisible by numAttentionHeads. @default 768 */
  hiddenSize: number;
  /** Number of encoder layers (num_hidden_layers). @default 12 */
  numHiddenLayers: number;
  /** Attention heads per layer (num_attention_heads). @default 12 */
  numAttentionHeads: number;
  /** Hidden size of each layer's feed-forward network (intermediate_size). @default 3072 */
  intermediateSize: number;
  /** The feed-forward activation: exact (erf) GELU, as BERT. @default 'gelu' */
  hiddenAct: 'gelu';
  /** Longest sequence the model reads: the number of learned positions. @default 512 */
  maxPositionEmbeddings: number;
  /** Number of segment (token type) ids; 2 for sentence pairs. @default 2 */
  typeVocabSize: number;
  /** @default 1e-12 */
  layerNormEps: number;
  /** Dropout on the embeddings and both residual branches, when training (hidden_dropout_prob). @default 0.1 */
  hiddenDropout: number;
  /** Dropout on the attention weights, when training (attention_probs_dropout_prob). @default 0.1 */
  attentionDropout: number;
  /** The padding token: its embedding row starts at zero and receives no gradient. @default 0 */
  padTokenId: number;
}

/** bert-base-uncased's sizes. */
export const BERT_CONFIG_DEFAULTS: Readonly<BertConfig> = Object.freeze({
  vocabSize: 30522,
  hiddenSize: 768,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  hiddenAct: 'gelu',
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  hiddenDropout: 0.1,
  attentionDropout: 0.1,
  padTokenId: 0,
});

const KEYS = Object.keys(BERT_CONFIG_DEFAULTS) as (keyof BertConfig)[];

/**
 * The defaults overridden by `overrides`, checked: unknown keys, non-integer or non-positive
 * sizes, hiddenSize not divisible by numAttentionHeads, an activation other than 'gelu',
 * dropouts outside [0, 1), a non-positive epsilon and a padTokenId outside the vocabulary are
 * errors. Returns a new frozen object; the input is not changed.
 * @example const config = bertConfig({ vocabSize: 60, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64 });
 */
export function bertConfig(overrides: Partial<BertConfig> = {}): Readonly<BertConfig> {
  const unknown = Object.keys(overrides).filter((k) => !KEYS.includes(k as keyof BertConfig));
  if (unknown.length > 0) {
    throw new Error(`BertConfig: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; the keys are ${KEYS.join(', ')}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const config: BertConfig = { ...BERT_CONFIG_DEFAULTS, ...defined };
  for (const key of ['vocabSize', 'hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'maxPositionEmbeddings', 'typeVocabSize'] as const) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`BertConfig: ${key} must be a positive integer, got ${String(value)}`);
  }
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    throw new RangeError(`BertConfig: hiddenSize (${config.hiddenSize}) must be divisible by numAttentionHeads (${config.numAttentionHeads})`);
  }
  if (config.hiddenAct !== 'gelu') {
    throw new RangeError(`BertConfig: hiddenAct '${String(config.hiddenAct)}' is not supported; Kiln's BERT uses 'gelu' (exact, erf)`);
  }
  for (const key of ['hiddenDropout', 'attentionDropout'] as const) {
    const value = config[key];
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new RangeError(`BertConfig: ${key} must be in [0, 1), got ${String(value)}`);
  }
  if (typeof config.layerNormEps !== 'number' || !(config.layerNormEps > 0 && Number.isFinite(config.layerNormEps))) {
    throw new RangeError(`BertConfig: layerNormEps must be a positive number, got ${String(config.layerNormEps)}`);
  }
  if (!Number.isInteger(config.padTokenId) || config.padTokenId < 0 || config.padTokenId >= config.vocabSize) {
    throw new RangeError(`BertConfig: padTokenId must be a token id in [0, ${config.vocabSize}) (vocabSize), got ${String(config.padTokenId)}`);
  }
  return Object.freeze(config);
}

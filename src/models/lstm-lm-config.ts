/** The LSTM language model's configuration: its sizes, with defaults and validation. */

export interface LstmLMConfig {
  /** Number of token ids. @default 10000 */
  vocabSize: number;
  /** Width of the token embedding, the LSTM's input. @default 200 */
  embeddingDim: number;
  /** Width of each LSTM layer's hidden and cell state. @default 200 */
  hiddenSize: number;
  /** Stacked LSTM layers. @default 2 */
  numLayers: number;
  /** Dropout on the embeddings, between LSTM layers and before the head, when training. @default 0.2 */
  dropout: number;
  /** The head shares the embedding's weight (needs embeddingDim === hiddenSize). @default false */
  tieWeights: boolean;
}

/** The sizes of PyTorch's word_language_model example (emsize 200, nhid 200, 2 layers, dropout 0.2). */
export const LSTM_LM_CONFIG_DEFAULTS: Readonly<LstmLMConfig> = Object.freeze({
  vocabSize: 10000,
  embeddingDim: 200,
  hiddenSize: 200,
  numLayers: 2,
  dropout: 0.2,
  tieWeights: false,
});

const KEYS = Object.keys(LSTM_LM_CONFIG_DEFAULTS) as (keyof LstmLMConfig)[];

/**
 * The defaults overridden by `overrides`, checked: unknown keys, non-positive or non-integer
 * sizes, a dropout outside [0, 1) and tied weights of unequal widths are errors. Returns a new
 * frozen object.
 * @example const config = lstmLMConfig({ vocabSize: 65, embeddingDim: 64, hiddenSize: 64, numLayers: 2 });
 */
export function lstmLMConfig(overrides: Partial<LstmLMConfig> = {}): Readonly<LstmLMConfig> {
  const unknown = Object.keys(overrides).filter((k) => !KEYS.includes(k as keyof LstmLMConfig));
  if (unknown.length > 0) {
    throw new Error(`LstmLMConfig: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; the keys are ${KEYS.join(', ')}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const config: LstmLMConfig = { ...LSTM_LM_CONFIG_DEFAULTS, ...defined };
  for (const key of ['vocabSize', 'embeddingDim', 'hiddenSize', 'numLayers'] as const) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`LstmLMConfig: ${key} must be a positive integer, got ${String(value)}`);
  }
  if (typeof config.dropout !== 'number' || !(config.dropout >= 0 && config.dropout < 1)) {
    throw new RangeError(`LstmLMConfig: dropout must be in [0, 1), got ${String(config.dropout)}`);
  }
  if (typeof config.tieWeights !== 'boolean') throw new TypeError(`LstmLMConfig: tieWeights must be true or false, got ${String(config.tieWeights)}`);
  if (config.tieWeights && config.embeddingDim !== config.hiddenSize) {
    throw new RangeError(
      `LstmLMConfig: tied weights need embeddingDim (${config.embeddingDim}) equal to hiddenSize (${config.hiddenSize}); make them equal or set tieWeights false`,
    );
  }
  return Object.freeze(config);
}

/** Llama's configuration: the sizes of a Llama-style decoder, with defaults and validation. */

export interface LlamaConfig {
  /** Number of token ids (vocab_size). @default 32000 */
  vocabSize: number;
  /** Width of the residual stream (hidden_size). @default 4096 */
  dim: number;
  /** Number of decoder layers (num_hidden_layers). @default 32 */
  nLayers: number;
  /** Query heads per layer (num_attention_heads); must divide dim. @default 32 */
  nHeads: number;
  /**
   * Key/value heads (num_key_value_heads); must divide nHeads. Fewer than nHeads is
   * grouped-query attention: each key/value head serves nHeads / nKvHeads query heads.
   * @default nHeads
   */
  nKvHeads: number;
  /** Hidden width of the SwiGLU MLP (intermediate_size). @default 11008 */
  intermediateSize: number;
  /** Longest sequence the model reads: the rotary tables' length (max_position_embeddings). @default 2048 */
  maxSeqLen: number;
  /** RMSNorm epsilon (rms_norm_eps). @default 1e-6 */
  normEps: number;
  /** Base of the rotary frequencies (rope_theta). @default 10000 */
  ropeTheta: number;
  /** The output head shares the token embedding's weight (tie_word_embeddings). @default false */
  tieEmbeddings: boolean;
}

/** Llama-2 7B's sizes; nKvHeads is absent because it defaults to nHeads. */
export const LLAMA_CONFIG_DEFAULTS: Readonly<Omit<LlamaConfig, 'nKvHeads'>> = Object.freeze({
  vocabSize: 32000,
  dim: 4096,
  nLayers: 32,
  nHeads: 32,
  intermediateSize: 11008,
  maxSeqLen: 2048,
  normEps: 1e-6,
  ropeTheta: 10000,
  tieEmbeddings: false,
});

const KEYS: (keyof LlamaConfig)[] = ['vocabSize', 'dim', 'nLayers', 'nHeads', 'nKvHeads', 'intermediateSize', 'maxSeqLen', 'normEps', 'ropeTheta', 'tieEmbeddings'];

/**
 * The defaults overridden by `overrides`, checked: unknown keys, non-integer or non-positive
 * sizes, dim not divisible by nHeads, nHeads not divisible by nKvHeads, an odd head size (RoPE
 * rotates pairs) and non-positive eps/theta are errors. nKvHeads defaults to nHeads.
 * Returns a new frozen object.
 * @example const config = llamaConfig({ vocabSize: 64, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, intermediateSize: 48, maxSeqLen: 32 });
 */
export function llamaConfig(overrides: Partial<LlamaConfig> = {}): Readonly<LlamaConfig> {
  const unknown = Object.keys(overrides).filter((k) => !KEYS.includes(k as keyof LlamaConfig));
  if (unknown.length > 0) {
    throw new Error(`LlamaConfig: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; the keys are ${KEYS.join(', ')}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<LlamaConfig>;
  const merged = { ...LLAMA_CONFIG_DEFAULTS, ...defined };
  const config: LlamaConfig = { ...merged, nKvHeads: merged.nKvHeads ?? merged.nHeads };
  for (const key of ['vocabSize', 'dim', 'nLayers', 'nHeads', 'nKvHeads', 'intermediateSize', 'maxSeqLen'] as const) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`LlamaConfig: ${key} must be a positive integer, got ${String(value)}`);
  }
  if (config.dim % config.nHeads !== 0) throw new RangeError(`LlamaConfig: dim (${config.dim}) must be divisible by nHeads (${config.nHeads})`);
  if (config.nHeads % config.nKvHeads !== 0) {
    throw new RangeError(`LlamaConfig: nHeads (${config.nHeads}) must be divisible by nKvHeads (${config.nKvHeads}) for grouped-query attention`);
  }
  if ((config.dim / config.nHeads) % 2 !== 0) {
    throw new RangeError(`LlamaConfig: the head size dim / nHeads = ${config.dim / config.nHeads} must be even (rotary embeddings rotate pairs)`);
  }
  for (const key of ['normEps', 'ropeTheta'] as const) {
    const value = config[key];
    if (typeof value !== 'number' || !(value > 0 && Number.isFinite(value))) throw new RangeError(`LlamaConfig: ${key} must be a positive number, got ${String(value)}`);
  }
  if (typeof config.tieEmbeddings !== 'boolean') throw new TypeError(`LlamaConfig: tieEmbeddings must be true or false, got ${String(config.tieEmbeddings)}`);
  return Object.freeze(config);
}

/** GPT's configuration: the GPT-2 architecture's sizes, with defaults and validation. */

export interface GPTConfig {
  /** Number of token ids (GPT-2's vocab_size). @default 50257 */
  vocabSize: number;
  /** Longest sequence the model reads: the number of learned positions (n_positions). @default 1024 */
  blockSize: number;
  /** Number of transformer blocks (n_layer). @default 12 */
  nLayer: number;
  /** Attention heads per block (n_head); must divide nEmbd. @default 12 */
  nHead: number;
  /** Width of the residual stream (n_embd). @default 768 */
  nEmbd: number;
  /**
   * Dropout on the embeddings, the attention weights and both residual branches, when training
   * (GPT-2's embd_pdrop, attn_pdrop and resid_pdrop in one). 0 suits pretraining; GPT-2 used 0.1.
   * @default 0
   */
  dropout: number;
  /** (layer_norm_epsilon) @default 1e-5 */
  layerNormEpsilon: number;
  /**
   * Biases in the Linear and LayerNorm layers, as GPT-2 has. Without them (nanoGPT's
   * `bias=False`) training is a little faster, but the model cannot be saved in GPT-2's layout.
   * @default true
   */
  bias: boolean;
}

/** GPT-2 small's sizes. */
export const GPT_CONFIG_DEFAULTS: Readonly<GPTConfig> = Object.freeze({
  vocabSize: 50257,
  blockSize: 1024,
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  dropout: 0,
  layerNormEpsilon: 1e-5,
  bias: true,
});

const KEYS = Object.keys(GPT_CONFIG_DEFAULTS) as (keyof GPTConfig)[];

/**
 * The defaults overridden by `overrides`, checked: unknown keys, non-integer or non-positive
 * sizes, nEmbd not divisible by nHead, dropout outside [0, 1) and a non-positive epsilon are
 * errors. Returns a new frozen object; the input is not changed.
 * @example const config = gptConfig({ vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 });
 */
export function gptConfig(overrides: Partial<GPTConfig> = {}): Readonly<GPTConfig> {
  const unknown = Object.keys(overrides).filter((k) => !KEYS.includes(k as keyof GPTConfig));
  if (unknown.length > 0) {
    throw new Error(`GPTConfig: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; the keys are ${KEYS.join(', ')}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const config: GPTConfig = { ...GPT_CONFIG_DEFAULTS, ...defined };
  for (const key of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`GPTConfig: ${key} must be a positive integer, got ${String(value)}`);
  }
  if (config.nEmbd % config.nHead !== 0) {
    throw new RangeError(`GPTConfig: nEmbd (${config.nEmbd}) must be divisible by nHead (${config.nHead})`);
  }
  if (typeof config.dropout !== 'number' || !(config.dropout >= 0 && config.dropout < 1)) {
    throw new RangeError(`GPTConfig: dropout must be in [0, 1), got ${String(config.dropout)}`);
  }
  if (typeof config.layerNormEpsilon !== 'number' || !(config.layerNormEpsilon > 0 && Number.isFinite(config.layerNormEpsilon))) {
    throw new RangeError(`GPTConfig: layerNormEpsilon must be a positive number, got ${String(config.layerNormEpsilon)}`);
  }
  if (typeof config.bias !== 'boolean') throw new TypeError(`GPTConfig: bias must be true or false, got ${String(config.bias)}`);
  return Object.freeze(config);
}

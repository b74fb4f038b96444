/**
 * Text generation from a masked language model (BERT), which has no next-token head: append
 * [MASK] to the context, predict what stands there, put the choice in its place, and repeat.
 * The model sees the last `contextLength − 1` tokens and the [MASK], so every step asks the
 * same question training taught it: what is this masked token, given its left context.
 *
 * B = batch, T = time, V = vocabulary size.
 */
import { noGrad } from '../tensor/autograd.js';
import { full, manualSeed } from '../tensor/creation.js';
import { cat } from '../tensor/ops.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { type GenerateOptions, checkGenerateOptions, nextToken } from './sampling.js';

/** A masked LM: token ids in, logits at every position out. */
export interface MaskedLanguageModel extends Module {
  /** ids (B, T) int64 -> logits (B, T, V) */
  forward(ids: Tensor): Tensor;
}

export interface MaskedGenerateOptions extends GenerateOptions {
  /** The [MASK] token's id. */
  maskTokenId: number;
  /** The longest sequence the model reads (BERT's maxPositionEmbeddings), [MASK] included. */
  contextLength: number;
  /** Number of token ids (the logits' last dimension). */
  vocabSize: number;
  // suppressIds (GenerateOptions): [MASK] is always among them.
}

/**
 * Appends `maxNewTokens` tokens to each row of ids by iterative masked prediction, choosing each
 * with the same greedy / temperature / top-k / top-p rules as the causal models. Runs without
 * gradients and in eval mode (each module's mode is restored afterwards).
 * ids (B, T) int64 -> (B, T + maxNewTokens) int64
 * @example
 * const out = generateByMasking(bert, ids, { maxNewTokens: 20, maskTokenId: 4, contextLength: 64, vocabSize: 60, temperature: 0.8 });
 */
export function generateByMasking(model: MaskedLanguageModel, ids: Tensor, options: MaskedGenerateOptions): Tensor {
  const who = 'generateByMasking';
  const { maskTokenId, contextLength, vocabSize } = options;
  if (!Number.isInteger(maskTokenId) || maskTokenId < 0 || maskTokenId >= vocabSize) {
    throw new RangeError(`${who}: maskTokenId must be a token id in [0, ${vocabSize}), got ${String(maskTokenId)}`);
  }
  // [MASK] stands for "unknown": choosing it would feed the model its own question back.
  const sampling: GenerateOptions = { ...options, suppressIds: [...new Set([maskTokenId, ...(options.suppressIds ?? [])])] };
  checkGenerateOptions(sampling, vocabSize, who);
  if (!Number.isInteger(contextLength) || contextLength < 2) {
    throw new RangeError(`${who}: contextLength must be at least 2 (one token of context and the [MASK]), got ${String(contextLength)}`);
  }
  if (!(ids instanceof Tensor) || ids.ndim !== 2 || ids.dtype !== 'int64' || ids.shape[1] === 0) {
    throw new TypeError(`${who}: ids must be (B, T) int64 token ids with T ≥ 1 (the prompt), got ${ids instanceof Tensor ? `${ids.dtype} [${ids.shape.join(', ')}]` : typeof ids}`);
  }
  if (options.seed !== undefined) manualSeed(options.seed);
  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  try {
    return noGrad(() => {
      const B = ids.shape[0]!;
      let out = ids;
      for (let step = 0; step < options.maxNewTokens; step++) {
        const previous = out;
        out = scope(() => {
          const T = previous.shape[1]!;
          const keep = Math.min(T, contextLength - 1);
          const context = previous.narrow(1, T - keep, keep); // (B, keep)
          const mask = full([B, 1], maskTokenId, { dtype: 'int64' }); // (B, 1)
          const logits = model.forward(cat([context, mask], 1)).select(1, -1); // (B, keep + 1, V) -> (B, V)
          return cat([previous, nextToken(logits, sampling, previous)], 1); // (B, T + 1)
        });
        if (previous !== ids) previous.dispose();
      }
      return out;
    });
  } finally {
    for (const [module, training] of modes) module.training = training;
  }
}

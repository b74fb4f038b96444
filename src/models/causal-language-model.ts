/**
 * What every decoder-only language model shares: checking token ids, the causal-LM loss, and
 * generation by feeding back sampled tokens. GPT and Llama extend it and supply `forward`.
 */
import { noGrad } from '../tensor/autograd.js';
import { manualSeed } from '../tensor/creation.js';
import { cat } from '../tensor/ops.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { crossEntropy } from '../nn/functional.js';
import { KVCache } from '../nn/kv-cache.js';
import { Module } from '../nn/module.js';
import { type GenerateOptions, checkGenerateOptions, nextToken } from './sampling.js';

export abstract class CausalLanguageModel extends Module {
  /** The model's name in messages ('GPT', 'Llama'). */
  protected abstract readonly modelName: string;
  /** Number of token ids, [0, vocabSize). */
  protected abstract get vocabSize(): number;
  /** The longest context the model takes, and that setting's name in its config. */
  protected abstract get contextLimit(): { name: string; length: number };

  /** ids (B, T) int64, T within the context limit -> logits (B, T, V) */
  abstract forward(ids: Tensor): Tensor;

  /** Throws a clear error unless ids is (B, T) int64 with T ≤ maxLength and every id in [0, V). */
  protected checkIds(ids: Tensor, who: string, maxLength: number): void {
    if (!(ids instanceof Tensor)) throw new TypeError(`${who}: ids must be a Tensor`);
    if (ids.ndim !== 2 || ids.dtype !== 'int64') {
      throw new TypeError(`${who}: ids must be (B, T) int64 token ids, got ${ids.dtype} of shape [${ids.shape.join(', ')}]`);
    }
    const T = ids.shape[1]!;
    if (T > maxLength) {
      const { name, length } = this.contextLimit;
      throw new RangeError(`${who}: the sequence has ${T} tokens but the model's ${name} is ${length}; pass at most ${maxLength} (e.g. the last ${maxLength})`);
    }
    if (ids.numel() === 0) return;
    const lowest = ids.amin().item();
    const highest = ids.amax().item();
    if (lowest < 0 || highest >= this.vocabSize) {
      throw new RangeError(`${who}: token ids must be in [0, ${this.vocabSize}) (vocabSize), got ids from ${lowest} to ${highest}`);
    }
  }

  /**
   * Mean causal-LM cross-entropy: the logits at position t are scored against targets[t], the
   * token that follows ids[t] (pass targets already shifted, as nanoGPT does; Hugging Face's
   * `labels` are shifted inside the model instead). Targets equal to −100 are ignored.
   * ids, targets (B, T) int64 -> scalar
   */
  loss(ids: Tensor, targets: Tensor): Tensor {
    if (!(targets instanceof Tensor) || targets.dtype !== 'int64' || targets.ndim !== 2 || targets.shape[0] !== ids.shape[0] || targets.shape[1] !== ids.shape[1]) {
      const got = targets instanceof Tensor ? `${targets.dtype} of shape [${targets.shape.join(', ')}]` : typeof targets;
      throw new TypeError(`${this.modelName}.loss: targets must be int64 shaped like ids [${ids.shape.join(', ')}], got ${got}`);
    }
    const logits = this.forward(ids); // (B, T, V)
    const [B, T, V] = logits.shape as [number, number, number];
    return crossEntropy(logits.view(B * T, V), targets.reshape(B * T), { ignoreIndex: -100 }); // (B·T, V), (B·T) -> ()
  }

  /**
   * The number of attention layers a key/value cache needs, or null for a model that generates
   * without one. Models with a cache override this and `forwardCached`.
   */
  protected get cacheLayers(): number | null {
    return null;
  }

  /** ids (B, T): new tokens after the `cache.length` cached ones -> next-token logits (B, V) at the last of them. */
  protected forwardCached(_ids: Tensor, _cache: KVCache): Tensor {
    throw new Error(`${this.modelName} has no cached forward`);
  }

  /**
   * Appends `maxNewTokens` tokens to each row of ids, feeding back each choice; the model sees
   * at most the last context-limit tokens. With a cache (the default where the model has one),
   * the prompt is read once and each new token costs one position per layer; once the text
   * outgrows the context, each token rereads the last window (as without a cache), so both
   * paths choose the same tokens. Runs without gradients and in eval mode (no dropout); each
   * module's mode is restored afterwards. ids (B, T) int64 -> (B, T + maxNewTokens) int64
   */
  generate(ids: Tensor, options: GenerateOptions): Tensor {
    return this.generating(ids, options, () => {
      const window = this.contextLimit.length;
      const layers = options.useCache === false ? null : this.cacheLayers;
      const T0 = ids.shape[1]!;
      // The last new token is never fed back, so the cache holds at most T0 + maxNewTokens − 1 positions.
      const cache = layers === null || T0 > window ? null : new KVCache(layers, Math.min(window, T0 + options.maxNewTokens - 1));
      let out = ids;
      try {
        for (let step = 0; step < options.maxNewTokens; step++) {
          const previous = out;
          out = scope(() => {
            const T = previous.shape[1]!;
            let logits: Tensor; // (B, V) at the last position
            if (cache !== null && T <= cache.capacity) {
              const fresh = previous.narrow(1, cache.length, T - cache.length); // the prompt, then the last token
              logits = this.forwardCached(fresh, cache);
            } else {
              const context = T > window ? previous.narrow(1, T - window, window) : previous; // (B, min(T, window))
              logits = this.forward(context).select(1, -1); // (B, T', V) -> (B, V), the last position
            }
            return cat([previous, nextToken(logits, options, previous)], 1); // (B, T) + (B, 1) -> (B, T + 1)
          });
          if (previous !== ids) previous.dispose();
        }
      } finally {
        cache?.dispose();
      }
      return out;
    });
  }

  /**
   * What every generate shares: checks the options and the prompt, seeds, then runs `body`
   * without gradients in eval mode, restoring each module's mode afterwards.
   */
  protected generating(ids: Tensor, options: GenerateOptions, body: () => Tensor): Tensor {
    const who = `${this.modelName}.generate`;
    checkGenerateOptions(options, this.vocabSize, who);
    this.checkIds(ids, who, Number.POSITIVE_INFINITY);
    if (ids.shape[1] === 0) throw new RangeError(`${who}: ids must hold at least one token per row (the prompt)`);
    if (options.seed !== undefined) manualSeed(options.seed);
    const modes = this.modules().map((m) => [m, m.training] as const);
    this.eval();
    try {
      return noGrad(body);
    } finally {
      for (const [module, training] of modes) module.training = training;
    }
  }
}

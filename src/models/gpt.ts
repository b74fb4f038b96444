/**
 * GPT: the GPT-2 architecture under Hugging Face's GPT2LMHeadModel parameter names, so its
 * state dict lines up with GPT-2 checkpoints key for key (`transformer.wte.weight`,
 * `transformer.h.0.attn.c_attn.weight`, …, `lm_head.weight`, the last tied to the token
 * embedding). Only Hugging Face's Conv1D layers differ: they store weights (in, out) where
 * Kiln's Linear keeps (out, in); io/hf-gpt2.ts transposes them on the way in and out.
 *
 * B = batch, T = time (sequence length), C = nEmbd, V = vocabSize.
 */
import { noGrad } from '../tensor/autograd.js';
import { arange, manualSeed } from '../tensor/creation.js';
import { cat } from '../tensor/ops.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { crossEntropy } from '../nn/functional.js';
import { GPTBlock } from '../nn/gpt-block.js';
import { normal_, zeros_ } from '../nn/init.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { type GPTConfig, gptConfig } from './gpt-config.js';
import { type GenerateOptions, checkGenerateOptions, nextToken } from './sampling.js';

/** GPT-2's initializer_range: the std of every weight matrix and embedding at init. */
const INIT_STD = 0.02;

/** The body (Hugging Face's GPT2Model): embeddings, blocks, final norm. ids (B, T) -> (B, T, C). */
export class GPTTransformer extends Module {
  /** Token embedding (V, C); also the output head's weight. */
  wte: Embedding;
  /** Learned position embedding (blockSize, C). */
  wpe: Embedding;
  drop: Dropout;
  h: GPTBlock[];
  ln_f: LayerNorm;

  constructor(readonly config: Readonly<GPTConfig>) {
    super();
    const { vocabSize, blockSize, nLayer, nHead, nEmbd, dropout, layerNormEpsilon } = config;
    this.wte = new Embedding(vocabSize, nEmbd);
    this.wpe = new Embedding(blockSize, nEmbd);
    this.drop = new Dropout(dropout);
    this.h = Array.from(
      { length: nLayer },
      () => new GPTBlock(nEmbd, nHead, { attnDropout: dropout, residDropout: dropout, layerNormEps: layerNormEpsilon }),
    );
    this.ln_f = new LayerNorm(nEmbd, { eps: layerNormEpsilon });
  }

  /** ids (B, T) int64, already checked by GPT -> hidden states (B, T, C) */
  forward(ids: Tensor): Tensor {
    const T = ids.shape[1]!;
    const positions = arange(T, { dtype: 'int64', device: ids.device }); // (T)
    const tokens = this.wte.forward(ids); // (B, T, C)
    let x = this.drop.forward(tokens.add(this.wpe.forward(positions))); // (B, T, C) + (T, C) -> (B, T, C)
    for (const block of this.h) x = block.forward(x); // (B, T, C)
    return this.ln_f.forward(x); // (B, T, C)
  }
}

/**
 * A GPT-2 language model. Starts from GPT-2's initialisation: weights N(0, 0.02), the residual
 * projections (`attn.c_proj`, `mlp.c_proj`) N(0, 0.02/√(2·nLayer)), biases zero, layer norms
 * ones and zeros; the output head shares the token embedding.
 * @example
 * const model = new GPT({ vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 });
 * const loss = model.loss(x, y); // x, y (B, T) int64, y = x shifted left by one
 */
export class GPT extends Module {
  transformer: GPTTransformer;
  /** (C) -> (V), no bias; its weight is transformer.wte.weight (tied). */
  lm_head: Linear;
  readonly config: Readonly<GPTConfig>;

  constructor(config: Partial<GPTConfig> = {}) {
    super();
    this.config = gptConfig(config);
    this.transformer = new GPTTransformer(this.config);
    this.lm_head = new Linear(this.config.nEmbd, this.config.vocabSize, { bias: false });
    this.lm_head.weight = this.transformer.wte.weight; // tied: one Parameter under two names
    if (!this.config.bias) this.#removeBiases();
    this.#initWeights();
  }

  /** nanoGPT's `bias=False`: GPTBlock builds its layers with biases, so drop them here. */
  #removeBiases(): void {
    for (const module of this.modules()) {
      if (module instanceof Linear || module instanceof LayerNorm) module.bias = null;
    }
  }

  #initWeights(): void {
    const residualStd = INIT_STD / Math.sqrt(2 * this.config.nLayer);
    for (const [name, module] of this.namedModules()) {
      if (module === this.lm_head) continue; // tied to wte, initialised there
      if (module instanceof Linear) {
        // c_proj writes into the residual stream; scaling keeps its variance from growing with depth.
        normal_(module.weight, 0, name.endsWith('.c_proj') ? residualStd : INIT_STD);
        if (module.bias !== null) zeros_(module.bias);
      } else if (module instanceof Embedding) {
        normal_(module.weight, 0, INIT_STD);
      }
    }
  }

  /** Throws a clear error unless ids is (B, T) int64 with 1 ≤ T ≤ blockSize and every id in [0, V). */
  #checkIds(ids: Tensor, who: string, maxLength: number): void {
    if (!(ids instanceof Tensor)) throw new TypeError(`${who}: ids must be a Tensor`);
    if (ids.ndim !== 2 || ids.dtype !== 'int64') {
      throw new TypeError(`${who}: ids must be (B, T) int64 token ids, got ${ids.dtype} of shape [${ids.shape.join(', ')}]`);
    }
    const T = ids.shape[1]!;
    if (T > maxLength) {
      throw new RangeError(`${who}: the sequence has ${T} tokens but the model's blockSize is ${this.config.blockSize}; pass at most ${maxLength} (e.g. the last ${maxLength})`);
    }
    if (ids.numel() === 0) return;
    const lowest = ids.amin().item();
    const highest = ids.amax().item();
    if (lowest < 0 || highest >= this.config.vocabSize) {
      throw new RangeError(`${who}: token ids must be in [0, ${this.config.vocabSize}) (vocabSize), got ids from ${lowest} to ${highest}`);
    }
  }

  /** ids (B, T) int64, T ≤ blockSize -> logits (B, T, V) */
  forward(ids: Tensor): Tensor {
    this.#checkIds(ids, 'GPT.forward', this.config.blockSize);
    return this.lm_head.forward(this.transformer.forward(ids)); // (B, T, C) -> (B, T, V)
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
      throw new TypeError(`GPT.loss: targets must be int64 shaped like ids [${ids.shape.join(', ')}], got ${got}`);
    }
    const logits = this.forward(ids); // (B, T, V)
    const [B, T, V] = logits.shape as [number, number, number];
    return crossEntropy(logits.view(B * T, V), targets.reshape(B * T), { ignoreIndex: -100 }); // (B·T, V), (B·T) -> ()
  }

  /**
   * Appends `maxNewTokens` tokens to each row of ids, feeding back each choice; the model sees
   * at most the last blockSize tokens. Runs without gradients and in eval mode (no dropout);
   * each module's mode is restored afterwards.
   * ids (B, T) int64 -> (B, T + maxNewTokens) int64
   */
  generate(ids: Tensor, options: GenerateOptions): Tensor {
    checkGenerateOptions(options, this.config.vocabSize, 'GPT.generate');
    this.#checkIds(ids, 'GPT.generate', Number.POSITIVE_INFINITY);
    if (ids.shape[1] === 0) throw new RangeError('GPT.generate: ids must hold at least one token per row (the prompt)');
    if (options.seed !== undefined) manualSeed(options.seed);
    const modes = this.modules().map((m) => [m, m.training] as const);
    this.eval();
    try {
      return noGrad(() => {
        let out = ids;
        for (let step = 0; step < options.maxNewTokens; step++) {
          const previous = out;
          out = scope(() => {
            const T = previous.shape[1]!;
            const blockSize = this.config.blockSize;
            const context = T > blockSize ? previous.narrow(1, T - blockSize, blockSize) : previous; // (B, min(T, blockSize))
            const logits = this.forward(context).select(1, -1); // (B, T', V) -> (B, V), the last position
            return cat([previous, nextToken(logits, options)], 1); // (B, T) + (B, 1) -> (B, T + 1)
          });
          if (previous !== ids) previous.dispose();
        }
        return out;
      });
    } finally {
      for (const [module, training] of modes) module.training = training;
    }
  }

  override extraRepr(): string {
    const { vocabSize, blockSize, nLayer, nHead, nEmbd } = this.config;
    return `vocabSize=${vocabSize}, blockSize=${blockSize}, nLayer=${nLayer}, nHead=${nHead}, nEmbd=${nEmbd}`;
  }
}

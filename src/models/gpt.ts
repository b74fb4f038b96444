/**
 * GPT: the GPT-2 architecture under Hugging Face's GPT2LMHeadModel parameter names, so its
 * state dict lines up with GPT-2 checkpoints key for key (`transformer.wte.weight`,
 * `transformer.h.0.attn.c_attn.weight`, …, `lm_head.weight`, the last tied to the token
 * embedding). Only Hugging Face's Conv1D layers differ: they store weights (in, out) where
 * Kiln's Linear keeps (out, in); io/hf-gpt2.ts transposes them on the way in and out.
 *
 * B = batch, T = time (sequence length), C = nEmbd, V = vocabSize.
 */
import { arange } from '../tensor/creation.js';
import type { KVCache } from '../nn/kv-cache.js';
import { Tensor } from '../tensor/tensor.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { GPTBlock } from '../nn/gpt-block.js';
import { runBlocks } from '../nn/gradient-checkpointing.js';
import { normal_, zeros_ } from '../nn/init.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { type GPTConfig, gptConfig } from './gpt-config.js';
import { CausalLanguageModel } from './causal-language-model.js';

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
  /** Recompute each block's activations in backward (setGradientCheckpointing). */
  gradientCheckpointing = false;

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
    x = runBlocks(x, this.h, (block, h) => block.forward(h), this.gradientCheckpointing); // (B, T, C)
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
export class GPT extends CausalLanguageModel {
  protected readonly modelName = 'GPT';
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

  protected get vocabSize(): number {
    return this.config.vocabSize;
  }

  protected get contextLimit(): { name: string; length: number } {
    return { name: 'blockSize', length: this.config.blockSize };
  }

  /** ids (B, T) int64, T ≤ blockSize -> logits (B, T, V) */
  forward(ids: Tensor): Tensor {
    this.checkIds(ids, 'GPT.forward', this.config.blockSize);
    return this.lm_head.forward(this.transformer.forward(ids)); // (B, T, C) -> (B, T, V)
  }

  protected override get cacheLayers(): number {
    return this.config.nLayer;
  }

  /** ids (B, T) at positions P..P+T-1 after the cache's P -> logits (B, V) at the last. */
  protected override forwardCached(ids: Tensor, cache: KVCache): Tensor {
    const t = this.transformer;
    const past = cache.length;
    const T = ids.shape[1]!;
    const positions = arange(past, past + T, 1, { dtype: 'int64', device: ids.device }); // (T)
    let x = t.wte.forward(ids).add(t.wpe.forward(positions)); // (B, T, C)
    t.h.forEach((block, i) => {
      x = block.forwardCached(x, cache.layers[i]!, past); // (B, T, C)
    });
    cache.advance(T);
    return this.lm_head.forward(t.ln_f.forward(x.select(1, -1))); // (B, C) -> (B, V)
  }

  override extraRepr(): string {
    const { vocabSize, blockSize, nLayer, nHead, nEmbd } = this.config;
    return `vocabSize=${vocabSize}, blockSize=${blockSize}, nLayer=${nLayer}, nHead=${nHead}, nEmbd=${nEmbd}`;
  }
}

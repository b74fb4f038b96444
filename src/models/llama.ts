/**
 * Llama: a decoder-only transformer with RMSNorm (pre-norm), rotary position embeddings
 * (Hugging Face's rotate_half convention), a SwiGLU MLP and grouped-query attention, under
 * Hugging Face's LlamaForCausalLM parameter names (`model.embed_tokens.weight`,
 * `model.layers.N.self_attn.q_proj.weight`, …, `model.norm.weight`, `lm_head.weight`), so
 * loading a checkpoint is a key-for-key copy (io/hf-llama.ts).
 *
 * B = batch, T = time (sequence length), C = dim, V = vocabSize.
 */
import { Tensor } from '../tensor/tensor.js';
import { Embedding } from '../nn/embedding.js';
import { runBlocks } from '../nn/gradient-checkpointing.js';
import type { KVCache, LayerCache } from '../nn/kv-cache.js';
import { GroupedQueryAttention } from '../nn/grouped-query-attention.js';
import { normal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { RMSNorm } from '../nn/rms-norm.js';
import { RotaryEmbedding } from '../nn/rotary-embedding.js';
import { SwiGLUMLP } from '../nn/swiglu-mlp.js';
import { type LlamaConfig, llamaConfig } from './llama-config.js';
import { CausalLanguageModel } from './causal-language-model.js';

/** Llama's initializer_range: the std of every weight matrix and embedding at init. */
const INIT_STD = 0.02;

/** One decoder layer (LlamaDecoderLayer): x + attn(norm(x)), then + mlp(norm(x)). (B, T, C) -> (B, T, C) */
export class LlamaDecoderLayer extends Module {
  input_layernorm: RMSNorm;
  self_attn: GroupedQueryAttention;
  post_attention_layernorm: RMSNorm;
  mlp: SwiGLUMLP;

  /** `rotary`: the model's shared cos/sin tables (one copy for all layers). */
  constructor(config: Readonly<LlamaConfig>, rotary: RotaryEmbedding) {
    super();
    const { dim, nHeads, nKvHeads, intermediateSize, normEps } = config;
    this.input_layernorm = new RMSNorm(dim, normEps);
    this.self_attn = new GroupedQueryAttention(dim, nHeads, { nKvHeads, rotary });
    this.post_attention_layernorm = new RMSNorm(dim, normEps);
    this.mlp = new SwiGLUMLP(dim, intermediateSize);
  }

  forward(x: Tensor): Tensor {
    const h = x.add(this.self_attn.forward(this.input_layernorm.forward(x))); // (B, T, C)
    return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h))); // (B, T, C)
  }

  /** forward for generation with a cache: x (B, T, C) the new positions after `past` cached ones. */
  forwardCached(x: Tensor, cache: LayerCache, past: number): Tensor {
    const h = x.add(this.self_attn.forwardCached(this.input_layernorm.forward(x), cache, past)); // (B, T, C)
    return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h))); // (B, T, C)
  }
}

/** The body (Hugging Face's LlamaModel): embedding, layers, final norm. ids (B, T) -> (B, T, C). */
export class LlamaModel extends Module {
  /** (V, C) */
  embed_tokens: Embedding;
  layers: LlamaDecoderLayer[];
  norm: RMSNorm;
  /** Recompute each layer's activations in backward (setGradientCheckpointing). */
  gradientCheckpointing = false;

  constructor(readonly config: Readonly<LlamaConfig>) {
    super();
    this.embed_tokens = new Embedding(config.vocabSize, config.dim);
    const rotary = new RotaryEmbedding(config.dim / config.nHeads, config.maxSeqLen, config.ropeTheta);
    this.layers = Array.from({ length: config.nLayers }, () => new LlamaDecoderLayer(config, rotary));
    this.norm = new RMSNorm(config.dim, config.normEps);
  }

  /** ids (B, T) int64, already checked by Llama -> hidden states (B, T, C) */
  forward(ids: Tensor): Tensor {
    let x = this.embed_tokens.forward(ids); // (B, T, C); positions enter through RoPE only
    x = runBlocks(x, this.layers, (layer, h) => layer.forward(h), this.gradientCheckpointing); // (B, T, C)
    return this.norm.forward(x); // (B, T, C)
  }
}

/**
 * A Llama-style causal language model (LlamaForCausalLM). Starts from Llama's initialisation:
 * weights and embedding N(0, 0.02), norms ones; with tieEmbeddings the head shares the
 * embedding's Parameter.
 * @example
 * const model = new Llama({ vocabSize: 64, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, intermediateSize: 48, maxSeqLen: 32 });
 * const loss = model.loss(x, y); // x, y (B, T) int64, y = x shifted left by one
 */
export class Llama extends CausalLanguageModel {
  protected readonly modelName = 'Llama';
  model: LlamaModel;
  /** (C) -> (V), no bias */
  lm_head: Linear;
  readonly config: Readonly<LlamaConfig>;

  constructor(config: Partial<LlamaConfig> = {}) {
    super();
    this.config = llamaConfig(config);
    this.model = new LlamaModel(this.config);
    this.lm_head = new Linear(this.config.dim, this.config.vocabSize, { bias: false });
    for (const module of this.modules()) {
      if (module instanceof Linear || module instanceof Embedding) normal_(module.weight, 0, INIT_STD);
    }
    if (this.config.tieEmbeddings) this.lm_head.weight = this.model.embed_tokens.weight; // one Parameter under two names
  }

  protected get vocabSize(): number {
    return this.config.vocabSize;
  }

  protected get contextLimit(): { name: string; length: number } {
    return { name: 'maxSeqLen', length: this.config.maxSeqLen };
  }

  /** ids (B, T) int64, T ≤ maxSeqLen -> logits (B, T, V) */
  forward(ids: Tensor): Tensor {
    this.checkIds(ids, 'Llama.forward', this.config.maxSeqLen);
    return this.lm_head.forward(this.model.forward(ids)); // (B, T, C) -> (B, T, V)
  }

  protected override get cacheLayers(): number {
    return this.config.nLayers;
  }

  /** ids (B, T) at positions P..P+T-1 after the cache's P -> logits (B, V) at the last. */
  protected override forwardCached(ids: Tensor, cache: KVCache): Tensor {
    const past = cache.length;
    let x = this.model.embed_tokens.forward(ids); // (B, T, C)
    this.model.layers.forEach((layer, i) => {
      x = layer.forwardCached(x, cache.layers[i]!, past); // (B, T, C)
    });
    cache.advance(ids.shape[1]!);
    return this.lm_head.forward(this.model.norm.forward(x.select(1, -1))); // (B, C) -> (B, V)
  }

  override extraRepr(): string {
    const { vocabSize, dim, nLayers, nHeads, nKvHeads, intermediateSize, maxSeqLen } = this.config;
    return `vocabSize=${vocabSize}, dim=${dim}, nLayers=${nLayers}, nHeads=${nHeads}, nKvHeads=${nKvHeads}, intermediateSize=${intermediateSize}, maxSeqLen=${maxSeqLen}`;
  }
}

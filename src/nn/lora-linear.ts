/**
 * LoRA (Hu et al., 2021): a frozen Linear plus a trainable low-rank update,
 *   y = x Wᵀ + b + (α / r) · dropout(x) Aᵀ Bᵀ,
 * with A (r, in) drawn as PyTorch's Linear default (PEFT's kaiming_uniform(a = √5)) and
 * B (out, r) zero, so training starts from the base model's exact outputs. It extends Linear
 * and shares the base layer's weight and bias Parameters, so the weight keeps its name
 * (`c_attn.weight`) and its checkpoint layout; the adapter adds `lora_A` and `lora_B`.
 *
 * in = inFeatures, out = outFeatures, r = rank.
 */
import { empty } from '../tensor/creation.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout } from './dropout.js';
import { linear } from './functional.js';
import { kaimingUniform_, zeros_ } from './init.js';
import { Linear } from './linear.js';
import { Parameter } from './parameter.js';

export interface LoRAOptions {
  /** Rank r of the update. @default 8 */
  rank?: number;
  /** Scale α: the update is multiplied by α / r. @default 16 */
  alpha?: number;
  /** Dropout on the adapter's input, when training. @default 0 */
  dropout?: number;
}

export class LoRALinear extends Linear {
  /** (r, in) */
  lora_A: Parameter;
  /** (out, r) */
  lora_B: Parameter;
  lora_dropout: Dropout;
  readonly rank: number;
  readonly alpha: number;
  readonly scaling: number;
  /** Whether the update is folded into the weight (then forward is the plain Linear's). */
  #merged = false;
  /** The wrapped layer (private, so the module walk does not list its Parameters twice). */
  readonly #base: Linear;

  /** Wraps `base`: its weight and bias are shared, not copied, and frozen. */
  constructor(base: Linear, options: LoRAOptions = {}) {
    super(1, 1, { bias: false }); // placeholders, replaced by the base layer's own Parameters
    this.#base = base;
    const rank = options.rank ?? 8;
    const alpha = options.alpha ?? 16;
    const dropout = options.dropout ?? 0;
    if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`LoRALinear: rank must be a positive integer, got ${rank}`);
    if (!(alpha > 0)) throw new RangeError(`LoRALinear: alpha must be positive, got ${alpha}`);
    Object.assign(this, { inFeatures: base.inFeatures, outFeatures: base.outFeatures });
    this.weight = base.weight;
    this.bias = base.bias;
    this.weight.requiresGrad = false;
    if (this.bias !== null) this.bias.requiresGrad = false;
    const dtype = base.weight.dtype;
    this.lora_A = new Parameter(empty([rank, base.inFeatures], { dtype }));
    this.lora_B = new Parameter(empty([base.outFeatures, rank], { dtype }));
    kaimingUniform_(this.lora_A, { a: Math.sqrt(5) });
    zeros_(this.lora_B);
    this.lora_dropout = new Dropout(dropout);
    this.rank = rank;
    this.alpha = alpha;
    this.scaling = alpha / rank;
  }

  /** The plain Linear this adapter wraps (same weight and bias Parameters). */
  get base(): Linear {
    return this.#base;
  }

  get merged(): boolean {
    return this.#merged;
  }

  /** x (..., in) -> (..., out) */
  override forward(x: Tensor): Tensor {
    const y = linear(x, this.weight, this.bias); // (..., out)
    if (this.#merged) return y;
    const update = linear(linear(this.lora_dropout.forward(x), this.lora_A, null), this.lora_B, null); // (..., in) -> (..., r) -> (..., out)
    return y.add(update.mul(this.scaling));
  }

  /** (α / r) · B A: the (out, in) change the adapter makes to the weight. */
  deltaWeight(): Tensor {
    return this.lora_B.matmul(this.lora_A).mul(this.scaling); // (out, r) @ (r, in) -> (out, in)
  }

  /** Folds the update into the weight in place: W ← W + (α / r) B A. */
  merge_(): void {
    if (this.#merged) return;
    noGrad(() => scope(() => void this.weight.add_(this.deltaWeight())));
    this.#merged = true;
  }

  /** Takes the update back out of the weight: W ← W − (α / r) B A. */
  unmerge_(): void {
    if (!this.#merged) return;
    noGrad(() => scope(() => void this.weight.sub_(this.deltaWeight())));
    this.#merged = false;
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, rank=${this.rank}, alpha=${this.alpha}`;
  }
}

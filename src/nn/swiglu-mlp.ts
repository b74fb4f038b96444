/**
 * The SwiGLU feed-forward block under Hugging Face's LlamaMLP names:
 * down_proj(silu(gate_proj(x)) · up_proj(x)), no biases.
 *
 * C = dim, H = hidden (intermediate) size.
 */
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export class SwiGLUMLP extends Module {
  /** (C) -> (H), goes through SiLU */
  gate_proj: Linear;
  /** (C) -> (H), the linear branch */
  up_proj: Linear;
  /** (H) -> (C) */
  down_proj: Linear;

  constructor(readonly dim: number, readonly hiddenSize: number) {
    super();
    this.gate_proj = new Linear(dim, hiddenSize, { bias: false });
    this.up_proj = new Linear(dim, hiddenSize, { bias: false });
    this.down_proj = new Linear(hiddenSize, dim, { bias: false });
  }

  /** (..., C) -> (..., C) */
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(this.gate_proj.forward(x).silu().mul(this.up_proj.forward(x))); // (..., H) -> (..., C)
  }

  override extraRepr(): string {
    return `dim=${this.dim}, hiddenSize=${this.hiddenSize}`;
  }
}

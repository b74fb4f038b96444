import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { GELU } from './activation.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface MLPOptions {
  /** Hidden size. @default 4 × embedDim */
  innerSize?: number;
  /** GPT-2 uses the tanh approximation ('gelu_new'). @default 'tanh' */
  geluApproximate?: 'none' | 'tanh';
  /** Dropout on the output, when training (GPT-2's resid_pdrop). @default 0.1 */
  dropout?: number;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * GPT-2's position-wise feed-forward network under Hugging Face's names: c_fc, GELU, c_proj,
 * dropout. (E) -> (innerSize) -> (E). Hugging Face's Conv1D weights are stored transposed
 * relative to Kiln's Linear (out, in); checkpoint import transposes c_fc and c_proj.
 */
export class MLP extends Module {
  /** (E) -> (innerSize) */
  c_fc: Linear;
  act: GELU;
  /** (innerSize) -> (E) */
  c_proj: Linear;
  dropout: Dropout;

  constructor(readonly embedDim: number, options: MLPOptions = {}) {
    super();
    const dtype = options.dtype ?? 'float32';
    const inner = options.innerSize ?? 4 * embedDim;
    this.c_fc = new Linear(embedDim, inner, { dtype });
    this.act = new GELU(options.geluApproximate ?? 'tanh');
    this.c_proj = new Linear(inner, embedDim, { dtype });
    this.dropout = new Dropout(options.dropout ?? 0.1);
  }

  /** x (..., E) -> (..., E) */
  forward(x: Tensor): Tensor {
    const hidden = this.act.forward(this.c_fc.forward(x)); // (..., innerSize)
    return this.dropout.forward(this.c_proj.forward(hidden)); // (..., E)
  }
}

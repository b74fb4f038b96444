import { empty } from '../tensor/creation.js';
import { noGrad } from '../tensor/autograd.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { embedding } from './functional.js';
import { normal_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface EmbeddingOptions {
  /** This row starts at zero and receives no gradient. */
  paddingIdx?: number;
  /** @default 'float32' */
  dtype?: DType;
}

/** A lookup table: int64 indices (...) -> (..., embeddingDim). Rows start N(0, 1). */
export class Embedding extends Module {
  /** (numEmbeddings, embeddingDim) */
  weight: Parameter;
  readonly paddingIdx: number | undefined;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    const { paddingIdx } = options;
    if (paddingIdx !== undefined && (paddingIdx < -numEmbeddings || paddingIdx >= numEmbeddings)) {
      throw new RangeError(`Embedding: paddingIdx ${paddingIdx} is outside [-${numEmbeddings}, ${numEmbeddings})`);
    }
    this.paddingIdx = paddingIdx === undefined || paddingIdx >= 0 ? paddingIdx : paddingIdx + numEmbeddings;
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], { dtype: options.dtype ?? 'float32' }));
    normal_(this.weight);
    if (this.paddingIdx !== undefined) {
      const row = this.paddingIdx;
      noGrad(() => this.weight.select(0, row).zero_());
    }
  }

  forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx === undefined ? {} : { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}` + (this.paddingIdx === undefined ? '' : `, paddingIdx=${this.paddingIdx}`);
  }
}

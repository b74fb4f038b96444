/** Datasets: indexable collections of examples. */
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

export interface Dataset<T> {
  readonly length: number;
  get(index: number): T;
  /** Optional fast path: the batch for these indices, already collated. */
  batch?(indices: number[]): T;
}

/** Examples are the rows (dim 0) of tensors that share their first dim, e.g. inputs and labels. */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new Error('TensorDataset needs at least one tensor');
    const n = tensors[0]!.shape[0];
    for (const [i, t] of tensors.entries()) {
      if (t.ndim === 0 || t.shape[0] !== n) {
        throw new Error(`TensorDataset: tensor ${i} has shape [${t.shape.join(', ')}]; every tensor needs the same first dim (${n})`);
      }
    }
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0]!.shape[0]!;
  }

  get(index: number): Tensor[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`TensorDataset.get(${index}): index outside [0, ${this.length})`);
    }
    return this.tensors.map((t) => t.select(0, index));
  }

  /** One indexSelect per tensor instead of stacking rows. */
  batch(indices: number[]): Tensor[] {
    const index = tensor(new BigInt64Array(indices.map(BigInt)));
    return this.tensors.map((t) => t.indexSelect(0, index));
  }
}

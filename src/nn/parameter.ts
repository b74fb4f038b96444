/** Parameters and buffers: the tensors a Module owns, found by walking its fields. */
import { native as N, type Handle } from '../tensor/native.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

/** A trainable tensor of a Module (requiresGrad on by default). It outlives every scope. */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    // A new handle on the same storage, cut off from any graph `data` belongs to.
    super(N['detach']!(data.handle) as Handle);
    keep(this);
    if (requiresGrad) this.requiresGrad = true;
  }
}

/**
 * A non-trainable tensor a Module keeps as state (BatchNorm's running statistics). Persistent
 * buffers are saved in the state dict.
 */
export class Buffer extends Tensor {
  readonly persistent: boolean;

  constructor(data: Tensor, options: { persistent?: boolean } = {}) {
    super(N['detach']!(data.handle) as Handle);
    keep(this);
    this.persistent = options.persistent ?? true;
  }
}

/**
 * A key/value cache for generation: each attention layer's keys and values, written into
 * buffers allocated once for the longest sequence the run will reach, so a new token costs one
 * position of work per layer instead of the whole window (and no copy of the past, unlike a
 * cache that concatenates).
 *
 * B = batch, H = key/value heads, S = capacity, P = positions filled, T = new positions, D = head size.
 */
import { empty } from '../tensor/creation.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** One layer's keys and values: (B, H, S, D) buffers, the first `length` positions filled. */
export class LayerCache {
  #keys: Tensor | null = null;
  #values: Tensor | null = null;

  constructor(readonly capacity: number, private readonly owner: KVCache) {}

  /**
   * Writes the new keys and values k, v (B, H, T, D) after the cached ones and returns every
   * position so far, (B, H, P + T, D) views of the buffers. The cache's length advances once
   * all its layers have appended (`KVCache.advance`).
   */
  append(k: Tensor, v: Tensor): { keys: Tensor; values: Tensor } {
    const [B, H, T, D] = k.shape as [number, number, number, number];
    const start = this.owner.length;
    if (start + T > this.capacity) throw new RangeError(`KVCache: ${start} + ${T} positions exceed its capacity of ${this.capacity}`);
    if (this.#keys === null) {
      // Made inside a step's scope, but they live as long as the cache.
      this.#keys = keep(empty([B, H, this.capacity, D], { dtype: k.dtype, device: k.device }));
      this.#values = keep(empty([B, H, this.capacity, D], { dtype: v.dtype, device: v.device }));
    }
    this.#keys.narrow(2, start, T).copy_(k);
    this.#values!.narrow(2, start, T).copy_(v);
    return { keys: this.#keys.narrow(2, 0, start + T), values: this.#values!.narrow(2, 0, start + T) };
  }

  dispose(): void {
    this.#keys?.dispose();
    this.#values?.dispose();
    this.#keys = this.#values = null;
  }
}

/** The cache of a whole model: one LayerCache per attention layer, and the positions they hold. */
export class KVCache {
  readonly layers: LayerCache[];
  #length = 0;

  constructor(numLayers: number, readonly capacity: number) {
    this.layers = Array.from({ length: numLayers }, () => new LayerCache(capacity, this));
  }

  /** Positions cached so far (P). */
  get length(): number {
    return this.#length;
  }

  /** Called after a forward pass has appended `positions` to every layer. */
  advance(positions: number): void {
    this.#length += positions;
  }

  dispose(): void {
    for (const layer of this.layers) layer.dispose();
  }
}

/**
 * A small seeded generator for data order (shuffling, sampling), kept apart from libtorch's
 * generator so that changing how data is drawn never changes a model's initial weights.
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = (Math.floor(seed) >>> 0) ^ 0x9e3779b9;
  }

  /** The generator's whole state, for a checkpoint; `restore` puts it back. */
  get state(): number {
    return this.#state;
  }

  restore(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new RangeError(`SeededRandom.restore: a state is a 32-bit unsigned integer, got ${String(state)}`);
    this.#state = state;
  }

  /** Uniform on [0, 1) (mulberry32). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer uniform on [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/**
 * Rotary position embeddings (RoPE) in Hugging Face's `rotate_half` convention: a head's
 * vector of size hs is split into halves, and dimension i is paired with i + hs/2, rotated by
 * the angle position · θ^(−2i/hs). (Meta's and llama2.c's code pair neighbours (2i, 2i+1)
 * instead; the two are the same rotation after permuting the q/k projection rows, which is
 * what io/llama2c.ts does on import.)
 *
 * T = time, hs = head size, S = maxSeqLen.
 */
import { arange } from '../tensor/creation.js';
import { cat } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { Buffer } from './parameter.js';

/** (..., hs) -> (..., hs): (x1, x2) -> (−x2, x1), x1 and x2 the two halves. */
export function rotateHalf(x: Tensor): Tensor {
  const half = x.shape[x.ndim - 1]! / 2;
  const x1 = x.narrow(-1, 0, half); // (..., hs/2)
  const x2 = x.narrow(-1, half, half); // (..., hs/2)
  return cat([x2.neg(), x1], -1); // (..., hs)
}

/**
 * Precomputed cos/sin tables for positions [0, maxSeqLen), as non-persistent buffers (they are
 * not in the state dict, as in Hugging Face's LlamaRotaryEmbedding). Computed in float64 and
 * stored in float32.
 */
export class RotaryEmbedding extends Module {
  /** (S, hs) */
  cos: Buffer;
  /** (S, hs) */
  sin: Buffer;

  constructor(readonly headSize: number, readonly maxSeqLen: number, readonly theta = 10000) {
    super();
    if (headSize % 2 !== 0) throw new RangeError(`RotaryEmbedding: headSize must be even, got ${headSize}`);
    const invFreq = arange(0, headSize, 2, { dtype: 'float64' }).div(headSize).rpow(theta).reciprocal(); // (hs/2)
    const positions = arange(maxSeqLen, { dtype: 'float64' }); // (S)
    const freqs = positions.outer(invFreq); // (S, hs/2)
    const angles = cat([freqs, freqs], -1); // (S, hs): dimension i and i + hs/2 share an angle
    this.cos = new Buffer(angles.cos().float(), { persistent: false });
    this.sin = new Buffer(angles.sin().float(), { persistent: false });
  }

  /** q or k (B, heads, T, hs) at positions offset..offset+T-1 (≤ maxSeqLen) -> rotated, same shape. */
  forward(x: Tensor, offset = 0): Tensor {
    const T = x.shape[x.ndim - 2]!;
    const cos = this.cos.narrow(0, offset, T); // (T, hs), broadcast over (B, heads)
    const sin = this.sin.narrow(0, offset, T); // (T, hs)
    return x.mul(cos).add(rotateHalf(x).mul(sin));
  }

  override extraRepr(): string {
    return `headSize=${this.headSize}, maxSeqLen=${this.maxSeqLen}, theta=${this.theta}`;
  }
}

/** @internal Self-attention helpers: the mask arguments for scaledDotProductAttention, and attention over packed projections. */
import { eye, ones } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { scaledDotProductAttention } from './functional.js';

export interface SelfAttentionOptions {
  /** Position t attends only to positions ≤ t. @default false */
  causal?: boolean;
  /** (B, T) bool, true where a position is padding: no query attends to it. */
  keyPaddingMask?: Tensor;
}

/**
 * The arguments for scaledDotProductAttention over x (B, T, E): `isCausal` alone when there is
 * no padding, else a boolean "may attend" mask (B, 1, T, T) (or (B, 1, 1, T) without causality).
 *
 * A query that would attend to nothing (a padding position before the first real token, with
 * causal masking and left padding) attends to itself instead: the softmax over no keys is NaN,
 * and NaN would flow back into every gradient even though the loss ignores that position.
 */
export function selfAttentionMask(
  x: Tensor,
  options: SelfAttentionOptions,
  layer: string,
): { attnMask: Tensor | null; isCausal: boolean } {
  const causal = options.causal ?? false;
  const padding = options.keyPaddingMask;
  if (padding === undefined) return { attnMask: null, isCausal: causal };
  const [B, T] = x.shape as [number, number, number];
  if (padding.dtype !== 'bool' || padding.ndim !== 2 || padding.shape[0] !== B || padding.shape[1] !== T) {
    throw new Error(
      `${layer}: keyPaddingMask must be a bool tensor (B, T) = [${B}, ${T}] with true at padding, ` +
        `got ${padding.dtype} [${padding.shape.join(', ')}]`,
    );
  }
  let allowed = padding.logicalNot().view(B, 1, 1, T); // (B, 1, 1, T): keys a query may see
  if (causal) {
    const past = ones([T, T], { dtype: 'bool', device: x.device }).tril(); // (T, T)
    allowed = allowed.logicalAnd(past); // (B, 1, T, T)
  }
  const blind = allowed.any(-1, true).logicalNot(); // (B, 1, T or 1, 1): queries that see no key
  const diagonal = eye(T, T, { dtype: 'bool', device: x.device }); // (T, T)
  return { attnMask: allowed.logicalOr(blind.logicalAnd(diagonal)), isCausal: false };
}

/**
 * Self-attention over packed projections: splits qkv (B, T, 3E) into numHeads heads, attends
 * with the mask selfAttentionMask built, and merges the heads back to (B, T, E), ready for the
 * output projection. Shared by CausalSelfAttention and MultiheadSelfAttention.
 */
export function attendPacked(
  qkv: Tensor,
  numHeads: number,
  mask: { attnMask: Tensor | null; isCausal: boolean },
  dropoutP: number,
): Tensor {
  const [B, T, threeE] = qkv.shape as [number, number, number];
  const E = threeE / 3;
  const [q, k, v] = qkv
    .split(E, -1)
    .map((t) => t.view(B, T, numHeads, E / numHeads).transpose(1, 2)) as [Tensor, Tensor, Tensor]; // (B, T, E) -> (B, nh, T, hs)
  const y = scaledDotProductAttention(q, k, v, { ...mask, dropoutP }); // (B, nh, T, hs)
  return y.transpose(1, 2).reshape(B, T, E); // (B, nh, T, hs) -> (B, T, E)
}

/** @internal Turns the self-attention options into scaledDotProductAttention's mask arguments. */
import { eye, ones } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

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

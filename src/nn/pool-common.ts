/** @internal Shared by the 2-D pooling layers. */
import type { Tensor } from '../tensor/tensor.js';

export function checkPoolInput(layer: string, x: Tensor): void {
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new Error(`${layer}: expected a 3-D (C, H, W) or 4-D (B, C, H, W) input, got shape [${x.shape.join(', ')}]`);
  }
}

export function showSize(size: number | readonly (number | null)[]): string {
  return typeof size === 'number' ? String(size) : `[${size.map(String).join(', ')}]`;
}

/**
 * Gradient checkpointing of transformer blocks (Hugging Face's `gradient_checkpointing_enable`):
 * a body with `gradientCheckpointing` on runs each block through `checkpoint`, so backward
 * recomputes a block's activations instead of keeping them: peak memory falls from every
 * block's activations to one block's (plus each block's input), for about one more forward.
 */
import { checkpoint, isGradEnabled } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';

/** A stack of blocks that can recompute them in backward. */
export interface CheckpointableBlocks {
  gradientCheckpointing: boolean;
}

function isCheckpointable(module: Module): module is Module & CheckpointableBlocks {
  return typeof (module as Partial<CheckpointableBlocks>).gradientCheckpointing === 'boolean';
}

/**
 * x through each block in turn (`forward(block, h)`), each checkpointed when `checkpointed` and
 * it has weights to train. A block whose input needs no gradient (the first one behind frozen
 * embeddings, as under LoRA) gets its input as a leaf that does, or backward would never reach
 * its trainable weights (Hugging Face's enable_input_require_grads does the same).
 */
export function runBlocks<B extends Module>(x: Tensor, blocks: readonly B[], forward: (block: B, h: Tensor) => Tensor, checkpointed: boolean): Tensor {
  for (const block of blocks) {
    const recompute = checkpointed && isGradEnabled() && block.parameters().some((p) => p.requiresGrad);
    if (!recompute) {
      x = forward(block, x);
      continue;
    }
    const input = x.requiresGrad ? x : x.detach().requiresGrad_(true);
    x = checkpoint((h) => forward(block, h), input);
  }
  return x;
}

/** Turns gradient checkpointing on or off in every block stack of `module`; returns how many it found. */
export function setGradientCheckpointing(module: Module, on: boolean): number {
  const stacks = module.modules().filter(isCheckpointable);
  for (const stack of stacks) stack.gradientCheckpointing = on;
  return stacks.length;
}

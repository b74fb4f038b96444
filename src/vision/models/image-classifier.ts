/**
 * What every image model here is: a Module mapping (B, C, H, W) images to (B, K) class
 * logits, with a classification head that fine-tuning can replace (a new label set) or train
 * alone (freeze mode).
 */
import type { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';

export type ImageArchitecture = 'cnn' | 'resnet18' | 'resnet34' | 'vit';
export const IMAGE_ARCHITECTURES: readonly ImageArchitecture[] = ['cnn', 'resnet18', 'resnet34', 'vit'];

export interface ImageClassifier extends Module {
  readonly architecture: ImageArchitecture;
  readonly numClasses: number;
  /** Name prefix of the head's parameters ('fc' for ResNet, 'classifier' otherwise). */
  readonly headName: string;
  /** x (B, C, H, W) -> logits (B, K) */
  forward(x: Tensor): Tensor;
  /** A new, freshly initialised head with `numClasses` outputs (K changes). */
  resetHead(numClasses: number): void;
}

import { Tensor } from '../tensor/tensor.js';
import { type Layer, Module } from './module.js';

/** Applies its layers in order; they are named '0', '1', ... as in PyTorch. */
export class Sequential extends Module {
  readonly layers: (Module & Layer)[];

  constructor(...layers: (Module & Layer)[]) {
    super();
    this.layers = layers;
  }

  /** Children are named by position alone ('0.weight', not 'layers.0.weight'). */
  override namedChildren(): [string, Module][] {
    return this.layers.map((layer, i) => [String(i), layer]);
  }

  get length(): number {
    return this.layers.length;
  }

  at(index: number): Module & Layer {
    const layer = this.layers.at(index);
    if (layer === undefined) throw new RangeError(`Sequential.at(${index}): only ${this.layers.length} layers`);
    return layer;
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }
}

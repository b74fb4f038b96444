/**
 * Parameters kept under their TensorFlow.js names, in PyTorch layouts. A face network declares
 * its weights as (TensorFlow.js name, PyTorch shape); `conv1/depthwise_filter` becomes the
 * parameter `conv1.depthwise_filter`, so a Kiln model folder of an imported network keeps the
 * names of its manifest. Importing converts each weight's layout: conv filters (kh, kw, in, out)
 * → (out, in, kh, kw), depthwise filters (kh, kw, C, 1) → (C, 1, kh, kw), fully connected
 * (in, out) → (out, in).
 */
import { empty } from '../../tensor/creation.js';
import { noGrad } from '../../tensor/autograd.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { ModelFolderError } from '../../io/model-folder-error.js';

/** A node of the name tree: holds the parameters and sub-nodes of one name prefix. */
class ParameterNode extends Module {
  forward(): Tensor {
    throw new Error('a parameter group has no forward');
  }
}

/** The parameters of `specs`, under their TensorFlow.js names ('/' separates the levels). */
export class TfjsParameters extends Module {
  private readonly byName = new Map<string, Parameter>();

  constructor(readonly specs: readonly (readonly [name: string, shape: readonly number[]])[]) {
    super();
    for (const [name, shape] of specs) {
      const parts = name.split('/');
      let node: Module = this;
      for (const part of parts.slice(0, -1)) {
        const holder = node as unknown as Record<string, unknown>;
        if (!(holder[part] instanceof ParameterNode)) holder[part] = new ParameterNode();
        node = holder[part] as Module;
      }
      const parameter = new Parameter(empty([...shape]));
      (node as unknown as Record<string, unknown>)[parts.at(-1)!] = parameter;
      this.byName.set(name, parameter);
    }
  }

  /** The parameter of a TensorFlow.js name. */
  get(name: string): Parameter {
    const p = this.byName.get(name);
    if (p === undefined) throw new Error(`no parameter ${name}`);
    return p;
  }

  forward(): Tensor {
    throw new Error('TfjsParameters has no forward; the network that owns it does');
  }
}

/** `weight` (as TensorFlow.js stores `name`) in PyTorch's layout. */
export function torchLayout(name: string, weight: Tensor): Tensor {
  if (weight.ndim === 4) return /depthwise_(filter|weights)$/.test(name) ? weight.permute(2, 3, 0, 1) : weight.permute(3, 2, 0, 1);
  if (weight.ndim === 2) return weight.t();
  return weight;
}

/**
 * Copies TensorFlow.js weights (`loadTfjsWeights`) into `params`, converting layouts. Every
 * declared weight must be there with its shape; float weights the network does not declare are
 * an error (a manifest of another network); `ignore` names graph leftovers to skip.
 */
export function loadTfjsParameters(params: TfjsParameters, weights: Record<string, Tensor>, arch: string, ignore: (name: string, weight: Tensor) => boolean = () => false): void {
  const declared = new Set(params.specs.map(([name]) => name));
  const unknown = Object.entries(weights).filter(([name, w]) => !declared.has(name) && w.dtype === 'float32' && !ignore(name, w)).map(([name]) => name);
  if (unknown.length > 0) throw new ModelFolderError(`the manifest is not a ${arch}: it has weights ${arch} does not (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', …' : ''})`);
  noGrad(() => {
    for (const [name, shape] of params.specs) {
      const weight = weights[name];
      if (weight === undefined) throw new ModelFolderError(`the manifest is not a ${arch}: it lacks the weight ${name}`);
      const converted = torchLayout(name, weight);
      if (converted.shape.join(',') !== shape.join(',')) {
        throw new ModelFolderError(`${arch} weight ${name} has shape [${weight.shape.join(', ')}]; ${arch} needs [${torchShapeAsTfjs(name, shape).join(', ')}]`);
      }
      params.get(name).copy_(converted);
    }
  });
}

/** A PyTorch-layout shape as TensorFlow.js would store it (for messages). */
function torchShapeAsTfjs(name: string, shape: readonly number[]): number[] {
  if (shape.length === 4) {
    const [a, b, kh, kw] = shape as [number, number, number, number];
    return /depthwise_(filter|weights)$/.test(name) ? [kh, kw, a, b] : [kh, kw, b, a];
  }
  if (shape.length === 2) return [shape[1]!, shape[0]!];
  return [...shape];
}

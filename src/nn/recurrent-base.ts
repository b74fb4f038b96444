/**
 * @internal What LSTM and GRU share: PyTorch's parameter layout and names, its initialisation,
 * and the checks on input and state shapes.
 */
import { empty, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { uniform_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface RecurrentLayerOptions {
  /** Stacked layers; layer k > 0 reads layer k − 1's output. @default 1 */
  numLayers?: number;
  /** Learn the biases b_ih and b_hh. @default true */
  bias?: boolean;
  /** Input and output are (B, T, features) instead of (T, B, features); states never are. @default false */
  batchFirst?: boolean;
  /** Dropout on every layer's output except the last one's, when training. @default 0 */
  dropout?: number;
  /** Also run each layer backwards in time and concatenate the two outputs. @default false */
  bidirectional?: boolean;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * PyTorch's names: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, with `_reverse` for the
 * backward direction of a bidirectional layer.
 */
export type RecurrentParameterName =
  | `${'weight' | 'bias'}_${'ih' | 'hh'}_l${number}`
  | `${'weight' | 'bias'}_${'ih' | 'hh'}_l${number}_reverse`;

/** Input, state and settings after the checks, with an unbatched input given a batch of 1. */
export interface PreparedInput {
  input: Tensor;
  /** Whether the caller passed (T, F) without a batch dim (the outputs drop it again). */
  unbatched: boolean;
  batchSize: number;
}

export abstract class RecurrentBase extends Module {
  /** Parameters by PyTorch name; only the ones for existing layers and directions are set. */
  [name: RecurrentParameterName]: Parameter;

  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** The parameter names in the kernel's order: per layer, per direction, w_ih, w_hh, b_ih, b_hh. */
  readonly #names: RecurrentParameterName[] = [];

  /** @param gates 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n). */
  protected constructor(
    gates: number,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RecurrentLayerOptions,
  ) {
    super();
    const layer = this.constructor.name;
    this.numLayers = options.numLayers ?? 1;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    this.bidirectional = options.bidirectional ?? false;
    for (const [what, value] of [['inputSize', inputSize], ['hiddenSize', hiddenSize], ['numLayers', this.numLayers]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${layer}: ${what} must be a positive integer, got ${value}`);
    }
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new RangeError(`${layer}: dropout must be in [0, 1], got ${this.dropout}`);

    const dtype = options.dtype ?? 'float32';
    const directions = this.directions;
    for (let k = 0; k < this.numLayers; k++) {
      const layerInput = k === 0 ? inputSize : hiddenSize * directions;
      for (let d = 0; d < directions; d++) {
        const suffix = d === 0 ? `_l${k}` : `_l${k}_reverse`;
        const shapes: [RecurrentParameterName, number[]][] = [
          [`weight_ih${suffix}` as RecurrentParameterName, [gates * hiddenSize, layerInput]],
          [`weight_hh${suffix}` as RecurrentParameterName, [gates * hiddenSize, hiddenSize]],
        ];
        if (this.bias) {
          shapes.push([`bias_ih${suffix}` as RecurrentParameterName, [gates * hiddenSize]]);
          shapes.push([`bias_hh${suffix}` as RecurrentParameterName, [gates * hiddenSize]]);
        }
        for (const [name, shape] of shapes) {
          this[name] = new Parameter(empty(shape, { dtype }));
          this.#names.push(name);
        }
      }
    }
    // PyTorch's reset_parameters: every weight and bias U(±1/√hiddenSize), in parameter order.
    const bound = 1 / Math.sqrt(hiddenSize);
    for (const name of this.#names) uniform_(this[name], -bound, bound);
  }

  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** The parameters in the order the ATen kernel takes them (looked up by name, so reassigning one works). */
  protected flatWeights(): Parameter[] {
    return this.#names.map((name) => this[name]);
  }

  /** Checks the input's shape; gives an unbatched (T, F) input a batch dim of 1. */
  protected prepareInput(input: Tensor): PreparedInput {
    const layout = this.batchFirst ? '(B, T, F)' : '(T, B, F)';
    if ((input.ndim !== 2 && input.ndim !== 3) || input.shape[input.ndim - 1] !== this.inputSize) {
      throw new Error(
        `${this.constructor.name}: expected input ${layout} or unbatched (T, F) with F = inputSize = ${this.inputSize}, ` +
          `got shape [${input.shape.join(', ')}]`,
      );
    }
    if (input.ndim === 2) {
      const batched = input.unsqueeze(this.batchFirst ? 0 : 1);
      return { input: batched, unbatched: true, batchSize: 1 };
    }
    return { input, unbatched: false, batchSize: input.shape[this.batchFirst ? 0 : 1]! };
  }

  /** The initial state `name` (h or c): the given one, checked (and batched), or zeros. */
  protected initialState(name: string, given: Tensor | undefined, prepared: PreparedInput): Tensor {
    const expected = [this.numLayers * this.directions, prepared.batchSize, this.hiddenSize];
    if (given === undefined) {
      return zeros(expected, { dtype: prepared.input.dtype, device: prepared.input.device });
    }
    const state = prepared.unbatched && given.ndim === 2 ? given.unsqueeze(1) : given;
    if (state.ndim !== 3 || state.shape.some((d, i) => d !== expected[i])) {
      const want = prepared.unbatched ? `[${expected[0]}, ${expected[2]}]` : `[${expected.join(', ')}]`;
      throw new Error(
        `${this.constructor.name}: initial state ${name} must have shape ${want} (layers × directions, batch, hiddenSize), ` +
          `got [${given.shape.join(', ')}]`,
      );
    }
    return state;
  }

  /** Undoes prepareInput's batch dim on an output (dim 0 or 1) and a state (dim 1). */
  protected unbatchOutput(output: Tensor, prepared: PreparedInput): Tensor {
    return prepared.unbatched ? output.squeeze(this.batchFirst ? 0 : 1) : output;
  }

  protected unbatchState(state: Tensor, prepared: PreparedInput): Tensor {
    return prepared.unbatched ? state.squeeze(1) : state;
  }

  override extraRepr(): string {
    const extras = [
      this.numLayers !== 1 ? `numLayers=${this.numLayers}` : '',
      !this.bias ? 'bias=false' : '',
      this.batchFirst ? 'batchFirst=true' : '',
      this.dropout !== 0 ? `dropout=${this.dropout}` : '',
      this.bidirectional ? 'bidirectional=true' : '',
    ].filter((s) => s !== '');
    return [`${this.inputSize}, ${this.hiddenSize}`, ...extras].join(', ');
  }
}

/**
 * An ONNX graph under construction, and its encoding as an ONNX ModelProto (onnx.proto3's field
 * numbers). Exporters call `op()` in the order the model computes: every node gets a fresh
 * output name, weights become initializers, and `encode()` writes the file's bytes.
 *
 * Opset 17 (LayerNormalization is its newest op used here) and IR version 8: ONNX Runtime 1.14
 * and later, and onnxruntime-web under transformers.js, run it.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { ProtoWriter } from './protobuf.js';

export const OPSET = 17;
const IR_VERSION = 8;

/** Element types used by Kiln's graphs, with their TensorProto.DataType numbers. */
const DATA_TYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 } as const;
export type ElemType = keyof typeof DATA_TYPE;

/** A dimension: a size, or a name for a size known only at run time ('batch_size'). */
export type Dim = number | string;

/** A float attribute (a bare JS number is an int attribute). */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const float = (value: number): FloatAttr => new FloatAttr(value);

export type AttrValue = number | readonly number[] | string | FloatAttr;

interface ValueInfo {
  name: string;
  type: ElemType;
  dims: readonly Dim[];
}

interface Initializer {
  name: string;
  type: ElemType;
  dims: readonly number[];
  data: Uint8Array;
}

interface Node {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Readonly<Record<string, AttrValue>>;
}

/** Protobuf's 2 GiB message limit: a bigger model needs ONNX's external-data layout. */
const MAX_BYTES = 2 ** 31 - 1;

export class OnnxGraph {
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #initializers: Initializer[] = [];
  readonly #nodes: Node[] = [];
  readonly #constants = new Map<string, string>();
  #counter = 0;
  #weightBytes = 0;

  /**
   * @param quantize write the Linear layers' weights as int8 with a per-tensor scale, read
   *   through dynamically quantised activations (ONNX Runtime's `quantize_dynamic`, what
   *   transformers.js loads as `model_quantized.onnx`)
   */
  constructor(readonly name: string, readonly quantize = false) {}

  /** Declares a graph input; returns its name. */
  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.#inputs.push({ name, type, dims });
    return name;
  }

  /** Makes `value` the graph output `name` (through an Identity node when named otherwise). */
  output(value: string, name: string, type: ElemType, dims: readonly Dim[]): void {
    if (value !== name) this.#nodes.push({ op: 'Identity', inputs: [value], outputs: [name], attrs: {} });
    this.#outputs.push({ name, type, dims });
  }

  /** A float32 initializer holding `tensor`'s values (any float dtype is converted). */
  weight(name: string, tensor: Tensor): string {
    const values = tensor.detach().to('float32').contiguous().toTypedArray() as Float32Array;
    this.#weightBytes += values.byteLength;
    if (this.#weightBytes > MAX_BYTES) {
      throw new RangeError(`ONNX export: the weights exceed 2 GiB, the most one protobuf file holds; Kiln does not write ONNX's external-data layout yet`);
    }
    this.#initializers.push({ name, type: 'float32', dims: tensor.shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  /** An int8 initializer (quantised weights). */
  int8Weight(name: string, values: Int8Array, dims: readonly number[]): string {
    this.#weightBytes += values.byteLength;
    this.#initializers.push({ name, type: 'int8', dims, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  /** A scalar int8 or uint8 constant (a quantisation zero point). */
  zeroPoint(type: 'int8' | 'uint8', value: number): string {
    return this.#constant(type, [], Uint8Array.from([value & 0xff]), [value]);
  }

  /** An int64 constant (a 1-D list unless `dims` says otherwise, [] for a scalar); equal constants are shared. */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const data = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
    return this.#constant('int64', dims, data, values);
  }

  /** A float32 constant (a scalar unless `dims` says otherwise). */
  floats(values: readonly number[], dims: readonly number[] = []): string {
    return this.#constant('float32', dims, new Uint8Array(Float32Array.from(values).buffer), values);
  }

  #constant(type: ElemType, dims: readonly number[], data: Uint8Array, values: readonly number[]): string {
    const key = `${type}[${dims.join(',')}]:${values.join(',')}`;
    let name = this.#constants.get(key);
    if (name === undefined) {
      name = `const_${this.#constants.size}`;
      this.#constants.set(key, name);
      this.#initializers.push({ name, type, dims, data });
    }
    return name;
  }

  /** A node with one output; returns the output's name. An empty input name skips an optional input. */
  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.ops(op, inputs, 1, attrs)[0]!;
  }

  /** A node with `count` outputs (Split); returns their names. */
  ops(op: string, inputs: readonly string[], count: number, attrs: Record<string, AttrValue> = {}): string[] {
    const id = this.#counter++;
    const outputs = Array.from({ length: count }, (_, i) => `${op}_${id}${count > 1 ? `_${i}` : ''}`);
    this.#nodes.push({ op, inputs, outputs, attrs });
    return outputs;
  }

  /** The ModelProto's bytes. */
  encode(producer: { name: string; version: string }, metadata: Record<string, string> = {}): Buffer {
    const graph = new ProtoWriter();
    for (const node of this.#nodes) graph.message(1, encodeNode(node));
    graph.string(2, this.name);
    for (const init of this.#initializers) graph.message(5, encodeInitializer(init));
    for (const input of this.#inputs) graph.message(11, encodeValueInfo(input));
    for (const output of this.#outputs) graph.message(12, encodeValueInfo(output));
    const model = new ProtoWriter().int(1, IR_VERSION).string(2, producer.name).string(3, producer.version);
    model.message(7, graph);
    model.message(8, new ProtoWriter().string(1, '').int(2, OPSET));
    for (const [key, value] of Object.entries(metadata)) model.message(14, new ProtoWriter().string(1, key).string(2, value));
    if (model.length > MAX_BYTES) throw new RangeError(`ONNX export: the model is ${model.length} bytes, over protobuf's 2 GiB limit`);
    return model.finish();
  }

  /** The op types used, each once, in first-use order (for documentation and tests). */
  opTypes(): string[] {
    return [...new Set(this.#nodes.map((n) => n.op))];
  }
}

function encodeNode(node: Node): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.outputs[0]!);
  w.string(4, node.op);
  for (const [name, value] of Object.entries(node.attrs)) w.message(5, encodeAttribute(name, value));
  return w;
}

/** AttributeProto: f = 2, i = 3, s = 4, ints = 8; type FLOAT 1, INT 2, STRING 3, INTS 7. */
function encodeAttribute(name: string, value: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (value instanceof FloatAttr) return w.float(2, value.value).int(20, 1);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`ONNX attribute ${name}: ${value} is not an integer; wrap floats in float()`);
    return w.int(3, value).int(20, 2);
  }
  if (typeof value === 'string') return w.string(4, value).int(20, 3);
  return w.packedInts(8, value).int(20, 7);
}

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian). */
function encodeInitializer(init: Initializer): ProtoWriter {
  return new ProtoWriter().packedInts(1, init.dims).int(2, DATA_TYPE[init.type]).string(8, init.name).bytes(9, init.data);
}

/** ValueInfoProto { name = 1, type = 2: TypeProto { tensor_type = 1: { elem_type = 1, shape = 2 } } }. */
function encodeValueInfo(info: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.dims) shape.message(1, typeof dim === 'number' ? new ProtoWriter().int(1, dim) : new ProtoWriter().string(2, dim));
  const tensorType = new ProtoWriter().int(1, DATA_TYPE[info.type]).message(2, shape);
  return new ProtoWriter().string(1, info.name).message(2, new ProtoWriter().message(1, tensorType));
}

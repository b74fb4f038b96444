/**
 * The few pieces of the protobuf wire format an ONNX file needs: varints, length-delimited
 * fields (strings, bytes, nested messages) and packed repeated numbers. A message is built as a
 * list of byte chunks and joined once, so a model's weights are copied a single time.
 */

/** Wire types (protobuf encoding spec). */
const VARINT = 0;
const FIXED32 = 5;
const LENGTH_DELIMITED = 2;

function varintBytes(value: number | bigint): Uint8Array {
  // int64 fields: a negative number is sent as its 64-bit two's complement (10 bytes).
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** An encoded message under construction: `writer.int(1, 8).string(2, 'kiln')…bytes()`. */
export class ProtoWriter {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;

  #push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  #tag(field: number, wireType: number): void {
    this.#push(varintBytes((field << 3) | wireType));
  }

  /** The encoded size so far, in bytes. */
  get length(): number {
    return this.#length;
  }

  /** An int32/int64/enum/bool field. */
  int(field: number, value: number | bigint): this {
    this.#tag(field, VARINT);
    this.#push(varintBytes(value));
    return this;
  }

  /** A float (fixed32) field. */
  float(field: number, value: number): this {
    this.#tag(field, FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.#push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#push(varintBytes(value.length));
    this.#push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** A nested message, moved in without copying its chunks. */
  message(field: number, value: ProtoWriter): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#push(varintBytes(value.length));
    for (const chunk of value.#chunks) this.#push(chunk);
    return this;
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const parts = values.map(varintBytes);
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      body.set(p, at);
      at += p.length;
    }
    return this.bytes(field, body);
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    return this.bytes(field, new Uint8Array(Float32Array.from(values).buffer));
  }

  /** The message's bytes. */
  finish(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}

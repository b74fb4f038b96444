// safetensors validation: every malformed header is refused with a clear SafetensorsError
// before any tensor is allocated, and a fuzzer's mutated files never crash the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom, tensor } from '../../src/index.js';
import { SafetensorsError, decodeSafetensors, encodeSafetensors } from '../../src/io/index.js';
import { craft } from './safetensors-fixture.js';

const f32 = (shape: number[], begin: number, end: number): object => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

function length(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** [what is wrong, the file, the message it must give] */
const CASES: [string, Buffer, RegExp][] = [
  ['an empty file', Buffer.alloc(0), /the file is 0 bytes, shorter than the 8-byte header length/],
  ['a 5-byte file', Buffer.from('{}   '), /the file is 5 bytes, shorter than the 8-byte header length/],
  ['a header length past the end', Buffer.concat([length(64n), Buffer.from('{}      ')]), /header length is 64 bytes but only 8 bytes follow/],
  ['an absurd header length', Buffer.concat([length(100_000_001n), Buffer.from('{}      ')]), /header length is 100000001 bytes, over the 100000000-byte limit/],
  ['a header length of 2^64 - 1', Buffer.concat([length(2n ** 64n - 1n), Buffer.alloc(8)]), /header length is 18446744073709551615 bytes, over the/],
  ['truncated JSON', craft('{"w": {"dtype": "F32"', 0, { pad: false }), /the header is not valid UTF-8 JSON/],
  ['invalid UTF-8', craft(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 0, { pad: false }), /not valid UTF-8 JSON/],
  ['binary garbage', Buffer.concat([length(8n), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7])]), /not valid UTF-8 JSON/],
  ['a JSON array', craft([1, 2]), /the header must be a JSON object, got an array/],
  ['JSON null', craft('null'), /the header must be a JSON object, got null/],
  ['a JSON string', craft('"weights"'), /the header must be a JSON object, got "weights"/],
  ['an entry that is not an object', craft({ w: 5 }), /tensor 'w': the entry must be an object with dtype, shape and data_offsets, got 5/],
  ['a dtype that is not a string', craft({ w: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'w': dtype must be a string, got 4/],
  ['an unknown dtype', craft({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), /tensor 'w': unknown dtype "F128" \(Kiln reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL\)/],
  ['a lower-case dtype', craft({ w: { dtype: 'f32', shape: [1], data_offsets: [0, 4] } }, 4), /unknown dtype "f32"/],
  ['a dtype Kiln lacks', craft({ w: { dtype: 'U32', shape: [1], data_offsets: [0, 4] } }, 4), /dtype U32 is valid safetensors but Kiln has no such tensor type/],
  ['a shape that is not a list', craft({ w: { dtype: 'F32', shape: 3, data_offsets: [0, 12] } }, 12), /tensor 'w': shape must be a list of non-negative integers, got 3/],
  ['a negative dimension', craft({ w: f32([-1, 2], 0, 8) }, 8), /shape must be a list of non-negative integers, got \[-1,2\]/],
  ['a fractional dimension', craft({ w: f32([1.5], 0, 4) }, 4), /shape must be a list of non-negative integers/],
  ['a string dimension', craft({ w: f32(['2'] as unknown as number[], 0, 8) }, 8), /shape must be a list of non-negative integers/],
  ['a missing shape', craft({ w: { dtype: 'F32', data_offsets: [0, 4] } }, 4), /shape must be a list of non-negative integers, got undefined/],
  ['one offset', craft({ w: { dtype: 'F32', shape: [1], data_offsets: [4] } }, 4), /data_offsets must be two non-negative integers \[begin, end\], got \[4\]/],
  ['three offsets', craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 8), /data_offsets must be two non-negative integers/],
  ['string offsets', craft({ w: { dtype: 'F32', shape: [1], data_offsets: ['0', '4'] } }, 4), /data_offsets must be two non-negative integers/],
  ['negative offsets', craft({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4), /data_offsets must be two non-negative integers/],
  ['offsets beyond 2^53', craft('{"w":{"dtype":"U8","shape":[1],"data_offsets":[9007199254740993,9007199254740994]}}'), /data_offsets must be two non-negative integers/],
  ['offsets ending before they begin', craft({ w: f32([0], 8, 4) }, 8), /data_offsets \[8, 4\] end before they begin/],
  ['a byte count that does not match the shape', craft({ w: f32([2, 3], 0, 20) }, 20), /tensor 'w': F32 \[2, 3\] needs 24 bytes but data_offsets \[0, 20\] hold 20/],
  ['a shape whose size overflows', craft({ w: f32([2 ** 40, 2 ** 40, 2 ** 40], 0, 8) }, 8), /needs 5316911983139663491615228241121378304 bytes but data_offsets \[0, 8\] hold 8/],
  ['a range past the data section', craft({ w: f32([4], 0, 16) }, 12), /tensor 'w': data_offsets \[0, 16\] run past the end of the 12-byte data section/],
  ['overlapping tensors', craft({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12), /tensor 'b' \[4, 12\) overlaps tensor 'a' which ends at 8/],
  ['two tensors on the same bytes', craft({ a: f32([2], 0, 8), b: f32([2], 0, 8) }, 8), /overlaps tensor '(a|b)' which ends at 8/],
  ['a gap between tensors', craft({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12), /bytes \[4, 8\) of the data section belong to no tensor \(a gap after tensor 'a', before 'b'\)/],
  ['a gap at the start', craft({ a: f32([1], 4, 8) }, 8), /bytes \[0, 4\) of the data section belong to no tensor \(a gap at the start of the data section, before 'a'\)/],
  ['unused bytes after the last tensor', craft({ a: f32([1], 0, 4) }, 6), /the data section is 6 bytes but the last tensor, 'a', ends at 4; 2 bytes belong to no tensor/],
  ['data but no tensors', craft({}, 8), /the data section is 8 bytes but the file has no tensors; 8 bytes belong to no tensor/],
  ['metadata that is not an object', craft({ __metadata__: 'pt' }), /__metadata__ must be an object of strings, got "pt"/],
  ['metadata with a number value', craft({ __metadata__: { format: 'pt', epoch: 3 } }), /__metadata__ value 'epoch' must be a string, got 3/],
  ['metadata with a nested object', craft({ __metadata__: { config: { layers: 2 } } }), /__metadata__ value 'config' must be a string/],
];

for (const [problem, file, message] of CASES) {
  test(`refuses ${problem}`, () => {
    assert.throws(() => decodeSafetensors(file), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected a SafetensorsError, got ${String(e)}`);
      assert.match(e.message, /^safetensors <buffer>: /);
      assert.match(e.message, message);
      return true;
    });
  });
}

test('accepts the edge cases the format allows: empty tensors anywhere, scalars, no tensors, padding', () => {
  const file = craft({
    __metadata__: {},
    none: { dtype: 'I64', shape: [0, 5], data_offsets: [0, 0] },
    scalar: { dtype: 'F64', shape: [], data_offsets: [0, 8] },
    last: { dtype: 'U8', shape: [0], data_offsets: [8, 8] },
  }, new Uint8Array(new Float64Array([2.5]).buffer));
  const { tensors, metadata } = decodeSafetensors(file);
  assert.deepEqual(metadata, {});
  assert.deepEqual(tensors['none']!.shape, [0, 5]);
  assert.equal(tensors['scalar']!.item(), 2.5);
  assert.deepEqual(tensors['last']!.shape, [0]);
  assert.deepEqual(decodeSafetensors(craft({})).tensors, {});
  for (const t of Object.values(tensors)) t.dispose();
});

/** A small valid file to mutate: several dtypes, so offsets, shapes and dtypes all matter. */
function seedFile(): Buffer {
  const tensors = {
    'layer.weight': tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] }),
    'layer.bias': tensor(new Float64Array([0.5, -0.5])),
    'ids': tensor(new BigInt64Array([7n, 8n, 9n])),
    'half': tensor(new Float32Array([1.5, -2]), { dtype: 'float16' }),
    'mask': tensor(new Uint8Array([1, 0, 1]), { dtype: 'bool' }),
  };
  const bytes = encodeSafetensors(tensors, { metadata: { format: 'pt' } });
  for (const t of Object.values(tensors)) t.dispose();
  return bytes;
}

/** Decodes a mutated file: either a SafetensorsError, or tensors whose bytes fit in the file. */
function decodeOrReject(file: Buffer, what: string): boolean {
  try {
    const { tensors } = decodeSafetensors(file);
    const bytes = Object.values(tensors).reduce((n, t) => n + t.nbytes, 0);
    for (const t of Object.values(tensors)) t.dispose();
    assert.ok(bytes <= file.length, `${what}: decoded ${bytes} tensor bytes from a ${file.length}-byte file`);
    return false;
  } catch (error) {
    assert.ok(error instanceof SafetensorsError, `${what}: threw ${String(error)} instead of a SafetensorsError`);
    return true;
  }
}

test('fuzz: 1,000+ structurally broken files are all rejected, random byte flips never crash', () => {
  const seed = seedFile();
  const headerLength = Number(seed.readBigUInt64LE(0));
  const header = JSON.parse(seed.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  const data = seed.subarray(8 + headerLength);
  const random = new SeededRandom(2024);
  const mutants: [string, Buffer][] = [];

  // Every truncation.
  for (let n = 0; n < seed.length; n++) mutants.push([`truncated to ${n} bytes`, seed.subarray(0, n)]);
  // Extra bytes after the data.
  for (let n = 1; n <= 16; n++) mutants.push([`${n} bytes appended`, Buffer.concat([seed, Buffer.alloc(n, 0x41)])]);
  // Wrong header lengths, small and huge.
  for (let i = 0; i < 300; i++) {
    const wrong = i < 150 ? BigInt(random.int(seed.length * 2)) : BigInt(Math.floor(random.next() * 2 ** 53)) * BigInt(1 + random.int(2048));
    if (wrong === BigInt(headerLength)) continue;
    const copy = Buffer.from(seed);
    copy.writeBigUInt64LE(wrong, 0);
    mutants.push([`header length ${wrong}`, copy]);
  }
  // Header edits: wrong dtypes, shifted offsets, resized shapes, broken JSON.
  const rebuild = (edit: (h: typeof header) => void): Buffer => {
    const h = structuredClone(header);
    edit(h);
    return craft(h, data);
  };
  const sizeOf: Record<string, number> = { F64: 8, I64: 8, F32: 4, F16: 2, BOOL: 1 };
  const otherDtypes = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'U32', 'F8_E4M3', 'float32', '', 'F 32'];
  for (let i = 0; i < 600; i++) {
    const name = names[random.int(names.length)]!;
    const entry = header[name]!;
    const kind = random.int(4);
    if (kind === 0) {
      const dtype = otherDtypes[random.int(otherDtypes.length)]!;
      const size = { F64: 8, I64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 }[dtype];
      if (size === sizeOf[entry.dtype]) continue; // same element size: still a valid file
      mutants.push([`${name} as ${dtype}`, rebuild((h) => { h[name]!.dtype = dtype; })]);
    } else if (kind === 1) {
      const side = random.int(2);
      const delta = (1 + random.int(40)) * (random.int(2) === 0 ? -1 : 1);
      mutants.push([`${name} offset ${side} ${delta}`, rebuild((h) => { h[name]!.data_offsets[side] += delta; })]);
    } else if (kind === 2) {
      const dim = random.int(entry.shape.length);
      const size = [0, 1 + random.int(7), 2 ** 31, 2 ** 52][random.int(4)]!;
      if (size === entry.shape[dim]) continue;
      mutants.push([`${name} dim ${dim} = ${size}`, rebuild((h) => { h[name]!.shape[dim] = size; })]);
    } else {
      // Inside a name or metadata string most characters just rename it, so this kind may pass.
      const json = seed.subarray(8, 8 + headerLength).toString('utf8').trimEnd();
      const at = 1 + random.int(json.length - 1);
      const broken = json.slice(0, at) + '{[",:'[random.int(5)] + json.slice(at);
      mutants.push([`a stray character at ${at}`, craft(broken, data)]);
    }
  }
  // Swapping two tensors' offsets (sizes differ, so the byte counts break).
  for (const a of names) for (const b of names) {
    if (a !== b && header[a]!.data_offsets[1] - header[a]!.data_offsets[0] !== header[b]!.data_offsets[1] - header[b]!.data_offsets[0]) {
      mutants.push([`offsets of ${a} and ${b} swapped`, rebuild((h) => { [h[a]!.data_offsets, h[b]!.data_offsets] = [h[b]!.data_offsets, h[a]!.data_offsets]; })]);
    }
  }

  let rejected = 0;
  for (const [what, file] of mutants) {
    if (decodeOrReject(file, what)) rejected++;
    else if (!what.startsWith('a stray character')) assert.fail(`${what}: a broken file was accepted`);
  }
  assert.ok(rejected >= 1000, `only ${rejected} of ${mutants.length} mutants were rejected`);

  // Random byte flips anywhere: some leave a valid file (a flipped data byte, a renamed tensor),
  // none may crash or decode more bytes than the file holds.
  for (let i = 0; i < 300; i++) {
    const copy = Buffer.from(seed);
    const at = random.int(copy.length);
    copy[at] = random.int(256);
    decodeOrReject(copy, `byte ${at} flipped`);
  }
});

/**
 * Input mutation for the loader fuzz campaign: byte-level mutations of any file (bit flips,
 * random bytes, interesting integers written over a position, deletions, insertions, repeats,
 * truncation) and, for JSON files, structural ones (a value anywhere replaced by an interesting
 * one, a key removed, a deep nesting), all drawn from a seeded generator, so input i of a
 * campaign is a pure function of (seed, target, i) and any failure can be reproduced.
 */
import { SeededRandom } from '../../src/data/random.js';

/** Values that break size arithmetic, type assumptions and parsers. */
const INTERESTING_JSON: unknown[] = [
  0, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e12, 1e308, -1e308, 0.5, -0.0, 1e-300,
  '', 'x', '\u0000', '../../../../etc/passwd', '%2e%2e/', 'a'.repeat(10_000), null, true, false, [], {}, [[[[]]]], [1, 2, 3], { a: 1 },
];
const INTERESTING_INTS = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000];

function mutateBytes(input: Uint8Array, random: SeededRandom): Uint8Array {
  let bytes = Buffer.from(input);
  const at = (): number => (bytes.length === 0 ? 0 : random.int(bytes.length));
  switch (random.int(8)) {
    case 0: { // flip a few bits
      for (let k = 1 + random.int(4); k > 0 && bytes.length > 0; k--) bytes[at()]! ^= 1 << random.int(8);
      return bytes;
    }
    case 1: { // random bytes over a run
      const start = at();
      for (let i = start; i < Math.min(bytes.length, start + 1 + random.int(16)); i++) bytes[i] = random.int(256);
      return bytes;
    }
    case 2: { // an interesting 32-bit or 64-bit little-endian integer written over a position
      if (bytes.length < 8) return bytes;
      const pos = random.int(bytes.length - 7);
      const value = INTERESTING_INTS[random.int(INTERESTING_INTS.length)]!;
      if (random.int(2) === 0) bytes.writeUInt32LE(value >>> 0, pos);
      else bytes.writeBigUInt64LE(random.int(2) === 0 ? BigInt(value) : 2n ** BigInt(20 + random.int(44)), pos);
      return bytes;
    }
    case 3: { // delete a run
      const start = at();
      return Buffer.concat([bytes.subarray(0, start), bytes.subarray(Math.min(bytes.length, start + 1 + random.int(64)))]);
    }
    case 4: { // insert random bytes
      const start = at();
      const extra = Buffer.from(Array.from({ length: 1 + random.int(32) }, () => random.int(256)));
      return Buffer.concat([bytes.subarray(0, start), extra, bytes.subarray(start)]);
    }
    case 5: { // repeat a chunk
      const start = at();
      const chunk = bytes.subarray(start, Math.min(bytes.length, start + 1 + random.int(256)));
      return Buffer.concat([bytes.subarray(0, start), chunk, chunk, bytes.subarray(start)]);
    }
    case 6: // truncate
      return bytes.subarray(0, at());
    default: { // a byte set to an extreme
      if (bytes.length > 0) bytes[at()] = [0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x5b][random.int(8)]!;
      return bytes;
    }
  }
}

/** Every (container, key) of a JSON value, for picking a place to mutate. */
function places(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = [], depth = 0): [Record<string, unknown> | unknown[], string | number][] {
  if (depth > 12 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.slice(0, 64).forEach((v, i) => {
      out.push([value, i]);
      places(v, out, depth + 1);
    });
  } else {
    for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 256)) {
      out.push([value as Record<string, unknown>, k]);
      places(v, out, depth + 1);
    }
  }
  return out;
}

function mutateJson(text: string, random: SeededRandom): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const spots = places(value);
  if (spots.length === 0) return null;
  const [container, key] = spots[random.int(spots.length)]!;
  const record = container as Record<string | number, unknown>;
  switch (random.int(4)) {
    case 0:
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete record[key];
      break;
    case 1: {
      let nested: unknown = 1;
      for (let d = 0; d < 2000; d++) nested = [nested];
      record[key] = nested;
      break;
    }
    default:
      record[key] = structuredClone(INTERESTING_JSON[random.int(INTERESTING_JSON.length)]);
  }
  return JSON.stringify(value);
}

/** Input `index` of a campaign over `seeds` (valid files): one to three mutations of one of them. */
export function mutatedInput(seeds: readonly Uint8Array[], json: boolean, seed: number, index: number): Uint8Array {
  const random = new SeededRandom((seed * 1_000_003 + index * 7919) >>> 0);
  let bytes: Uint8Array = seeds[random.int(seeds.length)]!;
  for (let k = 1 + random.int(3); k > 0; k--) {
    if (json && random.int(2) === 0) {
      const text = mutateJson(Buffer.from(bytes).toString('utf8'), random);
      if (text !== null) {
        bytes = Buffer.from(text, 'utf8');
        continue;
      }
    }
    bytes = mutateBytes(bytes, random);
  }
  return bytes;
}

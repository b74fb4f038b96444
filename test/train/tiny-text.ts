/** A deterministic short English-like text for tiny training runs (no files needed). */
const WORDS = 'the potter shapes wet clay on the wheel and fires each pot in the kiln until it rings like a bell'.split(' ');

/** `sentences` sentences of 6–13 words, chosen by a fixed linear congruential generator. */
export function tinyText(sentences = 400): string {
  let state = 12345;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const lines: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const length = 6 + next(8);
    const words = Array.from({ length }, () => WORDS[next(WORDS.length)]!);
    lines.push(words.join(' ') + '.');
  }
  return lines.join('\n');
}

/** The tiny model and schedule the tests train (2 layers, dim 32, block 16). */
export const TINY_RUN = {
  layers: 2,
  heads: 2,
  dim: 32,
  blockSize: 16,
  batchSize: 8,
  lr: 1e-2,
  minLr: 1e-3,
  warmup: 5,
  evalIters: 4,
  logEvery: 1,
} as const;

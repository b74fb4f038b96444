/**
 * A synthetic 10:1 task whose classes overlap: texts of 16 letters from 'abcdefgh' and 'x';
 * the majority class has an 'x' in each position with probability 0.1, the minority with 0.3.
 * A model that minimises the plain error under a 10:1 prior labels most minority texts as the
 * majority; weighting the classes moves the boundary towards the minority.
 */
export function imbalancedCsv(majority: number, minority: number, seed: number): string {
  let state = seed;
  const next = (): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), (state >>> 8) / 16777216);
  const text = (pX: number): string => Array.from({ length: 16 }, () => (next() < pX ? 'x' : 'abcdefgh'[Math.floor(next() * 8)]!)).join('');
  const rows = ['text,label'];
  const labels = [...new Array<string>(majority).fill('common'), ...new Array<string>(minority).fill('rare')];
  // Interleave deterministically so files are not sorted by label.
  labels.sort(() => 0);
  for (const label of labels) rows.push(`${text(label === 'rare' ? 0.3 : 0.1)},${label}`);
  return rows.join('\n') + '\n';
}

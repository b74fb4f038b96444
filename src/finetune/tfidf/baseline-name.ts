/** The `--from` / `--candidates` name of the classical baseline (dependency-free, so the CLI can name it without loading the engine). */
export const TFIDF_BASELINE = 'baseline:tfidf';

/** Whether `from` names a classical baseline rather than a network. */
export function isBaseline(from: string): boolean {
  return from.startsWith('baseline:');
}

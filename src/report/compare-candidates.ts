/**
 * The candidates of a comparison as given on the command line (`DIR,DIR,scratch:ARCH,baseline:tfidf`): each
 * gets a short unique name that also names its output folder.
 */
import path from 'node:path';
import { ReportError } from './report-error.js';

export interface CompareCandidate {
  /** Unique, file-name-safe: a folder's base name, or "scratch-ARCH". */
  name: string;
  /** As given: a pretrained model folder, `scratch:ARCH` for a model trained from random weights, or `baseline:tfidf`. */
  source: string;
  /** The architecture of a `scratch:ARCH` candidate. */
  scratchArch?: string;
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'candidate';
}

/** Splits comma-separated entries, names each candidate and makes the names unique (name, name-2, …). */
export function parseCandidates(entries: readonly string[]): CompareCandidate[] {
  const sources = entries.flatMap((e) => e.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (sources.length === 0) throw new ReportError('no candidates given; e.g. --candidates runs/gpt-a/model,runs/gpt-b/model,scratch:gpt');
  const used = new Map<string, number>();
  return sources.map((source) => {
    let base: string;
    let scratchArch: string | undefined;
    if (source.startsWith('scratch:')) {
      scratchArch = source.slice('scratch:'.length);
      if (scratchArch === '') throw new ReportError(`candidate '${source}' names no architecture; write scratch:ARCH, e.g. scratch:gpt`);
      base = `scratch-${safeName(scratchArch)}`;
    } else if (source.startsWith('baseline:')) {
      base = `baseline-${safeName(source.slice('baseline:'.length))}`;
    } else {
      const parts = path.resolve(source).split(path.sep).filter((p) => p !== '');
      // A folder called model or best says little: keep its parent's name too (runs/a/best → a-best).
      const last = parts.at(-1) ?? 'candidate';
      base = safeName(['model', 'best'].includes(last) && parts.length > 1 ? `${parts.at(-2)}-${last}` : last);
    }
    const count = (used.get(base) ?? 0) + 1;
    used.set(base, count);
    const name = count === 1 ? base : `${base}-${count}`;
    return scratchArch === undefined ? { name, source } : { name, source, scratchArch };
  });
}

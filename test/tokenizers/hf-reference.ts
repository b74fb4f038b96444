/**
 * Hugging Face's `tokenizers` (npm) as the independent reference for tokenizer.json files:
 * tests build files with it, or hand it files, and compare its ids with Kiln's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as HfTokenizers from 'tokenizers';

export const hf = createRequire(import.meta.url)('tokenizers') as typeof HfTokenizers;

/** Text with the cases tokenizers get wrong: Unicode, whitespace runs, contractions, numbers. */
export const VARIED_TEXTS: readonly string[] = [
  "Hello, world! It's a test.",
  "I'm sure they'll've done it; don't you think? We're 100% sure (maybe 3.14159). She'd say: I've, you'll, he's.",
  '  leading spaces,   runs of   spaces\tand\t\ttabs\n\nnew lines\r\n  and trailing   ',
  'Unicode: café, naïve, Ærøskøbing, ΣΊΣΥΦΟΣ ΟΔΟΣ, Москва, 東京タワー, 북한, עברית, 🤗🚀 emoji, e\u0301 combining',
  'numbers 1234567890 and 3rd 21st 1,000,000.00 -42 +7 0x1F 2024-01-31',
  'MiXeD CaSe and ALL CAPS WORDS; "quotes" and \u201csmart quotes\u201d \u2014 dashes \u2013',
  'punctuation!!! ??? ... --- *** ~~~ `code` [brackets] {braces} <tags> a_b c-d e/f #hash @at $5 ^^',
  'Call me Ishmael. Some years ago\u2014never mind how long precisely\u2014having little or no money in my purse,',
  '',
  'a',
  ' ',
  '\u00a0nbsp\u3000ideographic space\u2028line separator',
];

/** Hugging Face's ids for `text` with the tokenizer.json at `file`. */
export async function hfEncode(tokenizer: HfTokenizers.Tokenizer, text: string, addSpecialTokens = false): Promise<number[]> {
  return (await tokenizer.encode(text, null, { addSpecialTokens })).getIds();
}

/** A scratch folder removed after the test. */
export function scratch(t: { after(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Splitting a README command line into shell words, for the tests that run the README's commands. */

/** Shell words of one command line (quotes and backslash-newline continuations), without a trailing # comment. */
export function words(line: string): string[] {
  const out: string[] = [];
  let word = '';
  let quote: string | null = null;
  let inWord = false;
  for (const ch of line) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '#' && !inWord) {
      break;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}

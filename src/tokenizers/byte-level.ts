/**
 * The byte-level half of GPT-2's tokenizer: how text is cut into pieces before BPE, and how a
 * piece's UTF-8 bytes are spelled with printable characters in the vocabulary files.
 */

/**
 * GPT-2's pre-tokenizer: contractions, then runs of letters, of numbers, of other symbols (each
 * with at most one leading space), then whitespace (a run followed by a non-space gives its
 * last space to the next piece).
 *
 * GPT-2 wrote it as `\s` with Python's `regex` module, where `\s` is Unicode White_Space. A
 * JavaScript `\s` differs on two characters: it matches U+FEFF (byte order mark) and misses
 * U+0085 (next line). So `\s` is spelled `\p{White_Space}` here, `\S` `\P{White_Space}`.
 */
export const GPT2_PRETOKENIZER_SOURCE =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}\\p{N}]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";

/** A fresh global regex (a global RegExp carries `lastIndex`, so each caller gets its own). */
export function gpt2Pretokenizer(): RegExp {
  return new RegExp(GPT2_PRETOKENIZER_SOURCE, 'gu');
}

/**
 * byte → the character standing for it in encoder.json and vocab.bpe. The 188 printable bytes
 * (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves; the other 68 (controls, space, DEL, NBSP,
 * soft hyphen, ...) are given U+0100, U+0101, ... in byte order, so that no token contains
 * whitespace or control characters. A space is `Ġ` (U+0120), a newline `Ċ` (U+010A).
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) table.push(String.fromCharCode(printable(b) ? b : next++));
  return Object.freeze(table);
})();

/** The inverse of {@link BYTE_TO_CHAR}: character → byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/**
 * Appends the UTF-8 bytes of `piece` to `out`. `offset` is where `piece` starts in the caller's
 * text, for the error on a lone surrogate (a JS string can hold one; UTF-8 cannot encode it).
 */
export function appendUtf8(piece: string, offset: number, out: number[]): void {
  for (let i = 0; i < piece.length; i++) {
    let c = piece.charCodeAt(i);
    if (c < 0x80) {
      out.push(c);
    } else if (c < 0x800) {
      out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    } else if (c < 0xd800 || c > 0xdfff) {
      out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    } else {
      const low = piece.charCodeAt(i + 1);
      if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) {
        throw new RangeError(
          `byte-level BPE: lone surrogate U+${c.toString(16).toUpperCase()} at index ${offset + i} of the text has no UTF-8 ` +
            `encoding; the string was probably cut inside a surrogate pair (slice text by code points, not UTF-16 units)`,
        );
      }
      c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      i++;
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
}

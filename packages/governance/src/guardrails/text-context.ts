/**
 * Helpers for the boundary and context checks the recognizers share. Boundaries are Unicode-aware: a
 * letter, digit or underscore in any script counts as part of a word, so `Müller` is one word and
 * `abc123` is not a number.
 */

const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;

/** True when the character at `index` exists and is a letter, digit, combining mark or underscore. */
export function isWordCharAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const code = text.charCodeAt(index);
  // ASCII fast path: most text around a finding is ASCII.
  if (code < 128) {
    return (
      (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
    );
  }
  // A low surrogate: look at the whole code point.
  const start = code >= 0xdc00 && code <= 0xdfff && index > 0 ? index - 1 : index;
  const point = text.codePointAt(start);
  return point !== undefined && WORD_CHAR.test(String.fromCodePoint(point));
}

/** True when the character at `index` is an ASCII digit. */
export function isDigitAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 48 && code <= 57;
}

/** The character at `index`, or the empty string outside the text. */
export function charAt(text: string, index: number): string {
  return index >= 0 && index < text.length ? (text[index] ?? '') : '';
}

/** The digits of `value`, dropping every separator. */
export function digitsOf(value: string): string {
  return value.replace(/\D/g, '');
}

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The last `count` words (lower-cased) of the `window` characters before `start`: the context that
 * Presidio's context enhancer looks at, here kept to the left of the finding because labels precede values
 * in notes, tickets and forms ("SSN: …", "Order no. …").
 */
export function wordsBefore(text: string, start: number, count: number, window = 40): string[] {
  const slice = text.slice(Math.max(0, start - window), start).toLowerCase();
  const words = slice.match(WORD) ?? [];
  return words.slice(-count);
}

/** True when any of the last `count` words before `start` is in `vocabulary`. */
export function hasContextWord(
  text: string,
  start: number,
  vocabulary: ReadonlySet<string>,
  count: number,
  window = 40,
): boolean {
  return wordsBefore(text, start, count, window).some((word) => vocabulary.has(word));
}

const UNSPACED_SCRIPT_CHAR =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * True when the character at `index` belongs to a script written without spaces between words (Chinese,
 * Japanese, Thai…), where a number or a name may touch the letters around it: 电话+86 10 6552 9988。
 */
export function isUnspacedScriptAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const code = text.charCodeAt(index);
  if (code < 0x0e00) return false;
  const start = code >= 0xdc00 && code <= 0xdfff && index > 0 ? index - 1 : index;
  const point = text.codePointAt(start);
  return point !== undefined && UNSPACED_SCRIPT_CHAR.test(String.fromCodePoint(point));
}

const UNSPACED_CLASS =
  '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Thai}\\p{Script=Lao}\\p{Script=Khmer}\\p{Script=Myanmar}]';
const WORD_CLASS = '[\\p{L}\\p{N}\\p{M}_]';

/**
 * Regex sources (Unicode mode) for word boundaries that also hold next to Chinese, Japanese or Thai text:
 * "not after a word character" and "not before one", where a character of an unspaced script does not
 * count, so `Chen Wei的电话` still finds `Chen Wei`.
 */
export const NOT_AFTER_WORD = `(?<!(?!${UNSPACED_CLASS})${WORD_CLASS})`;
export const NOT_BEFORE_WORD = `(?!(?!${UNSPACED_CLASS})${WORD_CLASS})`;

/** A set of words from a space-separated list. */
export function wordSet(words: string): ReadonlySet<string> {
  return new Set(words.split(/\s+/).filter((word) => word.length > 0));
}

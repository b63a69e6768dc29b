/**
 * Length limits count Unicode code points ("characters" as a person counts them: an emoji is one), not
 * UTF-16 units, so a limit means the same for every script.
 */

/** The number of code points in `text`. */
export function characterCount(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // A high surrogate followed by a low one is one code point.
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    count++;
  }
  return count;
}

/** True when `text` has more than `max` code points; O(1) when its UTF-16 length already settles it. */
export function exceedsCharacters(text: string, max: number): boolean {
  if (text.length <= max) return false;
  if (text.length > 2 * max) return true;
  return characterCount(text) > max;
}

/** The first `max` code points of `text`, never splitting a surrogate pair. */
export function truncateCharacters(text: string, max: number): string {
  if (text.length <= max) return text;
  let count = 0;
  let index = 0;
  while (index < text.length && count < max) {
    const code = text.charCodeAt(index);
    const pair = code >= 0xd800 && code <= 0xdbff && index + 1 < text.length;
    const next = pair ? text.charCodeAt(index + 1) : 0;
    index += pair && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    count++;
  }
  return text.slice(0, index);
}

import { NOT_AFTER_WORD, NOT_BEFORE_WORD } from './text-context';

/** A blocklist hit: a half-open span of the text and the entry that matched. */
export interface BlocklistMatch {
  start: number;
  end: number;
  /** Index of the entry in the blocklist's terms, then patterns: `term:0`, `pattern:2`. */
  entry: string;
}

export interface BlocklistEntries {
  /** Literal words or phrases. Spaces inside a term match any run of whitespace. */
  terms?: readonly string[];
  /** Regular expression sources (JavaScript syntax, Unicode mode), for variants a term cannot express. */
  patterns?: readonly string[];
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/g;
const WORD_EDGE = /[\p{L}\p{N}\p{M}_]/u;

function termSource(term: string): string | undefined {
  const trimmed = term.trim();
  if (trimmed.length === 0) return undefined;
  const body = trimmed
    .split(/\s+/)
    .map((part) => part.replace(REGEX_SPECIAL, '\\$&'))
    .join('\\s+');
  // A boundary only where the term's edge is a word character: `C++` ends in `+`, so nothing follows it.
  const first = String.fromCodePoint(trimmed.codePointAt(0) ?? 0);
  const last = [...trimmed].at(-1) ?? '';
  return `${WORD_EDGE.test(first) ? NOT_AFTER_WORD : ''}${body}${WORD_EDGE.test(last) ? NOT_BEFORE_WORD : ''}`;
}

/**
 * Returns why `source` cannot be a blocklist pattern, or undefined when it can: it must compile in
 * Unicode mode, must not match the empty string (which would match everywhere), and must not hold named
 * groups or back-references, which would clash once the patterns are joined into one expression.
 */
export function blocklistPatternProblem(source: string): string | undefined {
  if (/\(\?<(?![=!])|\\k<|\\[1-9]/.test(source)) return 'must not use named groups or back-references';
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'iu');
  } catch (error) {
    return `is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (regex.test('')) return 'must not match the empty string';
  return undefined;
}

/**
 * Terms and patterns that must not appear, matched case-insensitively and on word boundaries ("ass" does
 * not match "class"). Patterns are wrapped in the same boundaries. Compile once per policy: all entries
 * become one regular expression (longer terms first, then the patterns), so a long list costs one pass.
 */
export class Blocklist {
  private readonly regex: RegExp | undefined;
  private readonly groupEntries: ReadonlyArray<readonly [string, string]>;

  constructor(entries: BlocklistEntries) {
    const alternatives: Array<{ source: string; entry: string }> = [];
    const terms: Array<{ source: string; entry: string }> = [];
    (entries.terms ?? []).forEach((term, index) => {
      const source = termSource(term);
      if (source !== undefined) terms.push({ source, entry: `term:${index}` });
    });
    terms.sort((a, b) => b.source.length - a.source.length || (a.entry < b.entry ? -1 : 1));
    alternatives.push(...terms);
    (entries.patterns ?? []).forEach((pattern, index) => {
      const problem = blocklistPatternProblem(pattern);
      if (problem !== undefined) throw new TypeError(`blocklist pattern ${index} ${problem}`);
      alternatives.push({
        source: `${NOT_AFTER_WORD}(?:${pattern})${NOT_BEFORE_WORD}`,
        entry: `pattern:${index}`,
      });
    });
    // Named groups tell which entry matched, whatever capture groups the patterns hold themselves.
    this.groupEntries = alternatives.map(
      (alternative, index) => [`strataBlock${index}`, alternative.entry] as const,
    );
    this.regex =
      alternatives.length === 0
        ? undefined
        : new RegExp(alternatives.map((a, index) => `(?<strataBlock${index}>${a.source})`).join('|'), 'giu');
  }

  /** True when the list has no entries. */
  get isEmpty(): boolean {
    return this.regex === undefined;
  }

  /** Every hit in `text`, in text order. */
  find(text: string): BlocklistMatch[] {
    if (this.regex === undefined) return [];
    const matches: BlocklistMatch[] = [];
    for (const match of text.matchAll(this.regex)) {
      if (match[0].length === 0) continue;
      const entry =
        this.groupEntries.find(([group]) => match.groups?.[group] !== undefined)?.[1] ?? 'unknown';
      matches.push({ start: match.index, end: match.index + match[0].length, entry });
    }
    return matches;
  }
}

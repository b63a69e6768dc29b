import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PiiFinding } from './pii-entities';

/** The shipped name list: see data/README.md for its sources and licences. */
export const DEFAULT_PERSON_NAMES_FILE = resolve(__dirname, '../../data/person-names.json');

interface NameTables {
  given: { plain: string[]; ambiguous: string[] };
  surname: { plain: string[]; ambiguous: string[] };
  /** Common English words that are not names, in lower case. */
  common_words: string[];
}

/** Words that introduce a person's name: whatever capitalised word follows is taken as the name. */
const TITLES = new Set([
  'Mr',
  'Mrs',
  'Ms',
  'Miss',
  'Mx',
  'Dr',
  'Prof',
  'Professor',
  'Sir',
  'Dame',
  'Madam',
  'Judge',
  'Rev',
  'Capt',
  'Officer',
  'Senator',
]);

/** Words after which a capitalised run names a place or an organisation, not a person ("Victoria Station"). */
const NOT_A_PERSON_AFTER = new Set([
  'Street',
  'St',
  'Avenue',
  'Ave',
  'Road',
  'Rd',
  'Lane',
  'Boulevard',
  'Square',
  'Park',
  'Station',
  'Bridge',
  'Airport',
  'Hospital',
  'University',
  'College',
  'School',
  'Institute',
  'Center',
  'Centre',
  'Hall',
  'Hotel',
  'Bank',
  'Group',
  'Inc',
  'Ltd',
  'LLC',
  'Corp',
  'Corporation',
  'Company',
  'Foundation',
  'County',
  'City',
  'River',
  'Lake',
  'Mountain',
  'Island',
  'Valley',
  'Beach',
  'Church',
  'Museum',
  'Stadium',
  'Building',
  'Tower',
]);

/** Month and day names are given names in the census tables (April, June), and never persons here. */
const CALENDAR = new Set([
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
]);

/** A capitalised word: `Anna`, `O'Connor`, `McDonald`, `Smith-Jones`; a possessive `'s` is left out. */
const TOKEN = /\p{Lu}(?:\p{Ll}+(?:\p{Lu}\p{Ll}+)?|['’]\p{Lu}\p{Ll}+)(?:-\p{Lu}\p{Ll}+)?/gu;

/** Score of a full name or a titled name; a lone given name scores lower. */
export const DEFAULT_PERSON_SCORE = 0.7;
export const DEFAULT_LONE_GIVEN_NAME_SCORE = 0.6;

interface Token {
  text: string;
  start: number;
  end: number;
}

/**
 * The default PERSON recognizer: the US Census Bureau's 1990 given-name and surname tables (public domain) with
 * context rules, so that names are masked without any configuration. It reads capitalised words and calls a run
 * of them a name when:
 * - a title (`Mr.`, `Dr.`, `Judge`…) precedes it: the next one or two capitalised words, listed or not;
 * - it starts with a listed given name, followed by up to two more capitalised words that are listed names or
 *   not common English words ("Lisa Marie Carter", "Eric Lindqvist"), unless every word of it is also a common
 *   word ("Golden Gate");
 * - it is a lone given name that is not a common word ("Hi Sarah,"), but not one that is (Will, Grace, May).
 * A run followed by a place or organisation word (`Station`, `Street`, `Inc`) and month or day names are never
 * names. Surnames alone are not taken without a title: too many are common words and places. Like any list and
 * rules, it misses names outside the tables and names that are common words; measured on a held-out set.
 */
export class DefaultPersonRecognizer {
  private readonly given: Set<string>;
  private readonly surnames: Set<string>;
  /** Names that are also common English words. */
  private readonly ambiguous: Set<string>;
  private readonly commonWords: Set<string>;

  constructor(tables: NameTables) {
    this.commonWords = new Set(tables.common_words);
    this.given = new Set([...tables.given.plain, ...tables.given.ambiguous]);
    this.surnames = new Set([...tables.surname.plain, ...tables.surname.ambiguous]);
    this.ambiguous = new Set([...tables.given.ambiguous, ...tables.surname.ambiguous]);
  }

  /** The recognizer over the shipped tables, read once per process. */
  static shared(): DefaultPersonRecognizer {
    sharedRecognizer ??= new DefaultPersonRecognizer(
      JSON.parse(readFileSync(DEFAULT_PERSON_NAMES_FILE, 'utf8')) as NameTables,
    );
    return sharedRecognizer;
  }

  recognize(text: string): PiiFinding[] {
    const findings: PiiFinding[] = [];
    for (const run of capitalisedRuns(text)) {
      let i = 0;
      while (i < run.length) {
        const found = this.nameAt(text, run, i);
        if (found) {
          findings.push({
            entity_type: 'PERSON',
            start: run[found.from]!.start,
            end: run[found.to]!.end,
            score: found.score,
          });
          i = found.to + 1;
        } else i += 1;
      }
    }
    return findings;
  }

  private nameAt(
    text: string,
    run: Token[],
    i: number,
  ): { from: number; to: number; score: number } | undefined {
    const token = run[i]!;
    if (TITLES.has(token.text)) {
      // "Dr. Okafor", "Judge Harrison": the title is context, the name is what follows it.
      if (i + 1 >= run.length || this.stops(run[i + 1]!)) return undefined;
      const to = i + 2 < run.length && this.mayContinue(run[i + 2]!) ? i + 2 : i + 1;
      return { from: i + 1, to, score: DEFAULT_PERSON_SCORE };
    }
    if (!this.given.has(token.text) || CALENDAR.has(token.text)) return undefined;
    let to = i;
    while (to + 1 < run.length && to - i < 2 && this.mayContinue(run[to + 1]!)) to += 1;
    const next = run[to + 1] ?? followingWord(text, run[to]!.end);
    if (next && NOT_A_PERSON_AFTER.has(next.text)) return undefined;
    const words = run.slice(i, to + 1);
    if (to > i) {
      if (words.every((word) => this.ambiguous.has(word.text))) return undefined;
      return { from: i, to, score: DEFAULT_PERSON_SCORE };
    }
    // Two-letter given names (Mi, An) are too often words of other languages to stand alone.
    if (this.ambiguous.has(token.text) || token.text.length < 3) return undefined;
    return { from: i, to: i, score: DEFAULT_LONE_GIVEN_NAME_SCORE };
  }

  /**
   * Whether a name this recognizer finds could begin in `word` (a whitespace-delimited word of a longer text):
   * it holds a title or a given name that is not a month or day name. A capitalised word that cannot begin a
   * name belongs to one only when a word before it in the same run does, so a stream need not hold it back.
   */
  mayBeginName(word: string): boolean {
    for (const match of word.matchAll(TOKEN)) {
      const text = match[0];
      if (TITLES.has(text) || (this.given.has(text) && !CALENDAR.has(text))) return true;
    }
    return false;
  }

  /** Whether a capitalised word can carry a name on: a listed name, or a word that is not common English. */
  private mayContinue(token: Token): boolean {
    if (this.stops(token)) return false;
    if (this.surnames.has(token.text) || this.given.has(token.text)) return true;
    return !this.commonWords.has(token.text.toLowerCase());
  }

  private stops(token: Token): boolean {
    return NOT_A_PERSON_AFTER.has(token.text) || CALENDAR.has(token.text) || TITLES.has(token.text);
  }
}

let sharedRecognizer: DefaultPersonRecognizer | undefined;

/**
 * Runs of capitalised words separated by one space, a middle initial (`J.`) or a title's period (`Dr. Ahmed`).
 * Words in capitals only (`NASA`) are not tokens.
 */
function capitalisedRuns(text: string): Token[][] {
  const runs: Token[][] = [];
  let current: Token[] = [];
  let lastEnd = -1;
  for (const match of text.matchAll(TOKEN)) {
    const start = match.index;
    const end = start + match[0].length;
    // A token must start and end on a word boundary: not `Anna` inside `DeAnna2` or `Mc` of `McX` cut short.
    if (/[\p{L}\p{N}]/u.test(text[start - 1] ?? '') || /[\p{L}\p{N}]/u.test(text[end] ?? '')) {
      if (!/['’]/u.test(text[end] ?? '')) continue;
    }
    const gap = lastEnd < 0 ? '' : text.slice(lastEnd, start);
    const previous = current.at(-1);
    // A sentence's end ("… Laura. Send …") separates runs; a title's period ("Dr. Ahmed") does not.
    const joined =
      gap === ' ' ||
      /^ \p{Lu}\. $/u.test(gap) ||
      (gap === '. ' && previous !== undefined && TITLES.has(previous.text));
    if (!joined && current.length > 0) {
      runs.push(current);
      current = [];
    }
    current.push({ text: match[0], start, end });
    lastEnd = end;
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/** The capitalised word right after `end` (one space away), outside the run: for the place-word check. */
function followingWord(text: string, end: number): Token | undefined {
  const match = /^ (\p{Lu}\p{Ll}+)/u.exec(text.slice(end, end + 40));
  return match ? { text: match[1]!, start: end + 1, end: end + 1 + match[1]!.length } : undefined;
}

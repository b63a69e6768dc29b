import type { PiiFinding } from './pii-entities';
import { NOT_AFTER_WORD, NOT_BEFORE_WORD } from './text-context';

/*
 * A list-based recognizer, as Presidio's deny-list recognizers are: finding arbitrary names needs an NER
 * model, which this layer does not load (it runs on every request, in well under a millisecond). The list
 * comes from the tenant's own data: CRM contacts, employees, customers.
 */

/** Score of a name from the configured list. */
export const PERSON_SCORE = 0.85;

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/g;

/** A regex source for one name: spaces match any run of spaces, and either apostrophe matches both. */
function namePattern(name: string): string | undefined {
  const trimmed = name.trim().normalize('NFC');
  if (trimmed.length === 0) return undefined;
  const body = trimmed
    .split(/\s+/)
    .map((part) => part.replace(REGEX_SPECIAL, '\\$&').replace(/['’]/g, "['’]").replace(/-/g, '[-‐]'))
    .join('[\\s\\u00a0]+');
  return `${NOT_AFTER_WORD}${body}${NOT_BEFORE_WORD}`;
}

/**
 * A compiled list of person names (`PERSON`), matched case-insensitively and on word boundaries, so that
 * `Anna` matches in "anna's ticket" but not in "Annabel". When names overlap, the longest wins ("Anna
 * Schmidt" over "Anna").
 */
export class PersonNameList {
  private readonly pattern: RegExp | undefined;
  readonly size: number;

  constructor(names: Iterable<string>) {
    const sources = new Set<string>();
    for (const name of names) {
      const source = namePattern(name);
      if (source !== undefined) sources.add(source);
    }
    this.size = sources.size;
    // Longer alternatives first, so that the alternation prefers "Anna Schmidt" to "Anna" at one position.
    const ordered = [...sources].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.pattern =
      ordered.length === 0 ? undefined : new RegExp(ordered.map((s) => `(?:${s})`).join('|'), 'giu');
  }

  /** Finds the listed names in `text`. */
  recognize(text: string): PiiFinding[] {
    if (this.pattern === undefined) return [];
    const findings: PiiFinding[] = [];
    for (const match of text.matchAll(this.pattern)) {
      findings.push({
        entity_type: 'PERSON',
        start: match.index,
        end: match.index + match[0].length,
        score: PERSON_SCORE,
      });
    }
    return findings;
  }
}

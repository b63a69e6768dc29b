import type * as IbanTools from 'ibantools' with { 'resolution-mode': 'import' };
import type { PiiFinding } from './pii-entities';
import { isWordCharAt } from './text-context';

/*
 * ibantools (MIT/MPL-2.0, no dependencies, typed) is the most used IBAN library on npm. It carries the
 * SWIFT IBAN registry's per-country lengths and BBAN formats and checks the ISO 13616 mod-97 digits and,
 * for several countries, the national check digits too, which a hand-written mod-97 would miss. We keep
 * only the finding of candidates in text: a country code and check digits, then exactly as many characters
 * as that country's IBAN has, in the paper format (groups split by single spaces) or the electronic one.
 *
 * ibantools ships a CommonJS build (its `require` export) but types that TypeScript reads as ES module
 * types ("type": "module" with one shared .d.ts), so a static import from this CommonJS package does not
 * compile. We take the types through `resolution-mode` and load the CommonJS build with require().
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: the package's types are ESM-only
const { getCountrySpecifications, isValidIBAN } = require('ibantools') as typeof IbanTools;
const COUNTRY_LENGTHS: ReadonlyMap<string, number> = new Map(
  Object.entries(getCountrySpecifications()).flatMap(([country, spec]) =>
    spec.chars === null ? [] : [[country, spec.chars] as const],
  ),
);

const IBAN_START = /(?<![\p{L}\p{N}\p{M}_])[A-Za-z]{2}\d{2}/gu;

/** Score of an IBAN whose length, BBAN format and check digits are valid. */
export const IBAN_SCORE = 1;

function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/**
 * The end of the IBAN that starts at `start` with `length` alphanumerics (spaces between them allowed,
 * never two in a row), or -1 when the text runs out or breaks off first.
 */
function scanIban(text: string, start: number, length: number): number {
  let count = 0;
  let index = start;
  let previousWasSpace = false;
  while (index < text.length && count < length) {
    const code = text.charCodeAt(index);
    if (isAlphanumeric(code)) {
      count++;
      previousWasSpace = false;
    } else if ((code === 32 || code === 0xa0) && !previousWasSpace && count >= 4) {
      previousWasSpace = true;
    } else {
      break;
    }
    index++;
  }
  return count === length ? index : -1;
}

/** Finds international bank account numbers (`IBAN_CODE`). */
export function recognizeIbans(text: string): PiiFinding[] {
  const findings: PiiFinding[] = [];
  let lastEnd = 0;
  for (const match of text.matchAll(IBAN_START)) {
    if (match.index < lastEnd) continue;
    const length = COUNTRY_LENGTHS.get(match[0].slice(0, 2).toUpperCase());
    if (length === undefined) continue;
    const end = scanIban(text, match.index, length);
    if (end === -1 || isWordCharAt(text, end)) continue;
    const electronic = text
      .slice(match.index, end)
      .replace(/[\s\u00a0]/g, '')
      .toUpperCase();
    if (!isValidIBAN(electronic)) continue;
    findings.push({ entity_type: 'IBAN_CODE', start: match.index, end, score: IBAN_SCORE });
    lastEnd = end;
  }
  return findings;
}

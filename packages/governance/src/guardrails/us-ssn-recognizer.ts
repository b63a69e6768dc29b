import { scanDigitWindows } from './digit-runs';
import type { PiiFinding } from './pii-entities';
import { hasContextWord, wordSet } from './text-context';

/*
 * Written here: there is no maintained npm library for finding SSNs in text, and the rules are the SSA's
 * published ones (https://www.ssa.gov/employer/randomization.html and the SSN verification rules):
 * no area 000, 666 or 900–999 (9xx are ITINs and never SSNs), no group 00, no serial 0000.
 */

/** Numbers the SSA or the press published as examples, which were voided or never issued. */
const VOIDED_SSNS = new Set(['078051120', '219099999', '123456789']);

/** True when nine digits can be a US social security number under the SSA's rules. */
export function isValidUsSsn(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  const area = digits.slice(0, 3);
  const group = digits.slice(3, 5);
  const serial = digits.slice(5);
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (group === '00' || serial === '0000') return false;
  if (/^(\d)\1{8}$/.test(digits)) return false;
  return !VOIDED_SSNS.has(digits);
}

/** Score of a valid `ddd-dd-dddd` or `ddd dd dddd`: the usual way an SSN is written, with nothing else said. */
export const SSN_FORMATTED_SCORE = 0.65;
/** Score of nine bare digits with nothing before them that says SSN: below the default threshold. */
export const SSN_UNFORMATTED_SCORE = 0.3;
/** Added when a word before the number says it is an SSN. */
export const SSN_CONTEXT_BOOST = 0.3;
/** Subtracted when a word before the number says it is another identifier. */
export const SSN_NEGATIVE_CONTEXT_PENALTY = 0.4;

const CONTEXT = wordSet('ssn ssns social security ss ssa taxpayer tin w2 w i9');
const NEGATIVE_CONTEXT = wordSet(
  'order invoice part sku serial item article tracking ticket case po batch lot zip routing aba ' +
    'phone tel fax call mobile ein',
);

/** Finds US social security numbers (`US_SSN`). */
export function recognizeUsSsns(text: string): PiiFinding[] {
  const findings: PiiFinding[] = [];
  scanDigitWindows(text, { min: 9, max: 9 }, (window) => {
    const lengths = window.groupLengths;
    const formatted =
      lengths.length === 3 &&
      lengths[0] === 3 &&
      lengths[1] === 2 &&
      lengths[2] === 4 &&
      window.separator !== 'mixed';
    const unformatted = lengths.length === 1 && lengths[0] === 9;
    if (!(formatted || unformatted) || !isValidUsSsn(window.digits)) return false;
    let score = formatted ? SSN_FORMATTED_SCORE : SSN_UNFORMATTED_SCORE;
    if (hasContextWord(text, window.start, CONTEXT, 4)) score += SSN_CONTEXT_BOOST;
    else if (hasContextWord(text, window.start, NEGATIVE_CONTEXT, 3)) score -= SSN_NEGATIVE_CONTEXT_PENALTY;
    findings.push({ entity_type: 'US_SSN', start: window.start, end: window.end, score: round(score) });
    return true;
  });
  return findings;
}

function round(score: number): number {
  return Math.round(Math.min(1, Math.max(0, score)) * 100) / 100;
}

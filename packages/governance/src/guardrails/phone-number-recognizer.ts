import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { PiiFinding } from './pii-entities';
import { hasContextWord, isDigitAt, isUnspacedScriptAt, isWordCharAt, wordSet } from './text-context';

/*
 * libphonenumber-js is the standard JavaScript port of Google's libphonenumber (the library Presidio's
 * PhoneRecognizer uses through the `phonenumbers` port): MIT, no dependencies, typed, CommonJS and ESM,
 * kept in step with Google's metadata. We use its `max` metadata, which validates numbers against each
 * region's real number plans rather than lengths alone, and do our own candidate finding: its
 * findNumbers() joins a number to a following ", 415" as an extension and cannot be told about order
 * numbers, dates or SSNs.
 */

/**
 * Regions whose national formats are accepted when a number has no `+` or `00` prefix. Numbers in
 * international format are accepted for every region.
 */
export const DEFAULT_PHONE_REGIONS: readonly CountryCode[] = [
  'US',
  'GB',
  'DE',
  'FR',
  'ES',
  'IT',
  'NL',
  'IN',
  'BR',
];

/** Score of a valid number written with `+` and a country code. */
export const PHONE_INTERNATIONAL_SCORE = 0.9;
/** Score of a valid number written with the `00` international prefix. */
export const PHONE_INTERNATIONAL_00_SCORE = 0.85;
/** Score of a number valid in one of the configured regions' national format. */
export const PHONE_NATIONAL_SCORE = 0.6;
/**
 * Subtracted when a national number lacks the trunk prefix its region writes (`319541661` for the French
 * `03 19 54 16 61`): valid to libphonenumber, but more often an identifier than a phone number.
 */
export const PHONE_MISSING_TRUNK_PREFIX_PENALTY = 0.2;
/**
 * Subtracted when a national number written with dashes or parentheses is not grouped the way its region
 * groups it: `555-123-4567` is North American in shape, and only valid as an Italian or Brazilian number.
 */
export const PHONE_FOREIGN_GROUPING_PENALTY = 0.2;
/** Added when a word before the number says it is a phone number. */
export const PHONE_CONTEXT_BOOST = 0.2;
/** Subtracted when a word before the number says it is another identifier. */
export const PHONE_NEGATIVE_CONTEXT_PENALTY = 0.4;

const CONTEXT = wordSet(
  'phone telephone tel mobile mob cell cellphone call called calling fax whatsapp sms text dial ' +
    'hotline contact reach ring landline telefon telefono teléfono téléphone tél handy rufnummer ' +
    'portable móvil cellulare ph t m numero número nummer numer телефон 电话 手机',
);

const NEGATIVE_CONTEXT = wordSet(
  'order invoice inv po sku serial sn part item article tracking shipment parcel account acct iban ' +
    'ticket case ref reference id batch lot customer contract policy claim isbn ean gtin upc imei vin ' +
    'zip postcode plz version build amount total eur usd gbp qty bestellung rechnung commande facture ' +
    'pedido factura kundennummer auftrag zoom meeting webinar passcode pin code otp iva vat tax nif ' +
    'cpf kvk ein ust material asset route ssn social security itin tin card routing aba sort check ' +
    'cheque bic swift blz',
);

/**
 * Digits with the separators people put in phone numbers (space, dot, dash, slash, parentheses), an optional
 * leading `+`. A space may not repeat, so two numbers in a column stay apart. Linear: every character
 * either extends the run or ends it.
 */
const CANDIDATE = /(?:\+[ \u00a0]?)?\(?\d(?:[\d().\-/]|[ \u00a0](?![ \u00a0]))*/g;

/** A date anywhere in the candidate: "2024-03-19 10:30" yields the candidate "2024-03-19 10". */
const DATE = /(?:^|\s)(?:\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})(?=\s|$)/;
/** An identifier that starts with a year: `2024/00077`, `2024-00812`. */
const YEAR_PREFIXED = /^(?:19|20)\d{2}[./-]\d/;
/** Eight digits that read as a date: `20240115`. */
const COMPACT_DATE = /^(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$/;
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const TIME_RANGE = /^\d{1,2}[.:]\d{2}\s*-\s*\d{1,2}[.:]\d{2}$/;
/** The shape of a US SSN, `ddd-dd-dddd`: never how a phone number is grouped. */
const SSN_SHAPED = /^\d{3}([ -])\d{2}\1\d{4}$/;
/** The longest national number (digits, trunk prefix included) we accept; longer runs are cards, EANs, ids. */
const MAX_NATIONAL_DIGITS = 12;

export interface PhoneRecognizerOptions {
  /** Regions (ISO 3166-1 alpha-2) whose national formats to accept; DEFAULT_PHONE_REGIONS when absent. */
  regions?: readonly CountryCode[];
  /** Skips candidates that could not reach this score even if valid, which saves parsing; 0 when absent. */
  minScore?: number;
}

/** Finds telephone numbers (`PHONE_NUMBER`) that libphonenumber validates. */
export function recognizePhoneNumbers(text: string, options: PhoneRecognizerOptions = {}): PiiFinding[] {
  const regions = options.regions ?? DEFAULT_PHONE_REGIONS;
  const minScore = options.minScore ?? 0;
  const regionsKey = regions.join(',');
  const findings: PiiFinding[] = [];
  for (const match of text.matchAll(CANDIDATE)) {
    let start = match.index;
    let value = match[0];
    // A `(` that opens prose rather than an area code: "(see 030 901820)".
    if (value.startsWith('(') && !/^\(\d{1,5}\)/.test(value)) {
      start += 1;
      value = value.slice(1);
    }
    value = value.replace(/[^\d]+$/, '');
    const end = start + value.length;
    if (!mayStartAt(text, start) || !mayEndAt(text, end)) continue;
    const phoneContext = hasContextWord(text, start, CONTEXT, 4);
    const adjustment =
      (phoneContext ? PHONE_CONTEXT_BOOST : 0) -
      (hasContextWord(text, start, NEGATIVE_CONTEXT, 2) ? PHONE_NEGATIVE_CONTEXT_PENALTY : 0);
    // Parsing is the expensive part: skip it when even a valid number could not reach the minimum score.
    const international = value.startsWith('+') || value.startsWith('00');
    const best = (international ? PHONE_INTERNATIONAL_SCORE : PHONE_NATIONAL_SCORE) + adjustment;
    if (best < minScore - 1e-9) continue;
    const base = cachedScoreOf(value, regions, regionsKey, phoneContext);
    if (base === undefined) continue;
    const score = base + adjustment;
    findings.push({
      entity_type: 'PHONE_NUMBER',
      start,
      end,
      score: Math.round(Math.min(1, score) * 100) / 100,
    });
  }
  return findings;
}

function mayStartAt(text: string, start: number): boolean {
  if (start === 0) return true;
  if (isWordCharAt(text, start - 1)) return isUnspacedScriptAt(text, start - 1);
  const before = text[start - 1] ?? '';
  return !'@#/.-+_$€£%&'.includes(before);
}

function mayEndAt(text: string, end: number): boolean {
  if (end >= text.length) return true;
  if (isWordCharAt(text, end)) return isUnspacedScriptAt(text, end);
  const after = text[end] ?? '';
  if (after === '@' || after === '%') return false;
  return !('./-:'.includes(after) && isDigitAt(text, end + 1));
}

/**
 * Parsed candidates, by regions and text: chat requests resend the whole conversation, so the same numbers
 * come back turn after turn, and parsing dominates the cost. Bounded, and cleared whole when full.
 */
const SCORE_CACHE = new Map<string, number | null>();
const SCORE_CACHE_SIZE = 4_096;

function cachedScoreOf(
  value: string,
  regions: readonly CountryCode[],
  regionsKey: string,
  phoneContext: boolean,
): number | undefined {
  const key = `${phoneContext ? 1 : 0}|${regionsKey}|${value}`;
  const cached = SCORE_CACHE.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const score = scoreOf(value, regions, phoneContext);
  if (SCORE_CACHE.size >= SCORE_CACHE_SIZE) SCORE_CACHE.clear();
  SCORE_CACHE.set(key, score ?? null);
  return score;
}

/** The base score of a phone number, or undefined when `value` is not one. */
function scoreOf(value: string, regions: readonly CountryCode[], phoneContext: boolean): number | undefined {
  const digits = value.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 17) return undefined;
  if (DATE.test(value) || YEAR_PREFIXED.test(value) || COMPACT_DATE.test(value)) return undefined;
  if (DOTTED_QUAD.test(value) || TIME_RANGE.test(value)) return undefined;
  // A decimal number ("12345.67") or a dotted version or section number ("10.4.22.1803").
  const dots = value.split('.');
  if (dots.length === 2 && !/[\s\-/()]/.test(value)) return undefined;
  if (dots.length > 2 && dots.some((group) => group.replace(/\D/g, '').length < 2)) return undefined;
  if (value.startsWith('+')) {
    return parsePhoneNumberFromString(value)?.isValid() === true ? PHONE_INTERNATIONAL_SCORE : undefined;
  }
  if (digits.startsWith('00') && !digits.startsWith('000')) {
    const international = `+${value.replace(/^\D*00/, '')}`;
    if (parsePhoneNumberFromString(international)?.isValid() === true) return PHONE_INTERNATIONAL_00_SCORE;
  }
  if (digits.length > MAX_NATIONAL_DIGITS) return undefined;
  if (SSN_SHAPED.test(value) && !phoneContext) return undefined;
  let best: number | undefined;
  for (const region of regions) {
    const number = parsePhoneNumberFromString(value, region);
    if (number === undefined || !number.isValid()) continue;
    const formatted = number.formatNational();
    const checkGrouping = number.countryCallingCode === '1' || /[-()]/.test(value);
    const grouped = !checkGrouping || groupedAsFormatted(value, formatted);
    if (number.countryCallingCode === '1' && !grouped) continue;
    let score = PHONE_NATIONAL_SCORE;
    if (lacksTrunkPrefix(digits, formatted)) score -= PHONE_MISSING_TRUNK_PREFIX_PENALTY;
    if (!grouped) score -= PHONE_FOREIGN_GROUPING_PENALTY;
    if (best === undefined || score > best) best = score;
    if (best === PHONE_NATIONAL_SCORE) break;
  }
  return best;
}

/** True when the region writes a trunk prefix (`0`) before national numbers and `digits` leaves it out. */
function lacksTrunkPrefix(digits: string, formattedNational: string): boolean {
  const national = formattedNational.replace(/\D/g, '');
  return national.length > digits.length && national.endsWith(digits);
}

/**
 * libphonenumber's STRICT_GROUPING idea: no group of the nationally formatted number may be split across
 * groups of the candidate. Required for the North American plan, where numbers are always written 3-3-4
 * (`5804 7775 49` is valid digits but the tail of an account number); elsewhere spacing is free-form
 * (`612 345 678` and `612 34 56 78` are both Spanish), so a mismatch only costs score, and only with
 * dashes or parentheses.
 */
function groupedAsFormatted(value: string, formatted: string): boolean {
  const candidateBoundaries = boundariesFromEnd(value);
  const formattedBoundaries = new Set(boundariesFromEnd(formatted));
  const formattedLength = formatted.replace(/\D/g, '').length;
  return candidateBoundaries.every(
    (boundary) => boundary >= formattedLength || formattedBoundaries.has(boundary),
  );
}

/** Positions between digit groups, counted in digits from the end: `415 555-2671` gives [4, 7]. */
function boundariesFromEnd(value: string): number[] {
  const groups = value.split(/\D+/).filter((group) => group.length > 0);
  const boundaries: number[] = [];
  let fromEnd = 0;
  for (let index = groups.length - 1; index > 0; index--) {
    fromEnd += groups[index]?.length ?? 0;
    boundaries.push(fromEnd);
  }
  return boundaries;
}

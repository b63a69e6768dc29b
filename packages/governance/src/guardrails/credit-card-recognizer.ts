import { scanDigitWindows } from './digit-runs';
import type { PiiFinding } from './pii-entities';
import { hasContextWord, wordSet } from './text-context';

/*
 * Written here rather than taken from a library: card validators on npm (card-validator, credit-card-type)
 * check one form field, not find numbers in prose, and the checks themselves (Luhn, issuer ranges, lengths)
 * are a few lines. Ranges follow the ISO/IEC 7812 issuer identification numbers that the networks publish.
 */

/** The Luhn (mod 10) checksum over a string of digits. */
export function luhnCheck(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index--) {
    let digit = digits.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

interface CardNetwork {
  name: string;
  /** Inclusive ranges of the leading digits, compared at the length of the bounds. */
  ranges: ReadonlyArray<readonly [string, string]>;
  lengths: readonly number[];
}

const CARD_NETWORKS: readonly CardNetwork[] = [
  { name: 'visa', ranges: [['4', '4']], lengths: [13, 16, 19] },
  {
    name: 'mastercard',
    ranges: [
      ['51', '55'],
      ['2221', '2720'],
    ],
    lengths: [16],
  },
  {
    name: 'amex',
    ranges: [
      ['34', '34'],
      ['37', '37'],
    ],
    lengths: [15],
  },
  {
    name: 'discover',
    ranges: [
      ['6011', '6011'],
      ['644', '649'],
      ['65', '65'],
    ],
    lengths: [16, 17, 18, 19],
  },
  {
    name: 'unionpay',
    ranges: [
      ['62', '62'],
      ['81', '81'],
    ],
    lengths: [16, 17, 18, 19],
  },
  { name: 'jcb', ranges: [['3528', '3589']], lengths: [16, 17, 18, 19] },
  {
    name: 'diners',
    ranges: [
      ['300', '305'],
      ['36', '36'],
      ['38', '39'],
    ],
    lengths: [14, 15, 16, 17, 18, 19],
  },
  {
    name: 'maestro',
    ranges: [
      ['5018', '5018'],
      ['5020', '5020'],
      ['5038', '5038'],
      ['5893', '5893'],
      ['6304', '6304'],
      ['6759', '6759'],
      ['6761', '6763'],
    ],
    lengths: [13, 14, 15, 16, 17, 18, 19],
  },
  { name: 'mir', ranges: [['2200', '2204']], lengths: [16, 17, 18, 19] },
];

/** The card network whose issuer range and length fit `digits`, or undefined. */
export function cardNetworkOf(digits: string): string | undefined {
  for (const network of CARD_NETWORKS) {
    if (!network.lengths.includes(digits.length)) continue;
    for (const [low, high] of network.ranges) {
      const prefix = digits.slice(0, low.length);
      if (prefix >= low && prefix <= high) return network.name;
    }
  }
  return undefined;
}

/** True for 13–19 digits with a known issuer prefix and length and a valid Luhn checksum. */
export function isValidCardNumber(digits: string): boolean {
  return (
    digits.length >= 13 && digits.length <= 19 && cardNetworkOf(digits) !== undefined && luhnCheck(digits)
  );
}

/** Score of a Luhn-valid number in a known issuer range. */
export const CREDIT_CARD_SCORE = 1;
/** Score when the words before say it is another kind of number (a Luhn pass is then a 1-in-10 chance). */
export const CREDIT_CARD_NEGATIVE_CONTEXT_SCORE = 0.3;

const NEGATIVE_CONTEXT = wordSet(
  'order tracking invoice imei serial sku shipment parcel awb isbn ean gtin upc barcode batch lot ' +
    'item article material part shipment sscc',
);

/**
 * Finds payment card numbers (`CREDIT_CARD`): 13–19 digits, unbroken or grouped by single spaces or dashes,
 * with a Luhn-valid checksum and a known issuer range.
 */
export function recognizeCreditCards(text: string): PiiFinding[] {
  const findings: PiiFinding[] = [];
  scanDigitWindows(text, { min: 13, max: 19 }, (window) => {
    if (window.digits.length < 13 || window.digits.length > 19 || window.separator === 'mixed') return false;
    if (!isValidCardNumber(window.digits)) return false;
    const score = hasContextWord(text, window.start, NEGATIVE_CONTEXT, 3)
      ? CREDIT_CARD_NEGATIVE_CONTEXT_SCORE
      : CREDIT_CARD_SCORE;
    findings.push({ entity_type: 'CREDIT_CARD', start: window.start, end: window.end, score });
    return true;
  });
  return findings;
}

import { describe, expect, it } from '@jest/globals';
import { cardNetworkOf, isValidCardNumber, luhnCheck, recognizeCreditCards } from './credit-card-recognizer';

const spans = (text: string): string[] => recognizeCreditCards(text).map((f) => text.slice(f.start, f.end));

describe('luhnCheck', () => {
  it('accepts numbers whose Luhn checksum is valid', () => {
    for (const number of [
      '4111111111111111',
      '5555555555554444',
      '378282246310005',
      '6011111111111117',
      '79927398713',
    ]) {
      expect(luhnCheck(number)).toBe(true);
    }
  });

  it('rejects a changed digit, a transposition, non-digits and the empty string', () => {
    expect(luhnCheck('4111111111111112')).toBe(false);
    expect(luhnCheck('79927398731')).toBe(false);
    expect(luhnCheck('4111-1111')).toBe(false);
    expect(luhnCheck('')).toBe(false);
  });
});

describe('cardNetworkOf', () => {
  it.each([
    ['4111111111111111', 'visa'],
    ['4222222222222', 'visa'],
    ['5105105105105100', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011000990139424', 'discover'],
    ['3530111333300000', 'jcb'],
    ['30569309025904', 'diners'],
    ['6200000000000005', 'unionpay'],
  ])('knows %s as %s', (number, network) => {
    expect(cardNetworkOf(number)).toBe(network);
  });

  it('knows no network for unknown prefixes or wrong lengths', () => {
    expect(cardNetworkOf('9111111111111111')).toBeUndefined();
    expect(cardNetworkOf('37828224631000')).toBeUndefined(); // Amex is 15 digits
    expect(cardNetworkOf('356938035643809')).toBeUndefined(); // an IMEI: 35… with 15 digits
  });

  it('requires a network as well as the checksum', () => {
    expect(isValidCardNumber('4111111111111111')).toBe(true);
    expect(isValidCardNumber('8000000000000009')).toBe(false); // Luhn-valid, no network
  });
});

describe('recognizeCreditCards', () => {
  it('finds numbers unbroken, grouped by spaces and grouped by dashes', () => {
    expect(spans('card 4111111111111111 on file')).toEqual(['4111111111111111']);
    expect(spans('card 4111 1111 1111 1111 on file')).toEqual(['4111 1111 1111 1111']);
    expect(spans('card 5555-5555-5555-4444.')).toEqual(['5555-5555-5555-4444']);
    expect(spans('Amex 3782 822463 10005, exp 01/28')).toEqual(['3782 822463 10005']);
  });

  it('gives Luhn-valid numbers score 1 and ignores Luhn-invalid ones', () => {
    expect(recognizeCreditCards('4111 1111 1111 1111')).toEqual([
      { entity_type: 'CREDIT_CARD', start: 0, end: 19, score: 1 },
    ]);
    expect(spans('4111 1111 1111 1112 and 5555555555554445')).toEqual([]);
  });

  it('accepts 13 to 19 digits only', () => {
    expect(spans('4222222222222')).toEqual(['4222222222222']);
    expect(spans('411111111111')).toEqual([]);
    expect(spans('41111111111111111111')).toEqual([]);
  });

  it('separates the card from a following expiry date but not from a dash-joined suffix', () => {
    expect(spans('4111 1111 1111 1111 12/27')).toEqual(['4111 1111 1111 1111']);
    expect(spans('ref 4111-1111-1111-1111-22')).toEqual([]);
  });

  it('does not find a card inside a word, a decimal or an identifier', () => {
    expect(spans('ORD-4111111111111111')).toEqual([]);
    expect(spans('x4111111111111111')).toEqual([]);
    expect(spans('0.4111111111111111')).toEqual([]);
    expect(spans('4111111111111111abc')).toEqual([]);
  });

  it('rejects mixed separators', () => {
    expect(spans('4111 1111-1111 1111')).toEqual([]);
  });

  it('lowers the score when the words before name another kind of number', () => {
    const [finding] = recognizeCreditCards('tracking 4111 1111 1111 1111');
    expect(finding?.score).toBeLessThan(0.5);
  });

  it('finds a card next to Chinese text', () => {
    expect(spans('卡号4111111111111111。')).toEqual(['4111111111111111']);
  });
});

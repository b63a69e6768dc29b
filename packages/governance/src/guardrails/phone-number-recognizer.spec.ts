import { describe, expect, it } from '@jest/globals';
import { recognizePhoneNumbers } from './phone-number-recognizer';

const detected = (text: string, regions?: Parameters<typeof recognizePhoneNumbers>[1]): string[] =>
  recognizePhoneNumbers(text, regions)
    .filter((finding) => finding.score >= 0.5)
    .map((finding) => text.slice(finding.start, finding.end));

describe('recognizePhoneNumbers', () => {
  it.each([
    '+1 (415) 555-2671',
    '+44 20 7946 0958',
    '+49 30 901820',
    '+49 (0)30 901820',
    '+33 1 42 68 53 00',
    '+91 98765 43210',
    '+55 11 98765-4321',
    '+81 3-1234-5678',
    '+1-800-555-0199',
  ])('finds the international number %s', (number) => {
    expect(detected(`reach me at ${number} today`)).toEqual([number]);
  });

  it.each([
    ['(212) 555-0198', 'US'],
    ['415.555.2671', 'US'],
    ['1-800-555-0199', 'US'],
    ['020 7946 0958', 'GB'],
    ['030 901820', 'DE'],
    ['0171 2345678', 'DE'],
    ['01 42 68 53 00', 'FR'],
    ['612 345 678', 'ES'],
    ['06 6982 1234', 'IT'],
    ['06 12345678', 'NL'],
    ['(11) 98765-4321', 'BR'],
  ])('finds the national number %s (%s) with the default regions', (number) => {
    expect(detected(`number ${number} ok`)).toEqual([number]);
  });

  it('accepts the 00 international prefix', () => {
    expect(detected('call 0044 20 7946 0958')).toEqual(['0044 20 7946 0958']);
  });

  it('accepts national formats only of the configured regions', () => {
    expect(detected('ring 030 901820', { regions: ['US'] })).toEqual([]);
    expect(detected('ring 030 901820', { regions: ['DE'] })).toEqual(['030 901820']);
    expect(detected('ring 138 0013 8000')).toEqual([]);
    expect(detected('ring 138 0013 8000', { regions: ['CN'] })).toEqual(['138 0013 8000']);
  });

  it('rejects numbers that libphonenumber finds invalid', () => {
    expect(detected('value +1 (555) 123-4567 or 555 0198')).toEqual([]);
  });

  it('doubts a number grouped as its valid region never groups it', () => {
    // Only Italian (55 5123 4567) or Brazilian ((55) 5123-4567) digits, in North American shape.
    expect(recognizePhoneNumbers('value 555-123-4567')[0]?.score).toBe(0.4);
  });

  it('rejects dates, times, versions, decimals and dotted quads', () => {
    expect(detected('2024-01-15, 15.01.2024, 01/15/2024, 20240115 and 2024-03-19 10:30')).toEqual([]);
    expect(detected('09:00-17:30, 1.2.3.4.5, 12345.67, 192.168.1.20, 10.4.22.1803')).toEqual([]);
  });

  it('rejects identifiers: year-prefixed, SSN-shaped, too long, or inside a word', () => {
    expect(detected('ordine n. 2024/00077 and 2024-00812')).toEqual([]);
    expect(detected('ITIN 994-66-3672 and 536-22-8410')).toEqual([]);
    expect(detected('EAN 4006381333931, card 4062 8155 4023 0355')).toEqual([]);
    expect(detected('ORD-4155552671 and #4155552671 and x4155552671')).toEqual([]);
  });

  it('requires North American numbers to be grouped 3-3-4', () => {
    expect(detected('value 5804 7775 49')).toEqual([]);
    expect(detected('value 580 477 7549')).toEqual(['580 477 7549']);
  });

  it('scores by format and context', () => {
    const score = (text: string): number | undefined => recognizePhoneNumbers(text)[0]?.score;
    expect(score('x +49 30 901820')).toBe(0.9);
    expect(score('x 030 901820')).toBe(0.6);
    expect(score('Tel. 030 901820')).toBe(0.8);
    expect(score('order 4155552671')).toBe(0.2);
    // The French 03 19 54 16 61 without its trunk 0: valid, but more likely an identifier.
    expect(score('x 319541661')).toBe(0.4);
  });

  it('does not join two numbers separated by a comma or double space', () => {
    expect(detected('(212) 555-0198, 415.555.2671')).toEqual(['(212) 555-0198', '415.555.2671']);
    expect(detected('+49 30 901820  12')).toEqual(['+49 30 901820']);
  });

  it('finds numbers in CSV fields, after a field that ends in a digit', () => {
    expect(detected('88213,030 901820,+44 20 7946 0958,2024')).toEqual(['030 901820', '+44 20 7946 0958']);
  });

  it('finds numbers that touch Chinese or Japanese text', () => {
    expect(detected('电话+86 10 6552 9988。')).toEqual(['+86 10 6552 9988']);
  });
});

import { describe, expect, it } from '@jest/globals';
import { isValidUsSsn, recognizeUsSsns } from './us-ssn-recognizer';

const detected = (text: string): string[] =>
  recognizeUsSsns(text)
    .filter((finding) => finding.score >= 0.5)
    .map((finding) => text.slice(finding.start, finding.end));

describe('isValidUsSsn', () => {
  it('accepts numbers within the SSA ranges', () => {
    expect(isValidUsSsn('536228410')).toBe(true);
    expect(isValidUsSsn('001010001')).toBe(true);
    expect(isValidUsSsn('899999999')).toBe(true);
    expect(isValidUsSsn('665123456')).toBe(true);
    expect(isValidUsSsn('667123456')).toBe(true);
  });

  it.each([
    ['000123456', 'area 000'],
    ['666123456', 'area 666'],
    ['900123456', 'area 9xx (ITIN range)'],
    ['999123456', 'area 9xx'],
    ['536008410', 'group 00'],
    ['536220000', 'serial 0000'],
    ['078051120', 'the Woolworth wallet card'],
    ['219099999', 'an SSA advertisement'],
    ['123456789', 'the textbook example'],
    ['111111111', 'one digit repeated'],
    ['53622841', 'eight digits'],
    ['53622841a', 'a letter'],
  ])('rejects %s (%s)', (digits) => {
    expect(isValidUsSsn(digits)).toBe(false);
  });
});

describe('recognizeUsSsns', () => {
  it('finds dashed and spaced SSNs', () => {
    expect(detected('SSN 536-22-8410 on file')).toEqual(['536-22-8410']);
    expect(detected('id 536 22 8410')).toEqual(['536 22 8410']);
  });

  it('scores a formatted SSN higher with SSN context', () => {
    const [plain] = recognizeUsSsns('value 536-22-8410');
    const [withContext] = recognizeUsSsns('Social Security number: 536-22-8410');
    expect(plain?.score).toBe(0.65);
    expect(withContext?.score).toBe(0.95);
  });

  it('finds nine bare digits only with SSN context', () => {
    expect(detected('row 536228410')).toEqual([]);
    expect(detected('SSN: 536228410')).toEqual(['536228410']);
  });

  it('ignores invalid ranges whatever the context', () => {
    expect(detected('SSN 000-22-8410, 666-22-8410, 936-22-8410, 536-00-8410, 536-22-0000')).toEqual([]);
  });

  it('ignores mixed separators and other groupings', () => {
    expect(detected('SSN 536-22 8410')).toEqual([]);
    expect(detected('SSN 5362-2-8410')).toEqual([]);
    expect(detected('SSN 53-622-8410')).toEqual([]);
  });

  it('does not cut an SSN out of a longer identifier', () => {
    expect(detected('SSN 536-22-8410-77')).toEqual([]);
    expect(detected('SSN A536-22-8410')).toEqual([]);
    expect(detected('SSN 1536-22-8410')).toEqual([]);
  });

  it('finds SSNs in CSV fields', () => {
    expect(detected('88213,536-22-8410,2019')).toEqual(['536-22-8410']);
  });

  it('drops an SSN-shaped part number', () => {
    expect(detected('part 536-22-8410 in stock')).toEqual([]);
  });

  it('reports exact offsets', () => {
    expect(recognizeUsSsns('x 536-22-8410')).toEqual([
      { entity_type: 'US_SSN', start: 2, end: 13, score: 0.65 },
    ]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { resolveOverlaps, type TypedSpan } from './overlap-resolution';

const span = (entity_type: string, start: number, end: number, score: number): TypedSpan => ({
  entity_type,
  start,
  end,
  score,
});

describe('resolveOverlaps', () => {
  it('keeps the higher score', () => {
    expect(resolveOverlaps([span('PHONE_NUMBER', 0, 11, 0.6), span('US_SSN', 0, 11, 0.65)])).toEqual([
      span('US_SSN', 0, 11, 0.65),
    ]);
  });

  it('keeps the longer span when scores tie', () => {
    expect(resolveOverlaps([span('IP_ADDRESS', 7, 18, 0.9), span('IP_ADDRESS', 0, 18, 0.9)])).toEqual([
      span('IP_ADDRESS', 0, 18, 0.9),
    ]);
  });

  it('breaks full ties by start, then by entity order', () => {
    expect(resolveOverlaps([span('B', 2, 6, 1), span('A', 0, 4, 1)])).toEqual([span('A', 0, 4, 1)]);
    expect(resolveOverlaps([span('PHONE_NUMBER', 0, 9, 0.6), span('US_SSN', 0, 9, 0.6)])).toEqual([
      span('US_SSN', 0, 9, 0.6),
    ]);
  });

  it('keeps spans that only touch, and returns them in text order', () => {
    expect(resolveOverlaps([span('A', 5, 9, 1), span('B', 0, 5, 0.5)])).toEqual([
      span('B', 0, 5, 0.5),
      span('A', 5, 9, 1),
    ]);
  });

  it('gives the same result whatever the input order', () => {
    const spans = [
      span('PERSON', 0, 4, 0.85),
      span('EMAIL_ADDRESS', 0, 16, 1),
      span('PHONE_NUMBER', 20, 30, 0.6),
      span('US_SSN', 20, 31, 0.6),
      span('IP_ADDRESS', 29, 40, 0.9),
    ];
    const expected = resolveOverlaps(spans);
    expect(expected.map((s) => s.entity_type)).toEqual(['EMAIL_ADDRESS', 'IP_ADDRESS']);
    for (let shift = 1; shift < spans.length; shift++) {
      const rotated = [...spans.slice(shift), ...spans.slice(0, shift)];
      expect(resolveOverlaps(rotated)).toEqual(expected);
      expect(resolveOverlaps([...rotated].reverse())).toEqual(expected);
    }
  });

  it('drops empty spans', () => {
    expect(resolveOverlaps([span('A', 3, 3, 1), span('B', 1, 2, 1)])).toEqual([span('B', 1, 2, 1)]);
  });
});

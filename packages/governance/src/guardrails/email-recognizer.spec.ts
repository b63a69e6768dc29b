import { describe, expect, it } from '@jest/globals';
import { recognizeEmailAddresses } from './email-recognizer';

const spans = (text: string): string[] =>
  recognizeEmailAddresses(text).map((f) => text.slice(f.start, f.end));

describe('recognizeEmailAddresses', () => {
  it('finds ordinary addresses', () => {
    expect(spans('mail jane.doe@example.com today')).toEqual(['jane.doe@example.com']);
    expect(spans('first.last+tag@sub.domain.example.co.uk')).toEqual([
      'first.last+tag@sub.domain.example.co.uk',
    ]);
    expect(spans("o'reilly@example.org")).toEqual(["o'reilly@example.org"]);
  });

  it('finds internationalised addresses', () => {
    expect(spans('info@müller-gmbh.de')).toEqual(['info@müller-gmbh.de']);
    expect(spans('почта@пример.рф')).toEqual(['почта@пример.рф']);
  });

  it('keeps surrounding punctuation out of the span', () => {
    expect(spans('(<ops@strata.example>)')).toEqual(['ops@strata.example']);
    expect(spans("'sec@strata.example'")).toEqual(['sec@strata.example']);
    expect(spans('Write to bob@example.net.')).toEqual(['bob@example.net']);
  });

  it('finds the %40-encoded address of a logged query string', () => {
    expect(spans('email=chen.w%40example.com&x=1')).toEqual(['chen.w%40example.com']);
  });

  it('ignores things that are not addresses', () => {
    expect(spans('user@localhost, admin@, @mention, a@b.c')).toEqual([]);
    expect(spans('icon@2x.png and logo@3x.webp')).toEqual([]);
    expect(spans('zod@4.6.7 and @strata/governance@0.1.0')).toEqual([]);
    expect(spans('git clone git@github.com:strata/platform.git')).toEqual([]);
    expect(spans('name(at)example(dot)com')).toEqual([]);
  });

  it('reports offsets and score 1', () => {
    expect(recognizeEmailAddresses('to a.b@example.com')).toEqual([
      { entity_type: 'EMAIL_ADDRESS', start: 3, end: 18, score: 1 },
    ]);
  });
});

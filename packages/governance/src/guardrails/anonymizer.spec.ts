import { describe, expect, it } from '@jest/globals';
import { anonymize } from './anonymizer';
import { PiiAnalyzer } from './pii-analyzer';

describe('anonymize', () => {
  it('replaces each finding with its typed placeholder and reports where it now stands', () => {
    const text = 'Mail jane@example.com or call +44 20 7946 0958.';
    const result = anonymize(text, new PiiAnalyzer().analyze(text));
    expect(result.text).toBe('Mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>.');
    expect(result.items).toEqual([
      { entity_type: 'EMAIL_ADDRESS', start: 5, end: 20, text: '<EMAIL_ADDRESS>', operator: 'replace' },
      { entity_type: 'PHONE_NUMBER', start: 29, end: 43, text: '<PHONE_NUMBER>', operator: 'replace' },
    ]);
    for (const item of result.items) expect(result.text.slice(item.start, item.end)).toBe(item.text);
  });

  it('returns the text unchanged without findings', () => {
    expect(anonymize('nothing here', [])).toEqual({ text: 'nothing here', items: [] });
  });

  it('resolves overlapping findings before replacing', () => {
    const text = 'id 536-22-8410';
    const result = anonymize(text, [
      { entity_type: 'PHONE_NUMBER', start: 3, end: 14, score: 0.6 },
      { entity_type: 'US_SSN', start: 3, end: 14, score: 0.65 },
      { entity_type: 'PERSON', start: 5, end: 8, score: 0.9 },
    ]);
    expect(result.text).toBe('id 53<PERSON>2-8410');
  });

  it('handles findings in any order, adjacent findings and findings at the edges', () => {
    const result = anonymize('abcdef', [
      { entity_type: 'B', start: 3, end: 6, score: 1 },
      { entity_type: 'A', start: 0, end: 3, score: 1 },
    ]);
    expect(result.text).toBe('<A><B>');
  });

  it('clamps spans that reach outside the text', () => {
    expect(anonymize('abc', [{ entity_type: 'X', start: 1, end: 99, score: 1 }]).text).toBe('a<X>');
  });

  it('takes a custom placeholder', () => {
    const result = anonymize(
      'call 030 901820',
      [{ entity_type: 'PHONE_NUMBER', start: 5, end: 15, score: 0.6 }],
      {
        placeholder: (type) => `[${type.toLowerCase()}]`,
      },
    );
    expect(result.text).toBe('call [phone_number]');
  });
});

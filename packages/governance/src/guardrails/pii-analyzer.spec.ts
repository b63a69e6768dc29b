import { describe, expect, it } from '@jest/globals';
import { PiiAnalyzer } from './pii-analyzer';

const TEXT =
  'Maria Schmidt (maria.schmidt@acme.de, +49 30 901820) paid with 4111 1111 1111 1111 from 10.0.0.7; ' +
  'SSN 536-22-8410, IBAN DE89 3704 0044 0532 0130 00.';

describe('PiiAnalyzer', () => {
  const analyzer = new PiiAnalyzer({ personNames: ['Maria Schmidt', 'Maria'] });

  it('finds every entity type, in text order, without overlaps', () => {
    const findings = analyzer.analyze(TEXT, { returnText: true });
    expect(findings.map((f) => [f.entity_type, f.text])).toEqual([
      ['PERSON', 'Maria Schmidt'],
      ['EMAIL_ADDRESS', 'maria.schmidt@acme.de'],
      ['PHONE_NUMBER', '+49 30 901820'],
      ['CREDIT_CARD', '4111 1111 1111 1111'],
      ['IP_ADDRESS', '10.0.0.7'],
      ['US_SSN', '536-22-8410'],
      ['IBAN_CODE', 'DE89 3704 0044 0532 0130 00'],
    ]);
  });

  it('leaves the matched text off findings unless asked', () => {
    expect(analyzer.analyze(TEXT).every((f) => f.text === undefined)).toBe(true);
  });

  it('restricts to the wanted entity types, keeping the spans the full analysis gives', () => {
    // `maria` inside the address is not a PERSON: the e-mail finding wins even when only PERSON is wanted.
    expect(analyzer.analyze(TEXT, { entities: ['PERSON'], returnText: true }).map((f) => f.text)).toEqual([
      'Maria Schmidt',
    ]);
  });

  it('drops findings under the score threshold', () => {
    const text = 'call 030 901820';
    expect(analyzer.analyze(text)).toHaveLength(1);
    expect(analyzer.analyze(text, { scoreThreshold: 0.9 })).toHaveLength(0);
    expect(new PiiAnalyzer({ scoreThreshold: 0.9 }).analyze(text)).toHaveLength(0);
  });

  it('uses the configured phone regions', () => {
    expect(new PiiAnalyzer({ phoneRegions: ['US'] }).analyze('ring 030 901820')).toEqual([]);
  });

  it('is deterministic', () => {
    expect(analyzer.analyze(TEXT)).toEqual(analyzer.analyze(TEXT));
  });

  it('returns nothing for empty text', () => {
    expect(analyzer.analyze('')).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { recognizeIbans } from './iban-recognizer';

const spans = (text: string): string[] => recognizeIbans(text).map((f) => text.slice(f.start, f.end));

/** ISO 7064 mod 97-10 check digits for a country and BBAN, computed independently of ibantools. */
function withCheckDigits(country: string, bban: string): string {
  const rearranged = `${bban}${country}00`.replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  let remainder = 0;
  for (const digit of rearranged) remainder = (remainder * 10 + Number(digit)) % 97;
  return `${country}${String(98 - remainder).padStart(2, '0')}${bban}`;
}

describe('recognizeIbans', () => {
  it('finds IBANs in electronic and paper format', () => {
    expect(spans('IBAN DE89370400440532013000 please')).toEqual(['DE89370400440532013000']);
    expect(spans('IBAN DE89 3704 0044 0532 0130 00 please')).toEqual(['DE89 3704 0044 0532 0130 00']);
    expect(spans('to GB82 WEST 1234 5698 7654 32.')).toEqual(['GB82 WEST 1234 5698 7654 32']);
    expect(spans('NL91ABNA0417164300')).toEqual(['NL91ABNA0417164300']);
  });

  it('accepts lower case', () => {
    expect(spans('iban gb82west12345698765432 ok')).toEqual(['gb82west12345698765432']);
  });

  it('rejects a wrong mod-97 checksum', () => {
    expect(spans('DE88 3704 0044 0532 0130 00')).toEqual([]);
    expect(spans('DE89 3704 0044 0532 0130 01')).toEqual([]);
  });

  it('checks the length of the country', () => {
    expect(spans('DE89 3704 0044 0532 0130')).toEqual([]);
    expect(spans('DE89 3704 0044 0532 0130 000')).toEqual([]);
    expect(spans('DE89370400440532013000X')).toEqual([]);
  });

  it('rejects unknown countries and other RF-style references', () => {
    expect(spans('XX89 3704 0044 0532 0130 00')).toEqual([]);
    expect(spans('RF18 5390 0754 7034')).toEqual([]);
  });

  it('checks the BBAN format and national check digits that ibantools knows', () => {
    // Belgium: the last two BBAN digits are the first ten mod 97; 539007547034 is right, …035 is not.
    expect(spans(withCheckDigits('BE', '539007547034'))).toHaveLength(1);
    expect(spans(withCheckDigits('BE', '539007547035'))).toEqual([]);
    // Germany's BBAN is digits only.
    expect(spans(withCheckDigits('DE', '37040044053201300A'))).toEqual([]);
  });

  it('does not start inside a word and does not run into the next word', () => {
    expect(spans('XDE89370400440532013000')).toEqual([]);
    expect(spans('DE89 3704 0044 0532 0130 00 EUR')).toEqual(['DE89 3704 0044 0532 0130 00']);
  });

  it('reports exact offsets and score 1', () => {
    expect(recognizeIbans('a DE89370400440532013000')).toEqual([
      { entity_type: 'IBAN_CODE', start: 2, end: 24, score: 1 },
    ]);
  });
});

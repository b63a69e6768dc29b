import { describe, expect, it } from '@jest/globals';
import { PersonNameList } from './person-recognizer';

const spans = (names: string[], text: string): string[] =>
  new PersonNameList(names).recognize(text).map((f) => text.slice(f.start, f.end));

describe('PersonNameList', () => {
  it('matches case-insensitively', () => {
    expect(spans(['Maria Schmidt'], 'MARIA SCHMIDT and maria schmidt')).toEqual([
      'MARIA SCHMIDT',
      'maria schmidt',
    ]);
  });

  it('matches whole words only', () => {
    expect(spans(['Anna'], 'Annabel, Hanna, anna_x, Anna2 and Anna.')).toEqual(['Anna']);
    expect(spans(['Lee'], 'Leeds and Kimberley Lee')).toEqual(['Lee']);
  });

  it('lets any whitespace separate the parts of a name', () => {
    expect(spans(['Maria Schmidt'], 'Maria\n  Schmidt and Maria\u00a0Schmidt')).toEqual([
      'Maria\n  Schmidt',
      'Maria\u00a0Schmidt',
    ]);
  });

  it('treats both apostrophes alike', () => {
    expect(spans(["Aoife O'Brien"], 'Aoife O’Brien’s call')).toEqual(['Aoife O’Brien']);
  });

  it('handles names in other scripts, with diacritics and Unicode case', () => {
    expect(
      spans(
        ['José Álvarez', 'Łukasz Wróbel', 'Дмитрий Иванов', 'Θοδωρής Παπαδόπουλος'],
        'JOSÉ ÁLVAREZ, łukasz wróbel, ДМИТРИЙ ИВАНОВ, Θοδωρής Παπαδόπουλος',
      ),
    ).toEqual(['JOSÉ ÁLVAREZ', 'łukasz wróbel', 'ДМИТРИЙ ИВАНОВ', 'Θοδωρής Παπαδόπουλος']);
  });

  it('finds names next to Chinese or Japanese text, where words are not spaced', () => {
    expect(spans(['李伟', 'Chen Wei'], '客户李伟说, Chen Wei的电话')).toEqual(['李伟', 'Chen Wei']);
  });

  it('prefers the longest listed name at a position', () => {
    expect(spans(['Anna', 'Anna Schmidt'], 'Anna Schmidt called Anna')).toEqual(['Anna Schmidt', 'Anna']);
  });

  it('escapes regex characters in names and ignores blank entries', () => {
    expect(spans(['A.J. (AJ) Smith', '  ', ''], 'A.J. (AJ) Smith, AxJx (AJ) Smith')).toEqual([
      'A.J. (AJ) Smith',
    ]);
    expect(new PersonNameList(['  ', '']).size).toBe(0);
  });

  it('finds nothing with an empty list', () => {
    expect(new PersonNameList([]).recognize('Maria Schmidt')).toEqual([]);
  });

  it('reports offsets and score', () => {
    expect(new PersonNameList(['Lars Eriksson']).recognize('Hi Lars Eriksson')).toEqual([
      { entity_type: 'PERSON', start: 3, end: 16, score: 0.85 },
    ]);
  });
});

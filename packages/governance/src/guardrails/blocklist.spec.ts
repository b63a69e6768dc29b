import { describe, expect, it } from '@jest/globals';
import { Blocklist, blocklistPatternProblem } from './blocklist';

const hits = (blocklist: Blocklist, text: string): string[] =>
  blocklist.find(text).map((m) => text.slice(m.start, m.end));

describe('Blocklist', () => {
  it('matches terms case-insensitively on word boundaries', () => {
    const blocklist = new Blocklist({ terms: ['falcon', 'ass'] });
    expect(hits(blocklist, 'Project FALCON, falcons, class, Falcon.')).toEqual(['FALCON', 'Falcon']);
  });

  it('matches multi-word terms across any whitespace', () => {
    const blocklist = new Blocklist({ terms: ['Project  Falcon'] });
    expect(hits(blocklist, 'the project\nfalcon plan')).toEqual(['project\nfalcon']);
  });

  it('treats regex characters in terms literally and skips boundaries at non-word edges', () => {
    const blocklist = new Blocklist({ terms: ['C++', 'a.b'] });
    expect(hits(blocklist, 'C++ and C+++ and axb and a.b')).toEqual(['C++', 'C++', 'a.b']);
  });

  it('matches patterns, wrapped in word boundaries and case-insensitive', () => {
    const blocklist = new Blocklist({ patterns: ['proj(?:ect)?[- ]?\\d{3}'] });
    expect(hits(blocklist, 'PROJECT-123, proj456, xproj789, proj1234')).toEqual(['PROJECT-123', 'proj456']);
  });

  it('reports which entry matched', () => {
    const blocklist = new Blocklist({ terms: ['alpha', 'alpha beta'], patterns: ['gam+a'] });
    expect(blocklist.find('alpha beta, alpha, gammma')).toEqual([
      { start: 0, end: 10, entry: 'term:1' },
      { start: 12, end: 17, entry: 'term:0' },
      { start: 19, end: 25, entry: 'pattern:0' },
    ]);
  });

  it('works next to Chinese text and with non-Latin terms', () => {
    const blocklist = new Blocklist({ terms: ['Falcon', '猎鹰', 'сокол'] });
    expect(hits(blocklist, '项目Falcon和猎鹰计划, Сокол')).toEqual(['Falcon', '猎鹰', 'Сокол']);
  });

  it('is empty without entries', () => {
    expect(new Blocklist({}).isEmpty).toBe(true);
    expect(new Blocklist({ terms: ['  '] }).find('anything')).toEqual([]);
  });

  it('rejects patterns that do not compile, match the empty string, or use groups that would clash', () => {
    expect(blocklistPatternProblem('(')).toMatch(/not a valid regular expression/);
    expect(blocklistPatternProblem('a*')).toBe('must not match the empty string');
    expect(blocklistPatternProblem('(?<x>a)')).toMatch(/named groups/);
    expect(blocklistPatternProblem('(a)\\1')).toMatch(/back-references/);
    expect(blocklistPatternProblem('(?<!x)a(?=b)')).toBeUndefined();
    expect(() => new Blocklist({ patterns: ['('] })).toThrow(/blocklist pattern 0/);
  });
});

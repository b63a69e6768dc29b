import { describe, expect, it } from '@jest/globals';
import { characterCount, exceedsCharacters, truncateCharacters } from './length-limit';

describe('length limits', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(characterCount('abc')).toBe(3);
    expect(characterCount('😀😀')).toBe(2);
    expect('😀😀'.length).toBe(4);
    expect(characterCount('Zoë')).toBe(3);
    expect(characterCount('')).toBe(0);
  });

  it('counts a lone surrogate as one character', () => {
    expect(characterCount('a\ud83d')).toBe(2);
  });

  it('tells whether a text exceeds a limit', () => {
    expect(exceedsCharacters('abcd', 4)).toBe(false);
    expect(exceedsCharacters('abcde', 4)).toBe(true);
    expect(exceedsCharacters('😀😀😀😀', 4)).toBe(false);
    expect(exceedsCharacters('😀😀😀😀😀', 4)).toBe(true);
  });

  it('truncates to a number of code points without splitting a pair', () => {
    expect(truncateCharacters('abcdef', 3)).toBe('abc');
    expect(truncateCharacters('😀😀😀', 2)).toBe('😀😀');
    expect(truncateCharacters('a😀b', 2)).toBe('a😀');
    expect(truncateCharacters('short', 10)).toBe('short');
  });
});

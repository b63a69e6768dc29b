import { candidateProbability, jaccard, MinHasher, shingleHashes, words } from './minhash';
import { SeededRandom } from '../sample/random';
import { TextFactory } from '../sample/sample-generator';

describe('MinHash', () => {
  it('shingles lower-cased words, ignoring punctuation', () => {
    expect(words('Hello, World! 42x')).toEqual(['hello', 'world', '42x']);
    expect(shingleHashes('a b c d e f', 5).length).toBe(2);
    expect(shingleHashes('a b', 5).length).toBe(1);
    expect(jaccard(shingleHashes('A b c d e f.', 5), shingleHashes('a B c d e f', 5))).toBe(1);
  });

  it('estimates Jaccard within sampling error and gives identical texts identical band keys', () => {
    const factory = new TextFactory(new SeededRandom(3));
    const hasher = new MinHasher({ shingleSize: 5, bands: 32, rows: 8, seed: 1 });
    const text = factory.paragraph(12, 12);
    const near = factory.nearDuplicate(text, 0.7);
    const a = hasher.signature(shingleHashes(text, 5));
    const b = hasher.signature(shingleHashes(near.text, 5));
    expect(Math.abs(MinHasher.estimate(a, b) - near.jaccard)).toBeLessThan(0.15);
    expect([...hasher.bandKeys(a)]).toEqual([...hasher.bandKeys(hasher.signature(shingleHashes(text, 5)))]);
  });

  it("follows the S-curve: datatrove's 14×8 catches J=0.9 pairs almost always and J=0.5 rarely", () => {
    expect(candidateProbability(0.9, 14, 8)).toBeGreaterThan(0.99);
    expect(candidateProbability(0.5, 14, 8)).toBeLessThan(0.06);
  });

  it('rejects invalid band settings', () => {
    expect(() => new MinHasher({ shingleSize: 5, bands: 0, rows: 8, seed: 1 })).toThrow(/bands/);
  });
});

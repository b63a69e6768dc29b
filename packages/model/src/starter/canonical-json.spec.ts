import { canonicalJson } from './canonical-json';

describe('canonicalJson', () => {
  it('sorts object keys at every depth, including integer-like keys', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: true }], c: 'x' }, '10': 0, '9': 0 })).toBe(
      '{\n  "10": 0,\n  "9": 0,\n  "a": {\n    "c": "x",\n    "d": [\n      3,\n      {\n        "y": true,\n        "z": null\n      }\n    ]\n  },\n  "b": 1\n}\n',
    );
  });

  it('writes a Map in insertion order and leaves out undefined values', () => {
    expect(
      canonicalJson({
        m: new Map<string, number>([
          ['z', 0],
          ['1', 1],
        ]),
        gone: undefined,
        e: [],
        o: {},
      }),
    ).toBe('{\n  "e": [],\n  "m": {\n    "z": 0,\n    "1": 1\n  },\n  "o": {}\n}\n');
  });

  it('parses back to the same value and refuses non-finite numbers', () => {
    const value = { text: 'quote " and \u2028 line', n: -1.5e-7 };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(RangeError);
  });
});

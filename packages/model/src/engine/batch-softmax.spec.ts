import { seededRandom } from '../seeded-random';
import { BatchSoftmax } from './batch-softmax';

const VOCABULARY = 50_257;
let softmax: BatchSoftmax;

beforeAll(async () => {
  softmax = await BatchSoftmax.create();
});

afterAll(() => softmax.release());

function randomRows(rows: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: rows * VOCABULARY }, () => (random.next() - 0.5) * 30);
}

describe('BatchSoftmax', () => {
  // onnxruntime's vectorised exponential is accurate to about 2e-6 relative, against 6e-8 for float32 rounding.
  it('gives each row softmax(logits / temperature)', async () => {
    const logits = randomRows(3, 1);
    const temperatures = Float32Array.of(1, 0.5, 2);
    const probabilities = await softmax.run(logits, temperatures, VOCABULARY);
    expect(probabilities).toHaveLength(3 * VOCABULARY);
    for (let r = 0; r < 3; r++) {
      const row = logits.subarray(r * VOCABULARY, (r + 1) * VOCABULARY);
      const scaled = Array.from(row, (x) => x / temperatures[r]!);
      const max = Math.max(...scaled);
      const total = scaled.reduce((sum, x) => sum + Math.exp(x - max), 0);
      let mass = 0;
      for (let i = 0; i < VOCABULARY; i += 97) {
        const expected = Math.exp(scaled[i]! - max) / total;
        expect(Math.abs(probabilities[r * VOCABULARY + i]! - expected)).toBeLessThanOrEqual(expected * 1e-5);
      }
      for (let i = 0; i < VOCABULARY; i++) mass += probabilities[r * VOCABULARY + i]!;
      expect(mass).toBeCloseTo(1, 4);
    }
  });

  it('gives a row the same bits alone as among other rows', async () => {
    const logits = randomRows(16, 2);
    const temperatures = new Float32Array(16).fill(0.7);
    const together = await softmax.run(logits, temperatures, VOCABULARY);
    for (const r of [0, 7, 15]) {
      const alone = await softmax.run(
        logits.slice(r * VOCABULARY, (r + 1) * VOCABULARY),
        temperatures.subarray(0, 1),
        VOCABULARY,
      );
      const inBatch = together.subarray(r * VOCABULARY, (r + 1) * VOCABULARY);
      const differing = alone.filter((p, i) => !Object.is(p, inBatch[i])).length;
      expect(differing).toBe(0);
    }
  });

  it('reads only the rows asked for from a longer array', async () => {
    const logits = randomRows(4, 3);
    const two = await softmax.run(logits, Float32Array.of(1, 1), VOCABULARY);
    expect(two).toHaveLength(2 * VOCABULARY);
    expect(Array.from(two.subarray(0, 5))).toEqual(
      Array.from(
        (await softmax.run(logits.slice(0, VOCABULARY), Float32Array.of(1), VOCABULARY)).subarray(0, 5),
      ),
    );
  });
});

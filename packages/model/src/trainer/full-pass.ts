import * as ort from 'onnxruntime-node';
import type { Gpt2Config } from '../starter/gpt2-onnx';

// Read once: a global lookup per element is slow under Jest's vm context.
const { exp, log } = Math;

/**
 * The feeds for one uncached pass of a GPT-2 decoder over `ids` (batch 1): the tokens, a full attention mask,
 * positions from 0, and an empty past for every layer, as the exported decoder graph expects.
 */
export function fullPassFeeds(config: Gpt2Config, ids: readonly number[]): Record<string, ort.Tensor> {
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      [1, n],
    ),
  };
  const empty = [1, config.nHead, 0, config.nEmbd / config.nHead];
  for (let i = 0; i < config.nLayer; i++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(), empty);
    }
  }
  return feeds;
}

/**
 * The summed next-token cross-entropy of a pass's logits ([1, n, vocab]) against `ids`: position t predicts
 * `ids[t + 1]`, for every t with a successor. Returns the sum and how many positions it covers.
 */
export function nextTokenLoss(
  logits: Float32Array,
  ids: readonly number[],
  vocab: number,
): { total: number; count: number } {
  let total = 0;
  const count = ids.length - 1;
  for (let t = 0; t < count; t++) {
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) {
      const x = logits[t * vocab + v] ?? 0;
      if (x > max) max = x;
    }
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += exp((logits[t * vocab + v] ?? 0) - max);
    total += max + log(sum) - (logits[t * vocab + (ids[t + 1] ?? 0)] ?? 0);
  }
  return { total, count };
}

import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { encode } from 'gpt-3-encoder';
import * as ort from 'onnxruntime-node';

import { buildGpt2Onnx, initGpt2Weights, type Gpt2Weights } from '../starter/gpt2-onnx';
import { STARTER_KJV_SHAPE as STARTER_SHAPE, STARTER_TRAINED_WEIGHTS_FILE } from '../starter/starter-model';
import { DEFAULT_TRAINING_CONFIG } from './finetune';
import { fullPassFeeds, nextTokenLoss } from './full-pass';
import { unpackGpt2WeightsQ8 } from './starter-weights';
import { STARTER_CORPUS, STARTER_TRAINING } from './train-starter';

/** The committed starter weights against their training record, and against the untrained initialisation. */
const record = JSON.parse(
  readFileSync(path.join(path.dirname(STARTER_TRAINED_WEIGHTS_FILE), 'training.json'), 'utf8'),
) as {
  corpus: { sha256: string };
  training: Record<string, unknown>;
  init_seed: number;
  method: string;
  held_out: { untrained_perplexity: number; trained_perplexity: number };
  weights_sha256: string;
};
const bytes = readFileSync(STARTER_TRAINED_WEIGHTS_FILE);

// Rev 22:18-21, the end of the corpus: inside the held-out 2% of the token blocks.
const HELD_OUT =
  'For I testify unto every man that heareth the words of the prophecy of this book, If any man shall add unto ' +
  'these things, God shall add unto him the plagues that are written in this book:\nAnd if any man shall take ' +
  'away from the words of the book of this prophecy, God shall take away his part out of the book of life, and ' +
  'out of the holy city, and from the things which are written in this book.\nHe which testifieth these things ' +
  'saith, Surely I come quickly. Amen. Even so, come, Lord Jesus.\nThe grace of our Lord Jesus Christ be with you all. Amen.';

async function perplexity(weights: Gpt2Weights, ids: readonly number[]): Promise<number> {
  const { config } = STARTER_SHAPE;
  const session = await ort.InferenceSession.create(buildGpt2Onnx(config, weights));
  const feeds = fullPassFeeds(config, ids.slice(0, ids.length - 1));
  const logits = (await session.run(feeds))['logits']?.data as Float32Array;
  await session.release();
  const { total, count } = nextTokenLoss(logits, ids, config.vocabSize);
  return Math.exp(total / count);
}

describe('the trained starter model', () => {
  it('is the file its training record describes, trained by this recipe on the pinned corpus', () => {
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.weights_sha256);
    expect(record.corpus.sha256).toBe(STARTER_CORPUS.sha256);
    expect(record.method).toBe('full');
    expect(record.init_seed).toBe(STARTER_SHAPE.seed);
    expect(record.training).toEqual({ ...DEFAULT_TRAINING_CONFIG, ...STARTER_TRAINING });
  });

  it('has a far lower perplexity than the untrained initialisation on held-out scripture', async () => {
    const ids = encode(HELD_OUT);
    const trained = await perplexity(unpackGpt2WeightsQ8(STARTER_SHAPE.config, bytes), ids);
    const untrained = await perplexity(initGpt2Weights(STARTER_SHAPE.config, STARTER_SHAPE.seed), ids);
    expect(untrained).toBeGreaterThan(10_000);
    expect(trained).toBeLessThan(untrained / 50);
    expect(record.held_out.trained_perplexity).toBeLessThan(record.held_out.untrained_perplexity / 50);
  });
});

import type { FinishReason, GenerateResponse, GeneratedToken } from '@strata/contracts';
import type { SamplingSettings } from '../sampler';

/** A validated request, tokenized and with every default applied. */
export interface PreparedGeneration {
  prompt: string;
  promptIds: number[];
  maxNewTokens: number;
  stop: string[];
  sampling: SamplingSettings;
  /** The sampler's seed; undefined for greedy decoding. */
  seed: number | undefined;
  details: boolean;
  returnFullText: boolean;
}

/** One step of a generation: the token just chosen, and the text it added (may be empty mid-character). */
export interface GenerationStep {
  token: GeneratedToken;
  textDelta: string;
  /** Present on the last step only. */
  final?: GenerateResponse;
  finishReason?: FinishReason;
}

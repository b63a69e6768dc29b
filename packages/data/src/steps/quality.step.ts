import { z } from 'zod';
import type { DocumentStep, StepDefinition } from './step';

/**
 * Quality rules after Gopher (Rae et al., 2021) and C4 (Raffel et al., 2020). Gopher's thresholds target web
 * pages; business records are shorter, so the word-count floor is lower here (3 rather than 50) and the
 * stop-word rule asks for 1 rather than 2. Every threshold is an option.
 */
export const QualityOptionsSchema = z.strictObject({
  minWords: z.int().nonnegative().default(3),
  maxWords: z.int().positive().default(100_000),
  minMeanWordLength: z.number().nonnegative().default(2),
  maxMeanWordLength: z.number().positive().default(12),
  /** Gopher: `#` and `…` per word. */
  maxSymbolWordRatio: z.number().nonnegative().default(0.1),
  /** Gopher: share of words that contain a letter. */
  minAlphaWordShare: z.number().min(0).max(1).default(0.7),
  /** Gopher: share of characters in lines that repeat an earlier line (short greetings barely count). */
  maxDuplicateLineCharShare: z.number().min(0).max(1).default(0.2),
  /** Gopher: English stop words a real sentence has (the, be, to, of, and, that, have, with). */
  minStopWords: z.int().nonnegative().default(1),
  /** C4: drop text with "lorem ipsum" placeholder copy. */
  dropLoremIpsum: z.boolean().default(true),
});
export type QualityOptions = z.output<typeof QualityOptionsSchema>;

const STOP_WORDS = new Set([
  'the',
  'be',
  'to',
  'of',
  'and',
  'that',
  'have',
  'with',
  'is',
  'are',
  'was',
  'for',
  'it',
  'on',
  'a',
  'an',
  'in',
  'we',
  'you',
  'i',
  'my',
  'your',
  'our',
]);

/** The first rule the text breaks, or undefined when it passes. */
export function qualityProblem(text: string, options: QualityOptions): string | undefined {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length < options.minWords) return 'too_few_words';
  if (words.length > options.maxWords) return 'too_many_words';
  const meanLength = words.reduce((sum, w) => sum + w.length, 0) / words.length;
  if (meanLength < options.minMeanWordLength || meanLength > options.maxMeanWordLength)
    return 'mean_word_length';
  const symbols = (text.match(/#|\.\.\.|…/g) ?? []).length;
  if (symbols / words.length > options.maxSymbolWordRatio) return 'symbol_ratio';
  const alpha = words.filter((w) => /\p{L}/u.test(w)).length;
  if (alpha / words.length < options.minAlphaWordShare) return 'non_alphabetic';
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length > 1) {
    const seen = new Set<string>();
    let repeated = 0;
    let total = 0;
    for (const line of lines) {
      total += line.length;
      if (seen.has(line)) repeated += line.length;
      else seen.add(line);
    }
    if (repeated / total > options.maxDuplicateLineCharShare) return 'repeated_lines';
  }
  if (options.minStopWords > 0) {
    let stops = 0;
    for (const word of words) {
      if (STOP_WORDS.has(word.toLowerCase().replace(/[^\p{L}]/gu, '')) && ++stops >= options.minStopWords)
        break;
    }
    if (stops < options.minStopWords) return 'no_stop_words';
  }
  if (options.dropLoremIpsum && /lorem ipsum/i.test(text)) return 'lorem_ipsum';
  return undefined;
}

export const qualityStep: StepDefinition<QualityOptions> = {
  name: 'quality',
  summary:
    'Gopher/C4-style quality filter: length, word length, symbols, repeated lines, stop words, lorem ipsum',
  kind: 'document',
  options: QualityOptionsSchema,
  optionHelp: {
    minWords: 'fewest words (default 3)',
    maxWords: 'most words (default 100000)',
    minMeanWordLength: 'shortest mean word length (default 2)',
    maxMeanWordLength: 'longest mean word length (default 12)',
    maxSymbolWordRatio: '"#" and ellipses per word (default 0.1)',
    minAlphaWordShare: 'share of words with a letter (default 0.7)',
    maxDuplicateLineCharShare: 'share of characters in lines repeating an earlier one (default 0.2)',
    minStopWords: 'English stop words needed (default 1)',
    dropLoremIpsum: 'drop placeholder "lorem ipsum" text (default true)',
  },
  create: (options): DocumentStep => ({
    name: 'quality',
    apply(doc) {
      const problem = qualityProblem(doc.text, options);
      return problem ? { keep: false, reason: problem } : { keep: true, doc };
    },
  }),
};

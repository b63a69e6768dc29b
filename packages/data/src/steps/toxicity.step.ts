import { z } from 'zod';
import type { DocumentStep, StepDefinition } from './step';

/**
 * A lexicon-based bias and toxicity filter. Lexicons miss context (sarcasm, quotes, reclaimed words) and flag
 * some innocent text; they are transparent and cheap, which is why curation pipelines run them before any
 * model-based classifier. The lists are Strata's own, kept short and explicit here so they can be reviewed.
 */
export const TOXICITY_CATEGORIES = ['profanity', 'insult', 'threat', 'identity_attack'] as const;
export type ToxicityCategory = (typeof TOXICITY_CATEGORIES)[number];

const GROUPS =
  '(?:women|men|girls|boys|immigrants|foreigners|muslims|christians|jews|hindus|buddhists|atheists|' +
  'blacks|whites|asians|latinos|gays|lesbians|old people|young people|millennials|boomers|disabled people|' +
  'poor people|the french|the germans|the english|the irish|the italians|the poles|the chinese|the indians)';

const TRAITS =
  '(?:lazy|stupid|dumb|criminals?|thieves|dirty|inferior|worthless|useless|animals|parasites|' +
  "incompetent|bad at (?:math|driving|business)|not to be trusted|can(?:no|')t be trusted)";

const LEXICON: Readonly<Record<ToxicityCategory, readonly RegExp[]>> = {
  profanity: [
    /\b(?:fuck\w*|shit\w*|bullshit|damn(?:ed|it)?|crap(?:py)?|bastards?|bitch\w*|asshole\w*|piss(?:ed)? off)\b/i,
  ],
  insult: [
    /\b(?:idiots?|morons?|imbeciles?|stupid|dumbass\w*|clowns?|losers?|pathetic|incompetent fools?|useless (?:idiots?|people|staff)|brain-?dead)\b/i,
    /\byou(?:'re| are) (?:an? )?(?:idiot|moron|joke|disgrace|clown)\b/i,
  ],
  threat: [
    /\b(?:i(?:'ll| will)|we(?:'ll| will)|gonna) (?:kill|hurt|destroy|find|beat|burn down)\b/i,
    /\b(?:you(?:'ll| will) regret|watch your back|you(?:'re| are) dead|see you in court, scum)\b/i,
  ],
  identity_attack: [
    new RegExp(`\\b${GROUPS} (?:are|were) (?:all |always |just |so )?${TRAITS}`, 'i'),
    new RegExp(`\\b(?:never|don'?t) (?:hire|trust|serve) (?:any )?${GROUPS}\\b`, 'i'),
  ],
};

/** The categories each line of `text` hits, counted per line. */
export function toxicityHits(text: string, categories: readonly ToxicityCategory[]): Record<string, number> {
  const hits: Record<string, number> = {};
  for (const line of text.split('\n')) {
    for (const category of categories) {
      if (LEXICON[category].some((pattern) => pattern.test(line))) hits[category] = (hits[category] ?? 0) + 1;
    }
  }
  return hits;
}

export const ToxicityOptionsSchema = z.strictObject({
  categories: z
    .array(z.enum(TOXICITY_CATEGORIES))
    .min(1)
    .default([...TOXICITY_CATEGORIES]),
  /** `drop-document` drops a document with any hit; `drop-lines` removes the offending lines; `flag` keeps all. */
  action: z.enum(['drop-document', 'drop-lines', 'flag']).default('drop-document'),
});
export type ToxicityOptions = z.output<typeof ToxicityOptionsSchema>;

export const toxicityStep: StepDefinition<ToxicityOptions> = {
  name: 'toxicity',
  summary: 'lexicon-based bias and toxicity filter with a per-category report',
  kind: 'document',
  options: ToxicityOptionsSchema,
  optionHelp: {
    categories: `categories checked (default all: ${TOXICITY_CATEGORIES.join(', ')})`,
    action: 'drop-document (default), drop-lines, or flag (count only)',
  },
  create: (options): DocumentStep => ({
    name: 'toxicity',
    apply(doc) {
      const hits = toxicityHits(doc.text, options.categories);
      const categories = Object.keys(hits);
      if (categories.length === 0) return { keep: true, doc };
      const tally = Object.fromEntries(categories.map((c) => [`lines.${c}`, hits[c]!]));
      if (options.action === 'flag') return { keep: true, doc, tally };
      if (options.action === 'drop-document') return { keep: false, reason: categories.sort()[0]!, tally };
      const text = doc.text
        .split('\n')
        .filter((line) => Object.keys(toxicityHits(line, options.categories)).length === 0)
        .join('\n')
        .trim();
      if (text === '') return { keep: false, reason: 'empty', tally };
      return { keep: true, doc: { ...doc, text }, changed: true, tally };
    },
  }),
};

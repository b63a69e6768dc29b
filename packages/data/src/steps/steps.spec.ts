import type { CanonicalDocument } from '../document';
import { createDocumentSteps, resolveSteps, STEPS } from './registry';
import { normalizeText } from './normalize.step';
import { stripMarkup } from './strip-markup.step';
import { qualityProblem, QualityOptionsSchema } from './quality.step';
import { toxicityHits, TOXICITY_CATEGORIES } from './toxicity.step';

const doc = (text: string, fields: Record<string, unknown> = {}): CanonicalDocument => ({
  id: '1',
  source: 'a.jsonl#generic',
  text,
  fields,
  subjectIds: ['C1'],
  ingestedAt: '2026-01-01T00:00:00Z',
});

const run = (steps: string[], text: string, fields?: Record<string, unknown>) => {
  let current: CanonicalDocument = doc(text, fields);
  for (const step of createDocumentSteps(resolveSteps(steps))) {
    const outcome = step.apply(current);
    if (!outcome.keep) return { dropped: outcome.reason, tally: outcome.tally };
    current = outcome.doc;
  }
  return { doc: current };
};

describe('steps', () => {
  it('lists the stable step names', () => {
    expect(Object.keys(STEPS)).toEqual([
      'normalize',
      'strip-markup',
      'quality',
      'redact-pii',
      'toxicity',
      'exact-dedup',
      'near-dedup',
    ]);
  });

  it('normalises to NFC, collapses spacing and drops control characters', () => {
    expect(normalizeText('Cafe\u0301  is\t\u200bopen \r\n\r\n\r\n\r\n  today  ')).toBe(
      'Café is open\n\ntoday',
    );
  });

  it('strips HTML, entities and Markdown', () => {
    expect(
      stripMarkup('<p>Hi&nbsp;<b>there</b></p><script>x()</script>[docs](http://x) **bold** &#233;'),
    ).toBe(' Hi  there \n docs bold é');
    expect(run(['strip-markup'], '<div><br/></div>').dropped).toBe('empty');
  });

  it('names the quality rule a text breaks', () => {
    const defaults = QualityOptionsSchema.parse({});
    expect(qualityProblem('ok', defaults)).toBe('too_few_words');
    expect(qualityProblem('#### ### ## #### and the', defaults)).toBe('symbol_ratio');
    expect(qualityProblem('1234 5678 9012 3456 the', defaults)).toBe('non_alphabetic');
    expect(qualityProblem('Lorem ipsum dolor sit amet and the rest', defaults)).toBe('lorem_ipsum');
    expect(qualityProblem('buy cheap stuff now now now', defaults)).toBe('no_stop_words');
    const repeated = Array.from({ length: 4 }, () => 'the same long line repeated over and over').join('\n');
    expect(qualityProblem(repeated, defaults)).toBe('repeated_lines');
    expect(qualityProblem('The router we ordered arrived with a cracked casing.', defaults)).toBeUndefined();
  });

  it("redacts PII with governance's detectors in the text and string fields, keeping subject ids", () => {
    const result = run(['redact-pii'], 'Write to anna.berg@example.com or call +44 20 7946 0123.', {
      contact: 'anna.berg@example.com',
      customer: 'C1',
    });
    expect(result.doc?.text).toBe('Write to <EMAIL_ADDRESS> or call <PHONE_NUMBER>.');
    expect(result.doc?.fields).toEqual({ contact: '<EMAIL_ADDRESS>', customer: 'C1' });
  });

  it('counts toxicity per category and drops, trims or flags', () => {
    expect(
      toxicityHits('You are an idiot.\nI will find you.\nThanks for the help.', TOXICITY_CATEGORIES),
    ).toEqual({
      insult: 1,
      threat: 1,
    });
    expect(toxicityHits('Never hire immigrants, they are all lazy.', TOXICITY_CATEGORIES)).toEqual({
      identity_attack: 1,
    });
    expect(
      toxicityHits('The immigration paperwork arrived; the team was not lazy.', TOXICITY_CATEGORIES),
    ).toEqual({});
    expect(run(['toxicity'], 'Fine.\nThis is bullshit.').dropped).toBe('profanity');
    const lines = createDocumentSteps(
      resolveSteps([{ name: 'toxicity', options: { action: 'drop-lines' } }]),
    )[0]!;
    const outcome = lines.apply(doc('Fine.\nThis is bullshit.'));
    expect(outcome.keep && outcome.doc.text).toBe('Fine.');
  });

  it('rejects unknown steps, bad options, duplicates and document steps after dedup', () => {
    expect(() => resolveSteps(['nope'])).toThrow(/unknown step "nope"; the steps are normalize/);
    expect(() => resolveSteps([{ name: 'near-dedup', options: { bands: 0 } }])).toThrow(
      /near-dedup" option bands/,
    );
    expect(() => resolveSteps([{ name: 'quality', options: { minWord: 3 } }])).toThrow(/quality" option/);
    expect(() => resolveSteps(['normalize', 'normalize'])).toThrow(/listed twice/);
    expect(() => resolveSteps(['exact-dedup', 'normalize'])).toThrow(/must come before/);
  });
});

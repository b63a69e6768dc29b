import { z } from 'zod';
import type { DocumentStep, StepDefinition } from './step';

export const NormalizeOptionsSchema = z.strictObject({
  form: z.enum(['NFC', 'NFKC']).default('NFC'),
});
export type NormalizeOptions = z.output<typeof NormalizeOptionsSchema>;

// C0/C1 control characters except tab and newline; zero-width and bidi marks.
const CONTROL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060\ufeff]/g;

/** Unicode normalisation plus whitespace: spaces collapsed, lines trimmed, at most one blank line in a row. */
export function normalizeText(text: string, form: NormalizeOptions['form'] = 'NFC'): string {
  return text
    .normalize(form)
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL, '')
    .replace(/[\t\f\v \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export const normalizeStep: StepDefinition<NormalizeOptions> = {
  name: 'normalize',
  summary: 'Unicode normalisation (NFC) and whitespace clean-up; drops documents left empty',
  kind: 'document',
  options: NormalizeOptionsSchema,
  optionHelp: { form: 'Unicode normal form, NFC (default) or NFKC' },
  create: (options): DocumentStep => ({
    name: 'normalize',
    apply(doc) {
      const text = normalizeText(doc.text, options.form);
      if (text === '') return { keep: false, reason: 'empty' };
      return { keep: true, doc: text === doc.text ? doc : { ...doc, text }, changed: text !== doc.text };
    },
  }),
};

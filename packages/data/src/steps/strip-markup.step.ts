import { z } from 'zod';
import { normalizeText } from './normalize.step';
import type { DocumentStep, StepDefinition } from './step';

export const StripMarkupOptionsSchema = z.strictObject({
  markdown: z.boolean().default(true),
});
export type StripMarkupOptions = z.output<typeof StripMarkupOptionsSchema>;

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
  euro: '€',
  copy: '©',
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code =
        body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : whole;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/** Text without HTML (tags, comments, script and style blocks, entities) and, optionally, Markdown syntax. */
export function stripMarkup(text: string, markdown = true): string {
  let out = text
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h[1-6]|blockquote)\s*>/gi, '\n')
    .replace(/<\/?[a-z][a-z0-9-]*(\s[^<>]*)?\/?>/gi, ' ');
  out = decodeEntities(out);
  if (markdown) {
    out = out
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
      .replace(/^#{1,6}\s+/gm, '')
      .replace(/(\*\*|__)(\S(?:.*?\S)?)\1/g, '$2')
      .replace(/`{1,3}([^`]+)`{1,3}/g, '$1');
  }
  return out;
}

export const stripMarkupStep: StepDefinition<StripMarkupOptions> = {
  name: 'strip-markup',
  summary: 'removes HTML tags, comments, script/style blocks and entities, and Markdown syntax',
  kind: 'document',
  options: StripMarkupOptionsSchema,
  optionHelp: { markdown: 'also strip Markdown links, headings, bold and code marks (default true)' },
  create: (options): DocumentStep => ({
    name: 'strip-markup',
    apply(doc) {
      const stripped = stripMarkup(doc.text, options.markdown);
      if (stripped === doc.text) return { keep: true, doc, changed: false };
      const text = normalizeText(stripped);
      if (text === '') return { keep: false, reason: 'empty' };
      return { keep: true, doc: { ...doc, text }, changed: text !== doc.text };
    },
  }),
};

import { resolveOverlaps, type TypedSpan } from './overlap-resolution';

/** What replaced one span, as Presidio's anonymizer reports it: positions are in the anonymized text. */
export interface AnonymizedItem {
  entity_type: string;
  start: number;
  end: number;
  /** The replacement that now stands there, e.g. `<EMAIL_ADDRESS>`. */
  text: string;
  operator: 'replace';
}

export interface AnonymizeResult {
  text: string;
  /** One item per replaced span, in text order. */
  items: AnonymizedItem[];
}

export interface AnonymizeOptions {
  /** The replacement for an entity type; `<ENTITY_TYPE>` when absent. */
  placeholder?: (entityType: string) => string;
}

/** The typed placeholder for an entity type: `<EMAIL_ADDRESS>`. */
export function placeholderFor(entityType: string): string {
  return `<${entityType}>`;
}

/**
 * Replaces each finding's span with a typed placeholder (`<EMAIL_ADDRESS>`), as Presidio's `replace`
 * operator does. Overlapping findings are resolved first (higher score, then longer span), so any list of
 * findings gives one well-defined result. Spans outside the text are clamped to it.
 */
export function anonymize(
  text: string,
  findings: readonly TypedSpan[],
  options: AnonymizeOptions = {},
): AnonymizeResult {
  const placeholder = options.placeholder ?? placeholderFor;
  const clamped = findings.map((finding) => ({
    ...finding,
    start: Math.max(0, Math.min(text.length, finding.start)),
    end: Math.max(0, Math.min(text.length, finding.end)),
  }));
  const spans = resolveOverlaps(clamped);
  if (spans.length === 0) return { text, items: [] };
  const parts: string[] = [];
  const items: AnonymizedItem[] = [];
  let cursor = 0;
  let length = 0;
  for (const span of spans) {
    const kept = text.slice(cursor, span.start);
    parts.push(kept);
    length += kept.length;
    const replacement = placeholder(span.entity_type);
    items.push({
      entity_type: span.entity_type,
      start: length,
      end: length + replacement.length,
      text: replacement,
      operator: 'replace',
    });
    parts.push(replacement);
    length += replacement.length;
    cursor = span.end;
  }
  parts.push(text.slice(cursor));
  return { text: parts.join(''), items };
}

import { anonymize, PII_ENTITY_TYPES, PiiAnalyzer, type PiiEntityType } from '@strata/governance';
import { z } from 'zod';
import type { CanonicalDocument } from '../document';
import type { DocumentStep, StepDefinition } from './step';

export const RedactPiiOptionsSchema = z.strictObject({
  /** Entity types to redact; all that governance detects by default. */
  entities: z.array(z.enum(PII_ENTITY_TYPES)).min(1).optional(),
  scoreThreshold: z.number().min(0).max(1).optional(),
  /** Names for the PERSON recognizer (e.g. the CRM's contact names). */
  personNames: z.array(z.string().min(1)).optional(),
  /** Also redact string values of `fields` (not the subject ids). */
  fields: z.boolean().default(true),
});
export type RedactPiiOptions = z.output<typeof RedactPiiOptionsSchema>;

/**
 * PII redaction with governance's detector library, the one the API guardrails use: each finding is replaced
 * by a typed placeholder such as `<EMAIL_ADDRESS>`.
 */
export const redactPiiStep: StepDefinition<RedactPiiOptions> = {
  name: 'redact-pii',
  summary:
    "replaces PII with typed placeholders (<EMAIL_ADDRESS>, <PHONE_NUMBER>…) using governance's detectors",
  kind: 'document',
  options: RedactPiiOptionsSchema,
  optionHelp: {
    entities: `entity types to redact (default all: ${PII_ENTITY_TYPES.join(', ')})`,
    scoreThreshold: "minimum detector score (default governance's 0.5)",
    personNames: 'names the PERSON recognizer looks for (default none)',
    fields: 'also redact string fields besides the text (default true)',
  },
  create: (options): DocumentStep => {
    const analyzer = new PiiAnalyzer({
      ...(options.personNames ? { personNames: options.personNames } : {}),
      ...(options.scoreThreshold === undefined ? {} : { scoreThreshold: options.scoreThreshold }),
    });
    const entities: readonly PiiEntityType[] | undefined = options.entities;
    const redact = (text: string, tally: Record<string, number>): string => {
      const findings = analyzer.analyze(text, entities ? { entities } : {});
      if (findings.length === 0) return text;
      for (const finding of findings) tally[finding.entity_type] = (tally[finding.entity_type] ?? 0) + 1;
      return anonymize(text, findings).text;
    };
    return {
      name: 'redact-pii',
      apply(doc) {
        const tally: Record<string, number> = {};
        const text = redact(doc.text, tally);
        let fields = doc.fields;
        if (options.fields) {
          for (const [key, value] of Object.entries(doc.fields)) {
            if (typeof value !== 'string' || doc.subjectIds.includes(value)) continue;
            const redacted = redact(value, tally);
            if (redacted !== value) {
              if (fields === doc.fields) fields = { ...doc.fields };
              fields[key] = redacted;
            }
          }
        }
        const changed = text !== doc.text || fields !== doc.fields;
        const next: CanonicalDocument = changed ? { ...doc, text, fields } : doc;
        return { keep: true, doc: next, changed, tally };
      },
    };
  },
};

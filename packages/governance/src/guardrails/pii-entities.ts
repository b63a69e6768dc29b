import { z } from 'zod';

/**
 * The PII entity types Strata detects, named as Microsoft Presidio names them so that policies, audit
 * records and redacted datasets read the same as in the wider ecosystem. The order is the tie-break order
 * for overlapping findings and the order actions are reported in.
 */
export const PII_ENTITY_TYPES = [
  'CREDIT_CARD',
  'IBAN_CODE',
  'US_SSN',
  'EMAIL_ADDRESS',
  'IP_ADDRESS',
  'PHONE_NUMBER',
  'PERSON',
] as const;

/** A Presidio entity type that Strata detects. */
export type PiiEntityType = (typeof PII_ENTITY_TYPES)[number];

export const PiiEntityTypeSchema = z.enum(PII_ENTITY_TYPES);

/**
 * One detected entity: a half-open UTF-16 span `[start, end)` of the analysed text, as Presidio's
 * `RecognizerResult`. `score` is the recognizer's confidence in [0, 1]. `text` is present only when the
 * caller asked for it, so that findings can be logged without carrying the PII they point at.
 */
export interface PiiFinding {
  entity_type: PiiEntityType;
  start: number;
  end: number;
  score: number;
  text?: string;
}

/** A span with a score: what overlap resolution needs. */
export interface ScoredSpan {
  start: number;
  end: number;
  score: number;
}

/** The rank of an entity type in PII_ENTITY_TYPES, for deterministic tie-breaks. */
export function entityRank(entityType: PiiEntityType): number {
  return PII_ENTITY_TYPES.indexOf(entityType);
}

import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { blocklistPatternProblem } from './blocklist';
import { GuardrailError } from './guardrail-error';
import { DEFAULT_SCORE_THRESHOLD } from './pii-analyzer';
import { PII_ENTITY_TYPES, PiiEntityTypeSchema } from './pii-entities';
import { DEFAULT_INJECTION_THRESHOLD } from './prompt-injection';

/**
 * What a rule does when it fires: `mask` replaces what it found with a typed placeholder (for the length
 * rule: truncates to the limit), `block` stops the request (the caller answers 422 naming the rule), `log`
 * only reports the action for the audit record.
 */
export const GUARDRAIL_MODES = ['mask', 'block', 'log'] as const;
export type GuardrailMode = (typeof GUARDRAIL_MODES)[number];
export const GuardrailModeSchema = z.enum(GUARDRAIL_MODES);

/** Where a rule runs: on the prompt before the model (`input`) or on the generated text after it (`output`). */
export const GUARDRAIL_PHASES = ['input', 'output'] as const;
export type GuardrailPhase = (typeof GUARDRAIL_PHASES)[number];
export const GuardrailPhaseSchema = z.enum(GUARDRAIL_PHASES);

/** The rules, in the order they take precedence when more than one would block. */
export const GUARDRAIL_RULES = ['length', 'prompt_injection', 'blocklist', 'pii'] as const;
export type GuardrailRule = (typeof GUARDRAIL_RULES)[number];

const PhasesSchema = z
  .array(GuardrailPhaseSchema)
  .min(1)
  .refine((phases) => new Set(phases).size === phases.length, 'must not repeat a phase');

const BOTH_PHASES: GuardrailPhase[] = ['input', 'output'];

export const PiiRuleSchema = z.strictObject({
  entity_types: z.array(PiiEntityTypeSchema).min(1),
  mode: GuardrailModeSchema,
  phases: PhasesSchema.default(BOTH_PHASES),
});

export const PiiPolicySchema = z
  .strictObject({
    /** Which entity types to act on, how, and in which phases. An entity type may appear once per phase. */
    rules: z.array(PiiRuleSchema).max(2 * PII_ENTITY_TYPES.length),
    /** Names for the PERSON recognizer (CRM contacts, employees): matched case-insensitively, whole words. */
    person_names: z.array(z.string().trim().min(2).max(200)).max(100_000).default([]),
    /** Also find names with the shipped US Census name tables and context rules (on by default). */
    default_person_names: z.boolean().default(true),
    /** Regions whose national phone formats count (ISO 3166-1 alpha-2); a built-in list when absent. */
    phone_regions: z
      .array(
        z
          .string()
          .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in capitals')
          .refine((code) => isSupportedCountry(code), 'is not a region libphonenumber knows'),
      )
      .min(1)
      .max(250)
      .optional(),
    /** Findings scoring below this are ignored. */
    score_threshold: z.number().min(0).max(1).default(DEFAULT_SCORE_THRESHOLD),
  })
  .superRefine((pii, context) => {
    const seen = new Set<string>();
    pii.rules.forEach((rule, ruleIndex) => {
      for (const phase of rule.phases) {
        for (const entityType of rule.entity_types) {
          const key = `${phase}:${entityType}`;
          if (seen.has(key)) {
            context.addIssue({
              code: 'custom',
              path: ['rules', ruleIndex, 'entity_types'],
              message: `${entityType} already has a rule for the ${phase} phase`,
            });
          }
          seen.add(key);
        }
      }
    });
  });

export const BlocklistPolicySchema = z.strictObject({
  /** Words or phrases, matched case-insensitively on word boundaries. */
  terms: z.array(z.string().trim().min(1).max(200)).max(10_000).default([]),
  /**
   * Regular expressions (JavaScript, Unicode mode), wrapped in word boundaries and matched
   * case-insensitively. Policies are written by administrators: a pattern is code that runs on every
   * request, so keep patterns simple (no nested quantifiers).
   */
  patterns: z
    .array(
      z
        .string()
        .min(1)
        .max(500)
        .superRefine((pattern, context) => {
          const problem = blocklistPatternProblem(pattern);
          if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
        }),
    )
    .max(1_000)
    .default([]),
  mode: GuardrailModeSchema.default('block'),
  phases: PhasesSchema.default(BOTH_PHASES),
});

export const PromptInjectionPolicySchema = z.strictObject({
  /** `mask` replaces the matched phrases with `<PROMPT_INJECTION>`; `block` is the safer choice. */
  mode: GuardrailModeSchema.default('block'),
  /** Score (noisy-OR of the matched pattern weights) at or above which the rule fires. */
  threshold: z.number().gt(0).max(1).default(DEFAULT_INJECTION_THRESHOLD),
  phases: PhasesSchema.default(['input']),
});

export const LengthLimitSchema = z.strictObject({
  /** The most characters (Unicode code points) allowed. */
  max_chars: z.int().positive().max(10_000_000),
  /** `mask` truncates to `max_chars`; `block` rejects; `log` reports. */
  mode: GuardrailModeSchema.default('block'),
});

export const LengthPolicySchema = z.strictObject({
  input: LengthLimitSchema.optional(),
  output: LengthLimitSchema.optional(),
});

/**
 * A tenant's or an API key's guardrail policy: plain JSON, so it can be stored with the key, sent through
 * the admin API and recorded in the audit log. Every rule is optional; an empty policy does nothing.
 *
 * ```json
 * {
 *   "version": 1,
 *   "pii": {
 *     "rules": [
 *       { "entity_types": ["US_SSN", "CREDIT_CARD", "IBAN_CODE"], "mode": "block", "phases": ["input"] },
 *       { "entity_types": ["EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON"], "mode": "mask" }
 *     ],
 *     "person_names": ["Maria Schmidt", "José Álvarez"]
 *   },
 *   "blocklist": { "terms": ["Project Falcon"], "mode": "block" },
 *   "prompt_injection": { "mode": "block", "threshold": 0.5 },
 *   "length": { "input": { "max_chars": 8000 }, "output": { "max_chars": 4000, "mode": "mask" } }
 * }
 * ```
 */
export const GuardrailPolicySchema = z.strictObject({
  /** The schema version; a change that alters the meaning of a stored policy gets a new one. */
  version: z.literal(1).default(1),
  pii: PiiPolicySchema.optional(),
  blocklist: BlocklistPolicySchema.optional(),
  prompt_injection: PromptInjectionPolicySchema.optional(),
  length: LengthPolicySchema.optional(),
});

/** A validated policy, defaults filled in. */
export type GuardrailPolicy = z.infer<typeof GuardrailPolicySchema>;
/** A policy as written: the defaults may be left out. */
export type GuardrailPolicyInput = z.input<typeof GuardrailPolicySchema>;

/**
 * Validates a policy (from JSON, the admin API or config) and fills in the defaults. Throws a
 * GuardrailError (`validation_failed`) whose `field` is the dotted path of the first bad value.
 */
export function parseGuardrailPolicy(input: unknown): GuardrailPolicy {
  const result = GuardrailPolicySchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue === undefined ? undefined : issue.path.map(String).join('.');
  const where = field === undefined || field === '' ? 'guardrail policy' : `guardrail policy field ${field}`;
  throw new GuardrailError('validation_failed', `${where}: ${issue?.message ?? 'is invalid'}`, {
    ...(field === undefined || field === '' ? {} : { field }),
  });
}

import { z } from 'zod';
import { DataError } from '../data-error';
import { DEFAULT_MINHASH } from '../dedup/minhash';
import { normalizeStep } from './normalize.step';
import { qualityStep } from './quality.step';
import { redactPiiStep } from './redact-pii.step';
import type { DocumentStep, StepDefinition } from './step';
import { stripMarkupStep } from './strip-markup.step';
import { toxicityStep } from './toxicity.step';

export const ExactDedupOptionsSchema = z.strictObject({
  /** `normalized` hashes lower-cased text with punctuation and spacing removed; `text` hashes it as it is. */
  on: z.enum(['normalized', 'text']).default('normalized'),
});
export type ExactDedupOptions = z.output<typeof ExactDedupOptionsSchema>;

export const NearDedupOptionsSchema = z.strictObject({
  shingleSize: z.int().min(1).max(64).default(DEFAULT_MINHASH.shingleSize),
  bands: z.int().min(1).max(256).default(DEFAULT_MINHASH.bands),
  rows: z.int().min(1).max(64).default(DEFAULT_MINHASH.rows),
  seed: z.int().nonnegative().default(DEFAULT_MINHASH.seed),
  /** Candidates at or above this Jaccard similarity are duplicates (NeMo Curator: 0.8). */
  threshold: z.number().min(0).max(1).default(0.8),
  /** `exact` computes the Jaccard of the two shingle sets; `estimate` uses the signatures' agreement. */
  verify: z.enum(['exact', 'estimate']).default('exact'),
});
export type NearDedupOptions = z.output<typeof NearDedupOptionsSchema>;

const exactDedupStep: StepDefinition<ExactDedupOptions> = {
  name: 'exact-dedup',
  summary: 'drops documents whose normalised text hashes (SHA-256) like an earlier one; the first is kept',
  kind: 'dedup',
  options: ExactDedupOptionsSchema,
  optionHelp: { on: 'normalized (default: case, punctuation and spacing ignored) or text (as is)' },
};

const nearDedupStep: StepDefinition<NearDedupOptions> = {
  name: 'near-dedup',
  summary:
    'MinHash LSH near-duplicate removal: candidates verified by Jaccard, one document kept per cluster (the earliest)',
  kind: 'dedup',
  options: NearDedupOptionsSchema,
  optionHelp: {
    shingleSize: `words per shingle (default ${DEFAULT_MINHASH.shingleSize})`,
    bands: `LSH bands (default ${DEFAULT_MINHASH.bands}, datatrove's)`,
    rows: `hashes per band (default ${DEFAULT_MINHASH.rows}); bands × rows permutations in all`,
    seed: 'hash family seed (default 1)',
    threshold: 'Jaccard similarity that makes a duplicate (default 0.8, NeMo Curator’s)',
    verify: 'exact (default: Jaccard of the shingle sets) or estimate (from the signatures)',
  },
};

/** Every step, by its stable name. */
export const STEPS: Readonly<Record<string, StepDefinition<never>>> = Object.fromEntries(
  [
    normalizeStep,
    stripMarkupStep,
    qualityStep,
    redactPiiStep,
    toxicityStep,
    exactDedupStep,
    nearDedupStep,
  ].map((s) => [s.name, s as unknown as StepDefinition<never>]),
);

/** A step as configured: name plus options (defaults filled in). */
export interface StepConfig {
  name: string;
  options: Record<string, unknown>;
}

/** The pipeline's steps, validated: known names, valid options, no duplicates, dedups after document steps. */
export function resolveSteps(steps: readonly (string | { name: string; options?: unknown })[]): StepConfig[] {
  const resolved: StepConfig[] = [];
  let sawDedup = false;
  for (const entry of steps) {
    const name = typeof entry === 'string' ? entry : entry.name;
    const definition = Object.hasOwn(STEPS, name) ? STEPS[name] : undefined;
    if (!definition) {
      throw new DataError(
        'validation_failed',
        `unknown step "${name}"; the steps are ${Object.keys(STEPS).join(', ')}`,
      );
    }
    if (resolved.some((s) => s.name === name)) {
      throw new DataError('validation_failed', `step "${name}" is listed twice`);
    }
    if (definition.kind === 'document' && sawDedup) {
      throw new DataError('validation_failed', `step "${name}" must come before exact-dedup and near-dedup`);
    }
    sawDedup ||= definition.kind === 'dedup';
    const parsed = (definition.options as z.ZodType).safeParse(
      typeof entry === 'string' ? {} : (entry.options ?? {}),
    );
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DataError(
        'validation_failed',
        `step "${name}" option ${[...issue.path].join('.') || '(options)'}: ${issue.message}`,
      );
    }
    resolved.push({ name, options: parsed.data as Record<string, unknown> });
  }
  return resolved;
}

/** The document steps of a pipeline, built. */
export function createDocumentSteps(steps: readonly StepConfig[]): DocumentStep[] {
  return steps.flatMap((config) => {
    const definition = STEPS[config.name]!;
    return definition.create ? [(definition.create as (o: unknown) => DocumentStep)(config.options)] : [];
  });
}

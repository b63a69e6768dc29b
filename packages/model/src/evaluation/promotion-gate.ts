import { z } from 'zod';

/**
 * One rule of a promotion gate, compared with the current holder of the alias (the champion):
 * - `minImprovement`: the candidate must be better by at least this fraction (0.02 = 2%);
 * - `maxRegression`: the candidate may be worse by at most this fraction (0 = no worse).
 */
export const PromotionRuleSchema = z
  .strictObject({
    metric: z.string().min(1).max(200),
    better: z.enum(['lower', 'higher']),
    minImprovement: z.number().min(0).max(1).optional(),
    maxRegression: z.number().min(0).optional(),
  })
  .refine((rule) => (rule.minImprovement === undefined) !== (rule.maxRegression === undefined), {
    error: 'a rule sets exactly one of minImprovement or maxRegression',
  });
export type PromotionRule = z.infer<typeof PromotionRuleSchema>;

/** A declarative promotion gate: which alias the candidate must beat, and how. */
export const PromotionGateSchema = z.strictObject({
  /** The alias the candidate is compared with and, when it passes, takes. */
  alias: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,99}$/)
    .default('champion'),
  rules: z.array(PromotionRuleSchema).min(1),
});
export type PromotionGate = z.infer<typeof PromotionGateSchema>;

/** The default gate: held-out perplexity at least 2% better than the champion's, and a guardrail flag rate no worse. */
export const DEFAULT_PROMOTION_GATE: PromotionGate = {
  alias: 'champion',
  rules: [
    { metric: 'heldout_perplexity', better: 'lower', minImprovement: 0.02 },
    { metric: 'guardrail_flag_rate', better: 'lower', maxRegression: 0 },
  ],
};

export interface GateVerdict {
  passed: boolean;
  /** One line per rule: what was compared and how it came out. */
  reasons: string[];
  /** The first rule's comparison, as `model.version.promoted` carries it. */
  basis: { metric: string; better: 'lower' | 'higher'; candidate: number; champion: number | null };
}

/** Tolerance for float noise when a rule says "no worse". */
const EPSILON = 1e-12;

/**
 * Applies `gate` to a candidate's metrics against the champion's (null when the alias is not held yet: the first
 * candidate passes, since there is nothing to regress from). A metric missing on the candidate fails its rule.
 */
export function applyPromotionGate(
  gate: PromotionGate,
  candidate: Readonly<Record<string, number>>,
  champion: Readonly<Record<string, number>> | null,
): GateVerdict {
  const reasons: string[] = [];
  let passed = true;
  for (const rule of gate.rules) {
    const value = candidate[rule.metric];
    if (value === undefined || !Number.isFinite(value)) {
      passed = false;
      reasons.push(`${rule.metric}: the candidate has no value for it`);
      continue;
    }
    const base = champion?.[rule.metric];
    if (champion === null) {
      reasons.push(`${rule.metric}: ${fmt(value)} (no @${gate.alias} to compare with)`);
      continue;
    }
    if (base === undefined || !Number.isFinite(base)) {
      reasons.push(`${rule.metric}: ${fmt(value)} (the @${gate.alias} version has no value to compare with)`);
      continue;
    }
    // Improvement as a fraction of the champion's value, positive when the candidate is better.
    const scale = Math.max(Math.abs(base), EPSILON);
    const improvement = (rule.better === 'lower' ? base - value : value - base) / scale;
    const ok =
      rule.minImprovement !== undefined
        ? improvement + EPSILON >= rule.minImprovement
        : -improvement <= (rule.maxRegression ?? 0) + EPSILON;
    if (!ok) passed = false;
    const want =
      rule.minImprovement !== undefined
        ? `needs ${pct(rule.minImprovement)} better`
        : rule.maxRegression === 0
          ? 'must be no worse'
          : `may be at most ${pct(rule.maxRegression ?? 0)} worse`;
    reasons.push(
      `${rule.metric}: ${fmt(value)} vs ${fmt(base)} (${rule.better} is better; ${improvement >= 0 ? pct(improvement) + ' better' : pct(-improvement) + ' worse'}; ${want}) → ${ok ? 'pass' : 'FAIL'}`,
    );
  }
  const first = gate.rules[0]!;
  return {
    passed,
    reasons,
    basis: {
      metric: first.metric,
      better: first.better,
      candidate: candidate[first.metric] ?? Number.NaN,
      champion: champion?.[first.metric] ?? null,
    },
  };
}

const fmt = (n: number) => (Math.abs(n) >= 1000 || n === 0 ? n.toFixed(0) : n.toPrecision(4));
const pct = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

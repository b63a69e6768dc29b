import { comparisonTable } from './comparison-table';
import { applyPromotionGate, DEFAULT_PROMOTION_GATE, PromotionGateSchema } from './promotion-gate';

describe('applyPromotionGate', () => {
  const champion = { heldout_perplexity: 20, guardrail_flag_rate: 0.25 };

  it('passes a candidate 2% better on perplexity with a flag rate no worse', () => {
    const verdict = applyPromotionGate(
      DEFAULT_PROMOTION_GATE,
      { heldout_perplexity: 19.6, guardrail_flag_rate: 0.25 },
      champion,
    );
    expect(verdict.passed).toBe(true);
    expect(verdict.basis).toEqual({
      metric: 'heldout_perplexity',
      better: 'lower',
      candidate: 19.6,
      champion: 20,
    });
  });

  it('fails a candidate only 1% better, and says why', () => {
    const verdict = applyPromotionGate(
      DEFAULT_PROMOTION_GATE,
      { heldout_perplexity: 19.8, guardrail_flag_rate: 0 },
      champion,
    );
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons[0]).toMatch(
      /heldout_perplexity: 19\.80 vs 20\.00 .*1\.0% better; needs 2\.0% better\) → FAIL/,
    );
    expect(verdict.reasons[1]).toMatch(/→ pass$/);
  });

  it('fails a candidate whose flag rate got worse, however good its perplexity', () => {
    const verdict = applyPromotionGate(
      DEFAULT_PROMOTION_GATE,
      { heldout_perplexity: 10, guardrail_flag_rate: 0.5 },
      champion,
    );
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons[1]).toMatch(/guardrail_flag_rate.*must be no worse\) → FAIL/);
  });

  it('passes the first candidate when no champion exists, and fails one missing a metric', () => {
    expect(
      applyPromotionGate(DEFAULT_PROMOTION_GATE, { heldout_perplexity: 30, guardrail_flag_rate: 1 }, null)
        .passed,
    ).toBe(true);
    const missing = applyPromotionGate(DEFAULT_PROMOTION_GATE, { guardrail_flag_rate: 0 }, champion);
    expect(missing.passed).toBe(false);
    expect(missing.reasons[0]).toBe('heldout_perplexity: the candidate has no value for it');
  });

  it('handles higher-is-better metrics', () => {
    const gate = PromotionGateSchema.parse({
      rules: [{ metric: 'tokens_per_second', better: 'higher', maxRegression: 0.1 }],
    });
    expect(gate.alias).toBe('champion');
    expect(applyPromotionGate(gate, { tokens_per_second: 91 }, { tokens_per_second: 100 }).passed).toBe(true);
    expect(applyPromotionGate(gate, { tokens_per_second: 89 }, { tokens_per_second: 100 }).passed).toBe(
      false,
    );
  });

  it('rejects a rule that sets neither or both thresholds', () => {
    expect(PromotionGateSchema.safeParse({ rules: [{ metric: 'x', better: 'lower' }] }).success).toBe(false);
    expect(
      PromotionGateSchema.safeParse({
        rules: [{ metric: 'x', better: 'lower', minImprovement: 0.1, maxRegression: 0 }],
      }).success,
    ).toBe(false);
  });
});

describe('comparisonTable', () => {
  it('shows both values, the change and which is better', () => {
    const table = comparisonTable(
      { label: 'v2', metrics: { heldout_perplexity: 18, tokens_per_second: 90, custom: 1 } },
      { label: 'v1 @champion', metrics: { heldout_perplexity: 20, tokens_per_second: 100 } },
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^metric\s+v1 @champion\s+v2\s+change\s+candidate is$/);
    expect(lines.find((l) => l.startsWith('heldout_perplexity'))).toMatch(/20\s+18\s+-10\.0%\s+better$/);
    expect(lines.find((l) => l.startsWith('tokens_per_second'))).toMatch(/100\s+90\s+-10\.0%\s+worse$/);
    expect(lines.find((l) => l.startsWith('custom'))).toMatch(/—\s+1$/);
  });
});

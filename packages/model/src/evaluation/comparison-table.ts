/** Which direction is better for the metrics the harness reports; others are shown without a verdict. */
export const METRIC_DIRECTIONS: Readonly<Record<string, 'lower' | 'higher'>> = {
  heldout_loss: 'lower',
  heldout_perplexity: 'lower',
  reference_loss: 'lower',
  reference_perplexity: 'lower',
  latency_ms_mean: 'lower',
  latency_ms_p95: 'lower',
  tokens_per_second: 'higher',
  guardrail_flag_rate: 'lower',
};

/**
 * A plain-text table comparing two versions metric by metric: both values, the relative change, and whether
 * the candidate is better, worse or equal where the direction is known.
 */
export function comparisonTable(
  candidate: { label: string; metrics: Readonly<Record<string, number>> },
  baseline: { label: string; metrics: Readonly<Record<string, number>> } | null,
): string {
  const keys = [
    ...new Set([...Object.keys(candidate.metrics), ...Object.keys(baseline?.metrics ?? {})]),
  ].sort();
  const rows = keys.map((key) => {
    const c = candidate.metrics[key];
    const b = baseline?.metrics[key];
    let change = '';
    let verdict = '';
    if (c !== undefined && b !== undefined) {
      change = b === 0 ? (c === 0 ? '0.0%' : 'n/a') : `${(((c - b) / Math.abs(b)) * 100).toFixed(1)}%`;
      const direction = METRIC_DIRECTIONS[key];
      if (direction) {
        verdict = c === b ? 'same' : c < b === (direction === 'lower') ? 'better' : 'worse';
      }
    }
    return [key, b === undefined ? '—' : num(b), c === undefined ? '—' : num(c), change, verdict];
  });
  const header = ['metric', baseline?.label ?? 'baseline', candidate.label, 'change', 'candidate is'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(4));

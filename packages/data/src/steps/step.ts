import type { z } from 'zod';
import type { CanonicalDocument } from '../document';

/** What a document step did to one document. */
export type StepOutcome =
  | { keep: true; doc: CanonicalDocument; changed?: boolean; tally?: Readonly<Record<string, number>> }
  | { keep: false; reason: string; tally?: Readonly<Record<string, number>> };

/** A step that looks at one document at a time (every step but the two dedups). */
export interface DocumentStep {
  readonly name: string;
  apply(doc: CanonicalDocument): StepOutcome;
}

/** A step's counts: documents in and out, drops by reason, changed documents, and step-specific tallies. */
export interface StepReport {
  step: string;
  in: number;
  out: number;
  changed: number;
  dropped: Record<string, number>;
  /** For example PII entities redacted by type, or toxic lines by category. */
  tally: Record<string, number>;
}

export function emptyReport(step: string): StepReport {
  return { step, in: 0, out: 0, changed: 0, dropped: {}, tally: {} };
}

/** Adds `b`'s counts into `a`. */
export function mergeReport(a: StepReport, b: StepReport): StepReport {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    for (const [k, v] of Object.entries(y)) x[k] = (x[k] ?? 0) + v;
  };
  a.in += b.in;
  a.out += b.out;
  a.changed += b.changed;
  add(a.dropped, b.dropped);
  add(a.tally, b.tally);
  return a;
}

/** Sorts a report's maps by key so that equal reports serialise to equal bytes. */
export function sortedReport(report: StepReport): StepReport {
  const sort = (x: Record<string, number>) =>
    Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { ...report, dropped: sort(report.dropped), tally: sort(report.tally) };
}

/** A registered step: its stable name, what it does, its options' schema and defaults, and its factory. */
export interface StepDefinition<O = unknown> {
  name: string;
  summary: string;
  kind: 'document' | 'dedup';
  options: z.ZodType<O>;
  /** Each option's meaning and default, for `strata data steps`. */
  optionHelp: Readonly<Record<string, string>>;
  create?: (options: O) => DocumentStep;
}

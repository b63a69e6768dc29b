import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { GuardrailError } from './guardrail-error';
import { PiiAnalyzer } from './pii-analyzer';
import { PII_ENTITY_TYPES, PiiEntityTypeSchema, type PiiEntityType } from './pii-entities';

/** The labelled set shipped with the package: one JSON sample per line. */
export const DEFAULT_LABELLED_SET = resolve(__dirname, '../../testdata/pii-labelled.jsonl');
/** The person-name list the labelled set is evaluated with (one name per line), as a tenant would configure. */
export const DEFAULT_PERSON_NAMES = resolve(__dirname, '../../testdata/pii-person-names.txt');

/** One labelled line: a text and every PII span in it, with half-open UTF-16 offsets. */
export const LabelledSampleSchema = z
  .strictObject({
    text: z.string(),
    entities: z.array(
      z.strictObject({ type: PiiEntityTypeSchema, start: z.int().nonnegative(), end: z.int().positive() }),
    ),
  })
  .superRefine((sample, context) => {
    sample.entities.forEach((entity, index) => {
      if (entity.end <= entity.start || entity.end > sample.text.length) {
        context.addIssue({
          code: 'custom',
          path: ['entities', index],
          message: 'span is empty or outside the text',
        });
      }
    });
  });
export type LabelledSample = z.infer<typeof LabelledSampleSchema>;

/** Reads a JSONL labelled set, failing on the first bad line with its number. */
export function loadLabelledSet(path: string = DEFAULT_LABELLED_SET): LabelledSample[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const samples: LabelledSample[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new GuardrailError('validation_failed', `${path} line ${index + 1}: not valid JSON`);
    }
    const result = LabelledSampleSchema.safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new GuardrailError(
        'validation_failed',
        `${path} line ${index + 1}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`,
      );
    }
    samples.push(result.data);
  });
  return samples;
}

/** Reads a name list: one name per line; blank lines and lines starting with `#` are skipped. */
export function loadPersonNames(path: string = DEFAULT_PERSON_NAMES): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** True positives, false positives and false negatives, and the rates they give. */
export interface MatchCounts {
  tp: number;
  fp: number;
  fn: number;
  /** tp / (tp + fp); 1 when nothing was predicted. */
  precision: number;
  /** tp / (tp + fn); 1 when nothing was labelled. */
  recall: number;
  f1: number;
}

export interface EntityMetrics {
  entity_type: PiiEntityType;
  /** Labelled spans of this type. */
  support: number;
  /** A prediction counts only with the same type, start and end as a label. */
  exact: MatchCounts;
  /** A prediction counts when it overlaps a label of the same type (each label matched at most once). */
  partial: MatchCounts;
}

export interface PiiEvaluation {
  samples: number;
  entities: EntityMetrics[];
  /** Micro-averaged over every entity type. */
  overall: { support: number; exact: MatchCounts; partial: MatchCounts };
}

interface Span {
  start: number;
  end: number;
}

function counts(tp: number, fp: number, fn: number): MatchCounts {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}

function matchSpans(predicted: readonly Span[], gold: readonly Span[], exact: boolean): number {
  const used = new Set<number>();
  let matched = 0;
  for (const prediction of predicted) {
    const index = gold.findIndex(
      (label, labelIndex) =>
        !used.has(labelIndex) &&
        (exact
          ? label.start === prediction.start && label.end === prediction.end
          : label.start < prediction.end && prediction.start < label.end),
    );
    if (index !== -1) {
      used.add(index);
      matched++;
    }
  }
  return matched;
}

/**
 * Scores a detector against labelled samples, per entity type: precision, recall and F1 for exact span
 * matches and for partial overlaps. `analyze` is any detector; the default is a PiiAnalyzer configured with
 * `personNames`.
 */
export function evaluatePii(
  samples: readonly LabelledSample[],
  analyze: (text: string) => ReadonlyArray<{ entity_type: PiiEntityType; start: number; end: number }>,
): PiiEvaluation {
  const tallies = new Map<PiiEntityType, { support: number; exact: number[]; partial: number[] }>();
  for (const type of PII_ENTITY_TYPES)
    tallies.set(type, { support: 0, exact: [0, 0, 0], partial: [0, 0, 0] });
  for (const sample of samples) {
    const findings = analyze(sample.text);
    for (const type of PII_ENTITY_TYPES) {
      const tally = tallies.get(type);
      if (tally === undefined) continue;
      const gold = sample.entities.filter((entity) => entity.type === type);
      const predicted = findings.filter((finding) => finding.entity_type === type);
      tally.support += gold.length;
      for (const [key, exact] of [['exact', true] as const, ['partial', false] as const]) {
        const tp = matchSpans(predicted, gold, exact);
        const row = tally[key];
        row[0] = (row[0] ?? 0) + tp;
        row[1] = (row[1] ?? 0) + predicted.length - tp;
        row[2] = (row[2] ?? 0) + gold.length - tp;
      }
    }
  }
  const entities: EntityMetrics[] = [];
  const total = { support: 0, exact: [0, 0, 0], partial: [0, 0, 0] };
  for (const [entity_type, tally] of tallies) {
    const [etp = 0, efp = 0, efn = 0] = tally.exact;
    const [ptp = 0, pfp = 0, pfn = 0] = tally.partial;
    entities.push({
      entity_type,
      support: tally.support,
      exact: counts(etp, efp, efn),
      partial: counts(ptp, pfp, pfn),
    });
    total.support += tally.support;
    for (const [key, values] of [['exact', tally.exact] as const, ['partial', tally.partial] as const]) {
      values.forEach((value, index) => (total[key][index] = (total[key][index] ?? 0) + value));
    }
  }
  const [etp = 0, efp = 0, efn = 0] = total.exact;
  const [ptp = 0, pfp = 0, pfn = 0] = total.partial;
  return {
    samples: samples.length,
    entities,
    overall: { support: total.support, exact: counts(etp, efp, efn), partial: counts(ptp, pfp, pfn) },
  };
}

/** Evaluates the default PiiAnalyzer on the shipped labelled set with the shipped name list. */
export function evaluateDefaultAnalyzer(
  options: { dataPath?: string; namesPath?: string } = {},
): PiiEvaluation {
  const analyzer = new PiiAnalyzer({
    personNames: loadPersonNames(options.namesPath ?? DEFAULT_PERSON_NAMES),
  });
  const samples = loadLabelledSet(options.dataPath ?? DEFAULT_LABELLED_SET);
  return evaluatePii(samples, (text) => analyzer.analyze(text));
}

const fixed = (value: number): string => value.toFixed(3);

/** A plain-text table of an evaluation: one row per entity type, then the micro average. */
export function formatEvaluationTable(evaluation: PiiEvaluation): string {
  const header = [
    'entity_type',
    'support',
    'P exact',
    'R exact',
    'F1 exact',
    'P partial',
    'R partial',
    'F1 partial',
    'tp/fp/fn exact',
  ];
  const rows = [
    ...evaluation.entities.map((entity) => ({ name: entity.entity_type, ...entity })),
    { name: 'ALL (micro)', ...evaluation.overall },
  ].map((row) => [
    row.name,
    String(row.support),
    fixed(row.exact.precision),
    fixed(row.exact.recall),
    fixed(row.exact.f1),
    fixed(row.partial.precision),
    fixed(row.partial.recall),
    fixed(row.partial.f1),
    `${row.exact.tp}/${row.exact.fp}/${row.exact.fn}`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [`${evaluation.samples} samples`, line(header), rule, ...rows.map(line)].join('\n');
}

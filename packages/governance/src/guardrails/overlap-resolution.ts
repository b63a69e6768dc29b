import { entityRank, type PiiEntityType, type ScoredSpan } from './pii-entities';

/** A scored span with a type: a PII finding, or a blocklist or injection match on its way to a mask. */
export interface TypedSpan extends ScoredSpan {
  entity_type: string;
}

function typeRank(entityType: string): number {
  const rank = entityRank(entityType as PiiEntityType);
  return rank === -1 ? Number.MAX_SAFE_INTEGER : rank;
}

/**
 * Which of two overlapping spans wins: the higher score, then the longer span, then the earlier start,
 * then the entity type listed first in PII_ENTITY_TYPES (other types after it, by name). Total, so the
 * result never depends on the order the recognizers ran in.
 */
export function compareForResolution(a: TypedSpan, b: TypedSpan): number {
  if (a.score !== b.score) return b.score - a.score;
  const lengthA = a.end - a.start;
  const lengthB = b.end - b.start;
  if (lengthA !== lengthB) return lengthB - lengthA;
  if (a.start !== b.start) return a.start - b.start;
  const rankA = typeRank(a.entity_type);
  const rankB = typeRank(b.entity_type);
  if (rankA !== rankB) return rankA - rankB;
  return a.entity_type < b.entity_type ? -1 : a.entity_type > b.entity_type ? 1 : 0;
}

/**
 * Drops every span that overlaps a stronger one (see compareForResolution) and returns the survivors in
 * text order. Spans that merely touch (`a.end === b.start`) do not overlap. Empty spans are dropped.
 */
export function resolveOverlaps<T extends TypedSpan>(spans: readonly T[]): T[] {
  const candidates = spans.filter((span) => span.end > span.start);
  if (candidates.length <= 1) return candidates;
  const ranked = [...candidates].sort(compareForResolution);
  const kept: T[] = [];
  for (const span of ranked) {
    if (kept.every((other) => span.end <= other.start || span.start >= other.end)) kept.push(span);
  }
  return kept.sort((a, b) => a.start - b.start || a.end - b.end);
}

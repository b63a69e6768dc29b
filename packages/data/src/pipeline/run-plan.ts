import type { MappingProfile } from '../profiles';
import type { StepConfig } from '../steps/registry';

/** A run's fixed inputs, written once at its start so that every stage and every rerun works from the same. */
export interface RunPlan {
  runId: string;
  requestId: string;
  dataset: string;
  input: string;
  profile: MappingProfile;
  steps: StepConfig[];
  strict: boolean;
  requestedAt: string;
  requestedBy: string;
  /** The dataset's head when the run started: the new version's parent. */
  parent: { versionId: string; sequence: number } | null;
  files: { name: string; size: number; format: string | undefined }[];
}

/** Object keys of a run's intermediate files. */
export const runKeys = {
  plan: (runId: string) => `runs/${runId}/plan.json`,
  extractDocs: (runId: string, shard: number) => `runs/${runId}/extract/${pad(shard)}.docs.jsonl`,
  extractSigs: (runId: string, shard: number) => `runs/${runId}/extract/${pad(shard)}.sigs.bin`,
  /** Written last by an extract task: its presence means the shard is done. */
  extractReport: (runId: string, shard: number) => `runs/${runId}/extract/${pad(shard)}.report.json`,
  bandPairs: (runId: string, band: number) => `runs/${runId}/buckets/${pad(band)}.pairs.bin`,
  clusters: (runId: string) => `runs/${runId}/clusters.json`,
  filterReport: (runId: string, shard: number) => `runs/${runId}/filter/${pad(shard)}.json`,
};

function pad(n: number): string {
  return String(n).padStart(5, '0');
}

/** Ordinals order documents across shards: shard index, then position within the shard. */
export function ordinal(shard: number, index: number): number {
  return shard * 0x100000000 + index;
}

export function shardOf(ordinalValue: number): number {
  return Math.floor(ordinalValue / 0x100000000);
}

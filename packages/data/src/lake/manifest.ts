import { z } from 'zod';
import type { StepReport } from '../steps/step';

/** A source file the version was built from, with its checksum. */
export interface ManifestSource {
  name: string;
  format: string;
  bytes: number;
  sha256: string;
}

/** A data file of the version: gzip-compressed JSON Lines of canonical documents. */
export interface ManifestFile {
  key: string;
  sha256: string;
  bytes: number;
  rows: number;
}

/** Read errors by code, with the first few in full. */
export interface ReadReport {
  records: number;
  errors: Record<string, number>;
  examples: { code: string; file: string; row?: number; message: string }[];
}

/**
 * A dataset version's manifest: everything needed to trust, reproduce and audit it. It holds no run ids,
 * host names or clock readings other than the request's time, so the same input and config give the same
 * bytes (and so the same version id) however many workers built it.
 */
export interface DatasetManifest {
  schema: 'strata.dataset.manifest/1';
  dataset: string;
  /** 1 for a dataset's first version, then the parent's plus one. */
  sequence: number;
  parents: string[];
  createdAt: string;
  requestId: string;
  input: string;
  profile: string;
  pipeline: { steps: { name: string; options: Record<string, unknown> }[] };
  sources: ManifestSource[];
  format: 'jsonl.gz';
  recordSchema: { name: string; type: string }[];
  files: ManifestFile[];
  rows: number;
  bytes: number;
  reports: { read: ReadReport; steps: StepReport[] };
  /** Set on versions written by erasure: the subject (as a SHA-256) and the rows removed. */
  erasure?: { subjectSha256: string; rowsRemoved: number; erasedFrom: string };
}

export const RECORD_SCHEMA = [
  { name: 'id', type: 'string' },
  { name: 'source', type: 'string' },
  { name: 'text', type: 'string' },
  { name: 'fields', type: 'object' },
  { name: 'subjectIds', type: 'string[]' },
  { name: 'ingestedAt', type: 'timestamp' },
];

/** Version ids: `v` and the first 20 hex digits of the manifest's SHA-256. */
export const VersionIdSchema = z
  .string()
  .regex(/^v[0-9a-f]{20}$/, { error: 'must be "v" and 20 hex digits' });

/** Serialises a value with object keys sorted, so equal manifests give equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

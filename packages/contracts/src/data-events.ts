import { z } from 'zod';
import { LineageDatasetSchema, NameSchema, Sha256Schema } from './event-fields';

/** Payloads of the data layer's topics. Each schema is frozen once published: change means a new version. */

/** `data.ingest.requested` v1: an export landed and should run through the ingestion pipeline. */
export const IngestRequestedV1Schema = z.strictObject({
  ingestId: z.uuid(),
  /** The dataset the records feed, e.g. `support-tickets`. */
  dataset: NameSchema,
  /** The kind of system the export comes from. */
  connector: z.enum(['crm', 'erp', 'analytics', 'file']),
  /** Where the export is: an object-store key or a URL the connector understands. */
  sourceUri: z.string().min(1).max(2000),
  format: z.enum(['csv', 'jsonl', 'json']),
  /** The principal (API key id, user or service) that asked for the ingest. */
  requestedBy: z.string().min(1).max(200),
  options: z
    .strictObject({
      redactPii: z.boolean(),
      dedup: z.enum(['none', 'exact', 'near']),
    })
    .optional(),
});
export type IngestRequestedV1 = z.infer<typeof IngestRequestedV1Schema>;

/** `data.dataset.published` v1: a dataset version is in the lake, with its manifest and OpenLineage run. */
export const DatasetPublishedV1Schema = z.strictObject({
  dataset: LineageDatasetSchema,
  /** Monotonic per dataset, starting at 1. */
  version: z.int().positive(),
  /** Object-store key of the version's manifest, and its SHA-256 so a reader detects tampering. */
  manifestKey: z.string().min(1).max(1000),
  manifestSha256: Sha256Schema,
  recordCount: z.int().nonnegative(),
  sizeBytes: z.int().nonnegative(),
  /** The ingest that produced it, when there was one. */
  ingestId: z.uuid().optional(),
  /** OpenLineage vocabulary: the run that produced this version, its job, and the datasets it read. */
  lineage: z.strictObject({
    runId: z.uuid(),
    job: z.strictObject({ namespace: z.string().min(1), name: z.string().min(1) }),
    inputs: z.array(LineageDatasetSchema),
  }),
});
export type DatasetPublishedV1 = z.infer<typeof DatasetPublishedV1Schema>;

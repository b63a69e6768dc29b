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

/** A pipeline step as a request names it: a name, or a name with options. */
export const PipelineStepSchema = z.union([
  z.string().min(1).max(100),
  z.strictObject({
    name: z.string().min(1).max(100),
    options: z.record(z.string(), z.unknown()).optional(),
  }),
]);

/**
 * `data.ingest.requested` v2: run the ingestion pipeline over an input. v1 could name neither the mapping
 * profile nor the steps, nor an input of several files; v2 carries the data layer's whole request, and its
 * `requestId` makes the run idempotent.
 */
export const IngestRequestedV2Schema = z.strictObject({
  requestId: z.uuid(),
  /** A folder or file the workers can read, `s3://bucket/prefix`, or `lake:<key prefix>` (an upload). */
  input: z.string().min(1).max(2000),
  /** Mapping profile: `crm`, `erp`, `analytics` or `generic`. */
  profile: z.string().min(1).max(100),
  dataset: z.string().min(1).max(100).optional(),
  /** The profile's default pipeline when absent. */
  steps: z.array(PipelineStepSchema).max(50).optional(),
  mapping: z
    .strictObject({
      idField: z.string().min(1).optional(),
      textFields: z.array(z.string().min(1)).min(1).optional(),
      subjectFields: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  strict: z.boolean().optional(),
  requestedAt: z.iso.datetime({ offset: true }),
  requestedBy: z.string().min(1).max(200),
});
export type IngestRequestedV2 = z.infer<typeof IngestRequestedV2Schema>;

/**
 * `data.dataset.published` v2: a dataset version is in the lake. Versions are content-addressed (`v` + 20 hex
 * digits of the manifest's SHA-256) rather than v1's per-dataset counter, which survives as `sequence`.
 */
export const DatasetPublishedV2Schema = z.strictObject({
  dataset: LineageDatasetSchema,
  datasetName: z.string().min(1).max(100),
  versionId: z.string().regex(/^v[0-9a-f]{20}$/, { error: 'must be "v" and 20 hex digits' }),
  sequence: z.int().positive(),
  parents: z.array(z.string().regex(/^v[0-9a-f]{20}$/)),
  manifestKey: z.string().min(1).max(1000),
  manifestSha256: Sha256Schema,
  rows: z.int().nonnegative(),
  bytes: z.int().nonnegative(),
  /** The request that produced it; absent for versions written by erasure. */
  requestId: z.uuid().optional(),
  lineage: z.strictObject({
    runId: z.uuid(),
    job: z.strictObject({ namespace: z.string().min(1), name: z.string().min(1) }),
    inputs: z.array(LineageDatasetSchema),
  }),
});
export type DatasetPublishedV2 = z.infer<typeof DatasetPublishedV2Schema>;

const LineageRefSchema = z.object({
  namespace: z.string().min(1).max(500),
  name: z.string().min(1).max(2000),
  facets: z.record(z.string(), z.unknown()).optional(),
});

/** `data.lineage.recorded` v1: an OpenLineage RunEvent (START, COMPLETE, FAIL or ABORT) of a data run. */
export const LineageRecordedV1Schema = z.strictObject({
  runEvent: z.object({
    eventType: z.enum(['START', 'COMPLETE', 'FAIL', 'ABORT']),
    eventTime: z.iso.datetime({ offset: true }),
    run: z.object({ runId: z.uuid(), facets: z.record(z.string(), z.unknown()).optional() }),
    job: z.object({
      namespace: z.string().min(1),
      name: z.string().min(1),
      facets: z.record(z.string(), z.unknown()).optional(),
    }),
    inputs: z.array(LineageRefSchema),
    outputs: z.array(LineageRefSchema),
    producer: z.string().min(1),
    schemaURL: z.string().min(1),
  }),
});
export type LineageRecordedV1 = z.infer<typeof LineageRecordedV1Schema>;

/**
 * `data.stage.requested` v1: one shard of one stage of a run, for data-worker replicas to share through their
 * consumer group. The run's plan is in the lake under `runs/<runId>/plan.json`.
 */
export const StageRequestedV1Schema = z.strictObject({
  runId: z.uuid(),
  stage: z.enum(['extract', 'buckets', 'filter']),
  index: z.int().nonnegative(),
});
export type StageRequestedV1 = z.infer<typeof StageRequestedV1Schema>;

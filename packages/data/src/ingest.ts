import { createHash } from 'node:crypto';
import { z } from 'zod';
import { listInputFiles } from './connectors/input-files';
import { DataError } from './data-error';
import type { DatasetLake } from './lake/dataset-lake';
import { facet, nameUuid, newRequestId, runEvent } from './lake/lineage';
import { RECORD_SCHEMA, type DatasetManifest, type ManifestFile, type ReadReport } from './lake/manifest';
import { runKeys, type RunPlan } from './pipeline/run-plan';
import {
  dedupOptions,
  mergeStepReports,
  runClusters,
  type ClusterResult,
  type ExtractReport,
  type StageContext,
} from './pipeline/stages';
import { inProcessExecutor, type StageTask, type TaskExecutor } from './pipeline/tasks';
import { MappingOverridesSchema, resolveProfile } from './profiles';
import { resolveSteps } from './steps/registry';
import { sortedReport } from './steps/step';

const StepEntrySchema = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }),
]);

/** An ingestion request: what `strata data ingest`, the HTTP route and the `data.ingest.requested` event carry. */
export const IngestRequestSchema = z.strictObject({
  /** Makes the request idempotent: the same id returns the version it produced. A UUID; generated when absent. */
  requestId: z.uuid().optional(),
  /** A local file or folder, `s3://bucket/prefix`, or `lake:<key prefix>` (a file uploaded to the lake). */
  input: z.string().min(1).max(2000),
  profile: z.string().min(1),
  /** The dataset the version belongs to; the profile's name by default. */
  dataset: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, { error: 'must be lowercase letters, digits, ".", "_" or "-"' })
    .optional(),
  /** Steps by name or `{name, options}`; the profile's default pipeline when absent. */
  steps: z.array(StepEntrySchema).optional(),
  mapping: MappingOverridesSchema.optional(),
  /** Stop at the first bad row instead of counting it. */
  strict: z.boolean().optional(),
  /** ISO time of the request; every record's `ingestedAt`. Now by default. */
  requestedAt: z.iso.datetime({ offset: true }).optional(),
  requestedBy: z.string().min(1).max(200).optional(),
});
export type IngestRequest = z.input<typeof IngestRequestSchema>;

export interface IngestResult {
  versionId: string;
  dataset: string;
  manifestKey: string;
  manifestSha256: string;
  manifest: DatasetManifest;
  runId: string;
  /** True when the request had already produced this version and nothing ran. */
  reused: boolean;
}

export interface IngestProgress {
  stage: 'plan' | 'extract' | 'buckets' | 'clusters' | 'filter' | 'publish';
  /** Tasks of the stage done so far, and in all. */
  done: number;
  total: number;
  /** Records read so far in the run (extract) or written (filter). */
  records: number;
  /** Input bytes in all, for throughput and ETA. */
  inputBytes: number;
}

export interface IngestOptions {
  /** Runs each stage's tasks: in this process by default, or over Kafka on data workers. */
  executor?: TaskExecutor;
  onProgress?: (progress: IngestProgress) => void;
}

/** Parses and checks a request, with a message naming the field at fault. */
export function parseIngestRequest(input: unknown): z.output<typeof IngestRequestSchema> {
  const parsed = IngestRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DataError('validation_failed', `${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Ingests an input into a new dataset version: plan, extract (per input file), buckets (per LSH band),
 * clusters, filter (per input file), publish. Every stage leaves its output in the lake, so a rerun of the
 * same request skips what is done and publishes the same version; a request that already finished returns its
 * version at once. Lineage START, COMPLETE and FAIL events are stored and published.
 */
export async function ingest(
  lake: DatasetLake,
  input: IngestRequest,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const request = parseIngestRequest(input);
  const requestId = request.requestId ?? newRequestId();
  const existing = await lake.requestVersion(requestId);
  if (existing) {
    const { manifest, manifestSha256 } = await lake.manifest(existing);
    return {
      versionId: existing,
      dataset: manifest.dataset,
      manifestKey: `versions/${existing}.json`,
      manifestSha256,
      manifest,
      runId: nameUuid(createHash('sha256').update(`run:${requestId}`).digest('hex')),
      reused: true,
    };
  }
  const runId = nameUuid(createHash('sha256').update(`run:${requestId}`).digest('hex'));
  const ctx: StageContext = {
    store: lake.store,
    ...(lake.resolveInput ? { resolveInput: lake.resolveInput } : {}),
  };
  const executor = options.executor ?? inProcessExecutor;
  const plan = await loadOrCreatePlan(lake, ctx, runId, requestId, request);
  const inputBytes = plan.files.reduce((sum, f) => sum + f.size, 0);
  let records = 0;
  ctx.onRecords = (stage, count) => {
    if (stage === 'extract') records += count;
  };
  const progress = (stage: IngestProgress['stage'], done: number, total: number) =>
    options.onProgress?.({ stage, done, total, records, inputBytes });
  const job = { namespace: 'strata', name: `ingest.${plan.dataset}` };
  const inputs = [inputDataset(lake, plan.input)];
  await lake.emitLineage(
    runEvent('START', {
      run: {
        runId,
        facets: {
          strata_request: facet('StrataRequestRunFacet', {
            requestId,
            requestedBy: plan.requestedBy,
            profile: plan.profile.name,
          }),
        },
      },
      job,
      inputs,
      outputs: [],
    }),
  );
  try {
    const shards = plan.files.map((_f, i) => i);
    const stage = async (name: 'extract' | 'buckets' | 'filter', indexes: number[]) => {
      progress(name, 0, indexes.length);
      const tasks: StageTask[] = indexes.map((index) => ({ runId, stage: name, index }));
      await executor(ctx, tasks);
      progress(name, indexes.length, indexes.length);
    };
    await stage('extract', shards);
    const extracts: ExtractReport[] = [];
    for (const shard of shards) {
      extracts.push(
        JSON.parse(
          (await lake.store.get(runKeys.extractReport(runId, shard))).toString('utf8'),
        ) as ExtractReport,
      );
    }
    const docCount = extracts.reduce((sum, r) => sum + r.docs, 0);
    const { near } = dedupOptions(plan);
    if (near)
      await stage(
        'buckets',
        Array.from({ length: near.bands }, (_v, i) => i),
      );
    progress('clusters', 0, 1);
    let clusters: ClusterResult;
    if (await lake.store.head(runKeys.clusters(runId))) {
      clusters = JSON.parse(
        (await lake.store.get(runKeys.clusters(runId))).toString('utf8'),
      ) as ClusterResult;
    } else {
      clusters = await runClusters(ctx, plan, docCount);
      await lake.store.put(runKeys.clusters(runId), JSON.stringify(clusters));
    }
    progress('clusters', 1, 1);
    await stage('filter', shards);
    const files: ManifestFile[] = [];
    for (const shard of shards) {
      files.push(
        JSON.parse(
          (await lake.store.get(runKeys.filterReport(runId, shard))).toString('utf8'),
        ) as ManifestFile,
      );
    }
    progress('publish', 0, 1);
    const manifest = buildManifest(plan, extracts, clusters, files);
    const published = await lake.publish(manifest);
    await lake.recordRequest(requestId, published.versionId);
    await lake.emitLineage(
      lake.completeEvent({
        runId,
        jobName: job.name,
        inputs: inputs.map((i) => ({
          ...i,
          facets: {
            sources: facet('StrataSourcesDatasetFacet', { files: manifest.sources }),
          },
        })),
        output: { dataset: plan.dataset, versionId: published.versionId, manifest },
        runFacets: {
          strata_pipeline: facet('StrataPipelineRunFacet', {
            steps: manifest.pipeline.steps,
            reports: manifest.reports.steps,
          }),
          ...(plan.parent
            ? { parent_version: facet('StrataParentVersionRunFacet', { versionId: plan.parent.versionId }) }
            : {}),
        },
      }),
    );
    progress('publish', 1, 1);
    return { ...published, dataset: plan.dataset, manifest, runId, reused: false };
  } catch (error) {
    await lake
      .emitLineage(
        runEvent('FAIL', {
          run: {
            runId,
            facets: {
              errorMessage: facet('ErrorMessageRunFacet', {
                message: error instanceof Error ? error.message : String(error),
                programmingLanguage: 'TypeScript',
              }),
            },
          },
          job,
          inputs,
          outputs: [],
        }),
      )
      .catch(() => undefined);
    throw error;
  }
}

/** The OpenLineage dataset of an input: a lake prefix, an S3 bucket and prefix, or a local path. */
export function inputDataset(lake: DatasetLake, input: string): { namespace: string; name: string } {
  if (input.startsWith('lake:')) return { namespace: lake.namespace, name: input.slice('lake:'.length) };
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(input);
  if (s3) return { namespace: `s3://${s3[1]}`, name: s3[2] || '/' };
  return { namespace: 'file', name: input };
}

async function loadOrCreatePlan(
  lake: DatasetLake,
  ctx: StageContext,
  runId: string,
  requestId: string,
  request: z.output<typeof IngestRequestSchema>,
): Promise<RunPlan> {
  const key = runKeys.plan(runId);
  if (await lake.store.head(key)) return JSON.parse((await lake.store.get(key)).toString('utf8')) as RunPlan;
  const profile = resolveProfile(request.profile, request.mapping ?? {});
  const steps = resolveSteps(request.steps ?? profile.defaultSteps);
  const files = await listInputFiles(request.input, ctx.resolveInput);
  const dataset = request.dataset ?? profile.name;
  const plan: RunPlan = {
    runId,
    requestId,
    dataset,
    input: request.input,
    profile,
    steps,
    strict: request.strict ?? false,
    requestedAt: request.requestedAt ?? new Date().toISOString(),
    requestedBy: request.requestedBy ?? 'local',
    parent: await lake.head(dataset),
    files: files.map((f) => ({ name: f.name, size: f.size, format: f.format })),
  };
  await lake.store.put(key, JSON.stringify(plan));
  return plan;
}

function buildManifest(
  plan: RunPlan,
  extracts: ExtractReport[],
  clusters: ClusterResult,
  files: ManifestFile[],
): DatasetManifest {
  const read: ReadReport = { records: 0, errors: {}, examples: [] };
  for (const report of extracts) {
    read.records += report.read.records;
    for (const [code, count] of Object.entries(report.read.errors))
      read.errors[code] = (read.errors[code] ?? 0) + count;
    for (const example of report.read.examples) if (read.examples.length < 20) read.examples.push(example);
  }
  const steps = [...mergeStepReports(extracts.map((r) => r.steps)), ...clusters.reports].map(sortedReport);
  return {
    schema: 'strata.dataset.manifest/1',
    dataset: plan.dataset,
    sequence: (plan.parent?.sequence ?? 0) + 1,
    parents: plan.parent ? [plan.parent.versionId] : [],
    createdAt: plan.requestedAt,
    requestId: plan.requestId,
    input: plan.input,
    profile: plan.profile.name,
    pipeline: { steps: plan.steps },
    sources: extracts.map((r) => r.source),
    format: 'jsonl.gz',
    recordSchema: RECORD_SCHEMA,
    files: files.filter((f) => f.rows > 0),
    rows: files.reduce((sum, f) => sum + f.rows, 0),
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    reports: { read, steps },
  };
}

/**
 * @strata/data: streaming connectors (CSV, JSONL, JSON arrays, Parquet; local or object store), mapping
 * profiles, cleaning and dedup steps, and versioned datasets with manifests and OpenLineage lineage in the lake.
 */
export * from './data-error';
export * from './document';
export * from './connectors/input-files';
export * from './connectors/read-items';
export { readFile } from './connectors/read-file';
export { sniffDelimiter } from './connectors/csv-reader';
export * from './dedup/minhash';
export * from './profiles';
export * from './steps/step';
export * from './steps/registry';
export { normalizeText } from './steps/normalize.step';
export { stripMarkup } from './steps/strip-markup.step';
export { qualityProblem, QualityOptionsSchema } from './steps/quality.step';
export { toxicityHits, TOXICITY_CATEGORIES } from './steps/toxicity.step';
export type { ToxicityCategory } from './steps/toxicity.step';
export * from './lake/manifest';
export * from './lake/lineage';
export * from './lake/dataset-lake';
export * from './pipeline/run-plan';
export * from './pipeline/tasks';
export { runClusters } from './pipeline/stages';
export type { ClusterResult, ExtractReport, StageContext } from './pipeline/stages';
export * from './ingest';
export * from './operations';
export * from './sample/sample-generator';
export { SeededRandom } from './sample/random';
export * from './data-worker';
export * from './data-service';
export * from './data-runtime';
export * from './data-worker-service';

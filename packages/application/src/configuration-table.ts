import type { z } from 'zod';
import { generationServiceEnvSchema } from './start-generation-service';

/**
 * What each environment variable of a generation service means, for the README's configuration table. The
 * variables and their defaults come from the zod schemas themselves (`generationServiceEnvSchema`); a variable
 * added to a schema without a line here fails the configuration-table test, and so does a README that does not
 * match (`pnpm docs:config` rewrites it).
 */
export const CONFIGURATION_NOTES: Record<string, string> = {
  PORT: 'HTTP port (`0` picks a free one)',
  HOST: 'interface to listen on',
  HTTP_BODY_LIMIT: 'largest request body, in bytes',
  LOG_LEVEL: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` (JSON logs via pino)',
  MODEL_ID: 'Hub id, or folder under `MODEL_CACHE_DIR`',
  MODEL_REVISION: 'Hub branch, tag or commit',
  MODEL_CACHE_DIR: 'local models and the Hub download cache',
  MODEL_DTYPE: '`fp32`, or `q8` for int8 weights (`onnx/model_quantized.onnx`)',
  MODEL_OFFLINE: 'never contact the Hub',
  MODEL_FALLBACK: 'what to serve when `MODEL_ID` cannot be loaded: `none` (stop) or `starter`',
  MODEL_SEED: 'seeds the seeds given to unseeded sampled requests',
  MAX_NEW_TOKENS: '`max_new_tokens` when a request sets none',
  MAX_NEW_TOKENS_CAP: 'largest `max_new_tokens` accepted',
  MAX_INPUT_TOKENS:
    "longest prompt, in tokens; `MAX_INPUT_TOKENS + MAX_NEW_TOKENS_CAP` must fit the model's positions",
  MAX_BATCH_SIZE: 'sequences decoded together in one forward pass at most',
  MAX_QUEUED_REQUESTS: 'requests waiting for a batch slot at most; more get 429 with `Retry-After`',
  MAX_BATCH_TOTAL_TOKENS: 'prompt plus new tokens of all running sequences at most (bounds KV-cache memory)',
  QUEUE_TIMEOUT_MS: 'how long a request may wait for a batch slot before it fails with `queue_timeout`',
  STRATA_ADMIN_KEY: 'a bootstrap admin API key (at least 32 characters), registered at start-up',
  AUDIT_SIGNING_KEY: 'Ed25519 private key (PKCS#8 PEM) that signs audit checkpoints',
  AUDIT_CHECKPOINT_EVERY: 'sign a checkpoint every this many audit records',
  AUDIT_RETENTION_DAYS_GENERATION:
    'days a generation record keeps its redacted prompt and answer (at least 183)',
  AUDIT_RETENTION_DAYS_DENIED: 'days denial records are kept',
  AUDIT_RETENTION_DAYS_ADMIN: 'days admin, erasure and retention records are kept',
  AUDIT_RETENTION_INTERVAL_HOURS: 'how often retention runs (`0`: never on its own)',
  AUDIT_VERIFY_INTERVAL_SECONDS:
    'seconds between incremental audit-chain verifications that set `strata_audit_chain_valid` (`0`: off)',
  AUDIT_VERIFY_FULL_INTERVAL_HOURS: 'hours between verifications of the whole chain (`0`: only at start-up)',
  AUDIT_WRITE:
    '`sync`: an answer leaves once its audit record is durable (journaled on the embedded database, committed on PostgreSQL); `async`: just after',
  AUTH_FAILURES_PER_MINUTE: 'failed authentications a client address may make per minute before it gets 429',
  METRICS_PUBLIC: 'serve `/metrics` without a key',
  DOCS_PUBLIC: 'serve `/docs` and `/openapi.json` without a key',
  GUARDRAILS_POLICY: 'the default guardrail policy, as JSON (keys may carry their own)',
  EVENT_BUS: '`memory` (in-process) or `kafka`',
  KAFKA_BROKERS: 'comma-separated `host:port` list; required with `EVENT_BUS=kafka`',
  KAFKA_CLIENT_ID: 'the Kafka client id',
  DATABASE_URL: '`postgres://…`, or `pglite:<folder>` (`pglite:memory`) for the embedded database',
  OBJECT_STORE_URL: '`file:<folder>`, or `s3://<bucket>/<prefix>`',
  S3_ENDPOINT: 'an S3-compatible endpoint (credentials from the AWS SDK default chain)',
  S3_REGION: 'the S3 region',
  S3_FORCE_PATH_STYLE: 'path-style S3 URLs (MinIO, Swift)',
  DATA_WORKER: '`inprocess`: this process runs data pipeline requests; `off`: it only publishes them',
  DATA_STAGE_EXECUTOR: "`inprocess`: a run's stage tasks run here; `bus`: they go to the data workers",
  DATA_RETENTION_DAYS: 'days before dataset versions replaced by an erasure have their files deleted',
  MODEL_REGISTRY_NAME: 'the registered model this replica serves',
  MODEL_REGISTRY_ALIAS: 'the alias of `MODEL_REGISTRY_NAME` that is served',
  MLFLOW_TRACKING_URI: 'an MLflow tracking server to mirror runs, versions and aliases to',
  MLFLOW_TRACKING_TOKEN: 'the MLflow token',
  DRIFT_WINDOW_SIZE: 'generations per drift window',
  STRATA_DATA_DIR:
    'local state: the embedded database and lake (unless the URLs above name others), the signing key; one process at a time (locked)',
};

/** Defaults the standalone (`pnpm start`) sets differently from the generation-api service. */
export const STANDALONE_DEFAULTS: Record<string, string> = {
  HOST: '`127.0.0.1`',
  MODEL_CACHE_DIR: "the checkout's `.strata/models`",
  MODEL_FALLBACK: '`starter`',
  STRATA_DATA_DIR: "the checkout's `.strata/data`",
};

function defaultOf(schema: z.ZodType): string {
  const parsed = schema.safeParse(undefined);
  if (!parsed.success) return 'required';
  return parsed.data === undefined ? 'unset' : `\`${String(parsed.data)}\``;
}

/** The rows of the configuration table: variable, default, meaning. */
export function configurationRows(): [string, string, string][] {
  const shape = generationServiceEnvSchema.shape as Record<string, z.ZodType>;
  return Object.entries(shape).map(([name, schema]) => {
    const standalone = STANDALONE_DEFAULTS[name];
    const fallback = defaultOf(schema);
    return [
      `\`${name}\``,
      standalone ? `${fallback} (standalone: ${standalone})` : fallback,
      CONFIGURATION_NOTES[name] ?? '',
    ];
  });
}

/** The README's configuration table, as Markdown (prettier aligns it when the README is written). */
export function configurationTable(): string {
  const rows = [['variable', 'default', 'meaning'], ['---', '---', '---'], ...configurationRows()];
  return rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { env } from './config';
import type { Database } from './database';
import type { EventBus, RetryPolicy } from './event-bus';
import { InMemoryEventBus } from './in-memory-event-bus';
import { KafkaEventBus } from './kafka-event-bus';
import { LocalObjectStore } from './local-object-store';
import type { Logger } from './logger';
import type { MetricsRegistry } from './metrics';
import type { ObjectStore } from './object-store';
import { PGliteDatabase } from './pglite-database';
import { PlatformError } from './platform-error';
import { PostgresDatabase } from './postgres-database';
import { S3ObjectStore } from './s3-object-store';

/**
 * Environment variables that choose the backbone's adapters: embedded defaults (PGlite, in-process bus,
 * local folder) unless told otherwise. Merge into an app's schema and read with `loadConfig`.
 */
export const backboneEnvShape = {
  /** `memory` (in-process) or `kafka`. */
  EVENT_BUS: env.enum(['memory', 'kafka'] as const).default('memory'),
  /** Comma-separated `host:port` list; required when EVENT_BUS=kafka. */
  KAFKA_BROKERS: env.string().optional(),
  KAFKA_CLIENT_ID: env.string().default('strata'),
  /** `postgres://…` for a server; `pglite:<folder>` (or `pglite:memory`) for the embedded database. */
  DATABASE_URL: env.string().default('pglite:.strata/db'),
  /** `file:<folder>` for a local folder; `s3://<bucket>/<prefix>` for S3. */
  OBJECT_STORE_URL: env.string().default('file:.strata/lake'),
  S3_ENDPOINT: env.string().optional(),
  S3_REGION: env.string().default('us-east-1'),
  S3_FORCE_PATH_STYLE: env.bool().default(false),
};

export const backboneEnvSchema = z.object(backboneEnvShape).superRefine((config, ctx) => {
  if (config.EVENT_BUS === 'kafka' && !config.KAFKA_BROKERS) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_BROKERS'], message: 'is required when EVENT_BUS=kafka' });
  }
  if (!/^(postgres(ql)?:\/\/|pglite:)/.test(config.DATABASE_URL)) {
    ctx.addIssue({
      code: 'custom',
      path: ['DATABASE_URL'],
      message: 'must start with postgres://, postgresql:// or pglite:',
    });
  }
  if (!/^(file:|s3:\/\/[^/]+)/.test(config.OBJECT_STORE_URL)) {
    ctx.addIssue({
      code: 'custom',
      path: ['OBJECT_STORE_URL'],
      message: 'must be file:<folder> or s3://<bucket>/<prefix>',
    });
  }
});

export type BackboneConfig = z.output<typeof backboneEnvSchema>;

/** Opens the database `DATABASE_URL` names; relative PGlite folders resolve against `baseDir`. */
export async function openDatabase(
  url: string,
  options: { baseDir?: string; logger?: Logger } = {},
): Promise<Database> {
  if (url.startsWith('pglite:')) {
    const location = url.slice('pglite:'.length);
    if (location === 'memory') return PGliteDatabase.open();
    const dataDir = path.resolve(options.baseDir ?? process.cwd(), location);
    // PGlite creates only the last folder of its path.
    mkdirSync(path.dirname(dataDir), { recursive: true });
    return PGliteDatabase.open({ dataDir });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    return PostgresDatabase.open({ url, ...(options.logger ? { logger: options.logger } : {}) });
  }
  throw new PlatformError('config_invalid', `unsupported database URL ${url.split('@').pop()}`);
}

/** The object store `OBJECT_STORE_URL` names. S3 credentials come from the AWS SDK's default chain. */
export function createObjectStore(
  config: Pick<BackboneConfig, 'OBJECT_STORE_URL' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>,
  baseDir = process.cwd(),
): ObjectStore {
  const url = config.OBJECT_STORE_URL;
  if (url.startsWith('file:'))
    return new LocalObjectStore({
      root: path.resolve(baseDir, url.slice('file:'.length).replace(/^\/\/(?=\/)/, '')),
    });
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new PlatformError('config_invalid', `unsupported object store URL ${url}`);
  const prefix = match[2] ?? '';
  return new S3ObjectStore({
    bucket: match[1]!,
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...(config.S3_ENDPOINT === undefined ? {} : { endpoint: config.S3_ENDPOINT }),
  });
}

/** The event bus `EVENT_BUS` names. */
export function createEventBus(
  config: Pick<BackboneConfig, 'EVENT_BUS' | 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
  deps: { metrics?: MetricsRegistry; logger?: Logger; retry?: Partial<RetryPolicy> } = {},
): EventBus {
  if (config.EVENT_BUS === 'memory') return new InMemoryEventBus({ ...deps, source: config.KAFKA_CLIENT_ID });
  const brokers = (config.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return new KafkaEventBus({ brokers, clientId: config.KAFKA_CLIENT_ID, ...deps });
}

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backboneEnvSchema, createEventBus, createObjectStore, openDatabase } from './backbone-config';
import { loadConfig } from './config';
import { InMemoryEventBus } from './in-memory-event-bus';
import { KafkaEventBus } from './kafka-event-bus';
import { LocalObjectStore } from './local-object-store';
import { S3ObjectStore } from './s3-object-store';

describe('backbone configuration', () => {
  it('defaults to the embedded adapters', () => {
    const config = loadConfig(backboneEnvSchema, {});
    expect(config).toMatchObject({
      EVENT_BUS: 'memory',
      DATABASE_URL: 'pglite:.strata/db',
      OBJECT_STORE_URL: 'file:.strata/lake',
    });
    expect(createEventBus(config)).toBeInstanceOf(InMemoryEventBus);
    expect(createObjectStore(config, '/srv')).toBeInstanceOf(LocalObjectStore);
  });

  it('selects Kafka and S3, and names every bad variable', () => {
    const config = loadConfig(backboneEnvSchema, {
      EVENT_BUS: 'kafka',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      OBJECT_STORE_URL: 's3://lake-bucket/strata',
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(createEventBus(config)).toBeInstanceOf(KafkaEventBus);
    expect(createObjectStore(config)).toBeInstanceOf(S3ObjectStore);
    expect(() =>
      loadConfig(backboneEnvSchema, {
        EVENT_BUS: 'kafka',
        DATABASE_URL: 'mysql://x',
        OBJECT_STORE_URL: 'ftp://x',
      }),
    ).toThrow(
      /KAFKA_BROKERS: is required when EVENT_BUS=kafka[\s\S]*DATABASE_URL="mysql:\/\/x"[\s\S]*OBJECT_STORE_URL/,
    );
  });

  it('opens PGlite in memory or in a folder', async () => {
    const memory = await openDatabase('pglite:memory');
    expect(memory.engine).toBe('pglite');
    await memory.close();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strata-db-'));
    try {
      const onDisk = await openDatabase('pglite:db', { baseDir: dir });
      await onDisk.query('select 1');
      await onDisk.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('openDatabase on a new folder', () => {
  it('creates the parent folders of an embedded database', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'strata-open-'));
    try {
      const database = await openDatabase(`pglite:${path.join(root, 'a', 'b', 'db')}`);
      await database.close();
      expect(existsSync(path.join(root, 'a', 'b', 'db'))).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

import { GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { integrationEnv } from './integration-env';
import { readAll } from './object-store';
import { describeObjectStoreConformance } from './object-store-conformance.testing';
import { S3ObjectStore } from './s3-object-store';
import { uniqueSuffix } from './test-support.testing';

const storeFor = (bucket: string, prefix = '') => {
  const s3 = integrationEnv.s3();
  return new S3ObjectStore({
    bucket,
    prefix,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    partSizeBytes: 5 * 1024 * 1024,
  });
};

const bucket = `strata-it-${uniqueSuffix()}`;

describeObjectStoreConformance('S3 (OpenStack Swift s3api)', {
  create: async () => {
    const store = storeFor(bucket, 'lake/');
    await store.ensureBucket();
    return store;
  },
  corrupt: async (store, key) => {
    // Rewrite the bytes with the original metadata: what bit rot or a buggy tool would leave.
    const s3 = (store as S3ObjectStore).client;
    const original = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `lake/${key}` }));
    const data = await readAll(original.Body as never);
    data.write('bit rot', 100);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `lake/${key}`, Body: data, Metadata: original.Metadata }),
    );
  },
});

describe('S3ObjectStore', () => {
  it('aborts a multipart upload whose part fails, leaving nothing visible and no upload behind', async () => {
    const store = storeFor(bucket, `abort-${uniqueSuffix()}/`);
    await store.put('artifact', 'previous version');
    // The network drops while part 2 is in flight.
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { PartNumber?: number };
        if (context.commandName === 'UploadPartCommand' && input.PartNumber === 2)
          throw new Error('connection reset');
        return next(args);
      },
      { step: 'initialize', name: 'failSecondPart' },
    );
    await expect(store.put('artifact', Buffer.alloc(12 * 1024 * 1024, 1))).rejects.toMatchObject({
      code: 'unavailable',
    });
    store.client.middlewareStack.remove('failSecondPart');
    expect((await store.get('artifact')).toString()).toBe('previous version');
    const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('never starts an upload for a stream that fails while being staged', async () => {
    const store = storeFor(bucket, `staged-${uniqueSuffix()}/`);
    async function* failing() {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(1024 * 1024, i);
      throw new Error('source went away');
    }
    await expect(store.put('artifact', failing())).rejects.toThrow('source went away');
    expect(await store.list()).toEqual([]);
  });

  it('reads objects written by other tools only if they carry the checksum', async () => {
    const store = storeFor(bucket);
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'foreign.csv', Body: 'a,b\n1,2\n' }));
    await expect(store.get('foreign.csv')).rejects.toMatchObject({ code: 'integrity_failed' });
  });

  it('fails with unavailable when the endpoint is down', async () => {
    const store = new S3ObjectStore({
      bucket,
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    await expect(store.put('x', 'y')).rejects.toMatchObject({ code: 'unavailable', retriable: true });
  });
});

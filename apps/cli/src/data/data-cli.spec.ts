import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MODEL_MIGRATIONS, ModelRegistry } from '@strata/model';
import { migrate, openDatabase, PLATFORM_MIGRATIONS } from '@strata/platform';
import { runCli } from '../run-cli';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-data-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function strata(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _e, cb) {
        append(chunk.toString('utf8'));
        cb();
      },
    });
  const code = await runCli(argv, {}, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}

describe('strata data --local', () => {
  it('samples, ingests, shows, exports, diffs, traces lineage and erases over a data directory', async () => {
    const data = path.join(dir, 'data');
    const sample = await strata(
      'data',
      'sample',
      '--profile',
      'erp',
      '--rows',
      '60',
      '--seed',
      '4',
      '--out',
      path.join(dir, 'erp'),
    );
    expect(sample.code).toBe(0);
    expect(sample.out).toMatch(/orders\.csv\s+\d+ rows/);
    expect(sample.out).toMatch(/invoices\.parquet\s+60 rows/);

    const first = await strata(
      'data',
      'ingest',
      '--local',
      '--data-dir',
      data,
      '--input',
      path.join(dir, 'erp'),
      '--profile',
      'erp',
      '--steps',
      'normalize,redact-pii',
    );
    // Progress goes to stderr: a line per stage when stderr is not a terminal.
    expect(first.err).toMatch(/^extract .* 3\/3 +\d+ records +\d+ rec\/s$/m);
    expect(first.err).not.toContain('strata:');
    expect(first.code).toBe(0);
    const v1 = /^version (v[0-9a-f]{20})$/m.exec(first.out)![1]!;
    expect(first.out).toMatch(/redact-pii\s+in \d+\s+out \d+/);

    const second = await strata(
      'data',
      'ingest',
      '--local',
      '--data-dir',
      data,
      '--input',
      path.join(dir, 'erp'),
      '--profile',
      'erp',
    );
    const v2 = /^version (v[0-9a-f]{20})$/m.exec(second.out)![1]!;
    expect(v2).not.toBe(v1);

    const versions = await strata('data', 'versions', '--local', '--data-dir', data, '--json');
    expect(JSON.parse(versions.out).versions.map((v: any) => v.versionId)).toEqual([v1, v2]);

    const shown = await strata('data', 'show', v2, '--local', '--data-dir', data);
    expect(shown.out).toContain(`parents   ${v1}`);
    expect(shown.out).toMatch(/invoices\.parquet\s+\d+ bytes\s+sha256 [0-9a-f]{64}/);

    const out = path.join(dir, 'export.jsonl');
    expect((await strata('data', 'export', v2, '--out', out, '--local', '--data-dir', data)).code).toBe(0);
    const rows = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.length).toBe(JSON.parse(versions.out).versions[1].rows);
    expect(rows.every((r: any) => typeof r.id === 'string' && r.id.length > 0)).toBe(true);

    const diff = await strata('data', 'diff', v1, v2, '--local', '--data-dir', data, '--json');
    expect(JSON.parse(diff.out).removed).toBeGreaterThan(0);

    const lineage = await strata('data', 'lineage', v2, '--local', '--data-dir', data);
    expect(lineage.out).toContain('invoices.parquet');
    expect(lineage.out).toContain('ingest.erp');
    expect(lineage.out).toContain('models trained on it: none yet');

    // A model registered as trained on v2 in the data directory's registry (as a standalone server records
    // it) is on v2's lineage, and not on v1's.
    const database = await openDatabase(`pglite:${path.join(data, 'db')}`);
    try {
      await migrate(database, PLATFORM_MIGRATIONS);
      await migrate(database, MODEL_MIGRATIONS);
      await new ModelRegistry(database).registerVersion(
        { principal: 'test', tenant: null, allowed: new Set(['model.register']) },
        {
          name: 'erp-assistant',
          source: 'models/erp-assistant/1',
          checksums: { 'model.onnx': 'a'.repeat(64) },
          baseModel: 'strata/starter',
          trainedOn: [{ dataset: { namespace: 'file://lake', name: `erp@${v2}` }, version: 2 }],
        },
      );
    } finally {
      await database.close();
    }
    const traced = await strata('data', 'lineage', v2, '--local', '--data-dir', data, '--json');
    expect(JSON.parse(traced.out).models).toEqual(['models:/erp-assistant/1']);
    expect((await strata('data', 'lineage', v2, '--local', '--data-dir', data)).out).toContain(
      'models trained on it:\n  models:/erp-assistant/1',
    );
    expect(
      JSON.parse((await strata('data', 'lineage', v1, '--local', '--data-dir', data, '--json')).out).models,
    ).toEqual([]);

    const subject = rows.find((r: any) => r.subjectIds.length > 0).subjectIds[0];
    const erased = await strata(
      'data',
      'erase',
      '--subject',
      subject,
      '--local',
      '--data-dir',
      data,
      '--json',
    );
    expect(erased.code).toBe(0);
    expect(JSON.parse(erased.out).versions[0].from).toBe(v2);
  });

  it('rejects bad command lines and bad inputs with a clear message', async () => {
    expect(await strata('data', 'ingest', '--local', '--input', 'x')).toMatchObject({
      code: 2,
      err: expect.stringContaining('needs --profile'),
    });
    expect(await strata('data', 'ingest', '--profile', 'crm', '--input', 'x', '--bogus')).toMatchObject({
      code: 2,
      err: expect.stringContaining("Unknown option '--bogus'"),
    });
    expect(await strata('data', 'frobnicate')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown command "data frobnicate"'),
    });
    expect(await strata('data', 'sample', '--profile', 'crm', '--rows', 'many', '--out', dir)).toMatchObject({
      code: 2,
      err: expect.stringContaining('--rows must be a whole number'),
    });
    const missing = await strata(
      'data',
      'ingest',
      '--local',
      '--data-dir',
      path.join(dir, 'd2'),
      '--input',
      path.join(dir, 'nope'),
      '--profile',
      'crm',
    );
    expect(missing).toMatchObject({ code: 1, err: expect.stringContaining('does not exist') });
    expect(await strata('data', 'ingest', '--profile', 'crm', '--input', 'x')).toMatchObject({
      code: 2,
      err: expect.stringContaining('no API key'),
    });
    const steps = await strata('data', 'steps');
    expect(steps.out).toContain('near-dedup');
    expect(steps.out).toContain('bands:');
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { LocalObjectStore } from '@strata/platform';
import { ingest } from './ingest';
import { DatasetLake } from './lake/dataset-lake';
import type { RunEvent } from './lake/lineage';
import { diffVersions, eraseSubject, exportVersion, lineageOf } from './operations';
import { runKeys } from './pipeline/run-plan';
import { inProcessExecutor, type TaskExecutor } from './pipeline/tasks';
import { writeSample, type PlantedTruth } from './sample/sample-generator';
import type { CanonicalDocument } from './document';

let dir: string;
let truth: PlantedTruth;
const requestedAt = '2026-11-30T12:00:00.000Z';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-ingest-'));
  truth = await writeSample({ profile: 'crm', rows: 120, seed: 11, out: path.join(dir, 'crm') });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function newLake(name: string, published: RunEvent[] = []): DatasetLake {
  return new DatasetLake({
    store: new LocalObjectStore({ root: path.join(dir, name) }),
    publishLineage: async (event) => {
      published.push(event);
    },
  });
}

async function exported(lake: DatasetLake, versionId: string): Promise<CanonicalDocument[]> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  await exportVersion(lake, versionId, sink);
  return lines
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as CanonicalDocument);
}

describe('ingest', () => {
  it('runs a CRM sample through the default pipeline into a version with manifest, reports and lineage', async () => {
    const events: RunEvent[] = [];
    const lake = newLake('lake-main', events);
    const result = await ingest(lake, { input: path.join(dir, 'crm'), profile: 'crm', requestedAt });
    expect(result.versionId).toMatch(/^v[0-9a-f]{20}$/);
    const { manifest } = result;
    expect(manifest.sources.map((s) => s.name)).toEqual(['contacts.csv', 'notes.jsonl', 'tickets.csv']);
    for (const source of manifest.sources) expect(source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.reports.steps.map((s) => s.step)).toEqual([
      'normalize',
      'strip-markup',
      'quality',
      'redact-pii',
      'toxicity',
      'exact-dedup',
      'near-dedup',
    ]);
    const byStep = Object.fromEntries(manifest.reports.steps.map((s) => [s.step, s]));
    // Every step's counts chain: what one lets out, the next takes in.
    for (let i = 1; i < manifest.reports.steps.length; i++) {
      expect(manifest.reports.steps[i]!.in).toBe(manifest.reports.steps[i - 1]!.out);
    }
    expect(byStep['exact-dedup']!.dropped['duplicate']).toBeGreaterThanOrEqual(
      truth.exactDuplicates.length * 0.8,
    );
    expect(byStep['redact-pii']!.tally['EMAIL_ADDRESS']).toBeGreaterThan(0);
    expect(Object.keys(byStep['toxicity']!.dropped).sort()).toEqual([
      'identity_attack',
      'insult',
      'profanity',
      'threat',
    ]);
    expect(manifest.rows).toBe(byStep['near-dedup']!.out);

    const docs = await exported(lake, result.versionId);
    expect(docs).toHaveLength(manifest.rows);
    const ids = new Set(docs.map((d) => d.id));
    expect(ids.has(truth.exactDuplicates[0]!.duplicateOf) || ids.has(truth.exactDuplicates[0]!.id)).toBe(
      true,
    );
    expect(ids.has(truth.exactDuplicates[0]!.duplicateOf) && ids.has(truth.exactDuplicates[0]!.id)).toBe(
      false,
    );
    for (const d of docs) {
      expect(d.text).not.toMatch(/[a-z0-9.]+@example\.(com|org)/);
      expect(d.ingestedAt).toBe(requestedAt);
    }
    const toxic = new Set(truth.toxic.map((t) => t.id));
    expect(docs.filter((d) => toxic.has(d.id))).toEqual([]);

    // Near duplicates at J >= 0.8 whose original survived the other steps are removed.
    const planted = truth.nearDuplicates.filter((n) => n.jaccard >= 0.8 && ids.has(n.duplicateOf));
    expect(planted.length).toBeGreaterThanOrEqual(3);
    const caught = planted.filter((n) => !ids.has(n.id)).length;
    expect(caught / planted.length).toBeGreaterThanOrEqual(0.9);

    expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(events[1]!.outputs[0]!.name).toBe(`crm@${result.versionId}`);
    expect((await lake.versions()).map((v) => v.versionId)).toEqual([result.versionId]);
    const lineage = await lineageOf(lake, result.versionId);
    expect(lineage.chain).toEqual([
      { versionId: result.versionId, job: 'ingest.crm', inputs: [`file/${path.join(dir, 'crm')}`] },
    ]);
    expect(lineage.sources.map((s) => s.name)).toEqual(['contacts.csv', 'notes.jsonl', 'tickets.csv']);
  });

  it('is idempotent by request id, and a crashed run resumes to the same version', async () => {
    const lake = newLake('lake-resume');
    const requestId = '0193a6f2-7c1e-7b3a-9f00-000000000001';
    let calls = 0;
    const crashing: TaskExecutor = async (ctx, tasks) => {
      if (tasks[0]!.stage === 'filter' && ++calls === 1) {
        await inProcessExecutor(ctx, tasks.slice(0, 1));
        throw new Error('worker died');
      }
      await inProcessExecutor(ctx, tasks);
    };
    await expect(
      ingest(
        lake,
        { requestId, input: path.join(dir, 'crm'), profile: 'crm', requestedAt },
        { executor: crashing },
      ),
    ).rejects.toThrow('worker died');
    expect(await lake.versions()).toEqual([]);
    const resumed = await ingest(
      lake,
      { requestId, input: path.join(dir, 'crm'), profile: 'crm', requestedAt },
      { executor: crashing },
    );
    const fresh = await ingest(newLake('lake-fresh'), {
      requestId,
      input: path.join(dir, 'crm'),
      profile: 'crm',
      requestedAt,
    });
    expect(resumed.manifestSha256).toBe(fresh.manifestSha256);
    const again = await ingest(lake, {
      requestId,
      input: path.join(dir, 'crm'),
      profile: 'crm',
      requestedAt,
    });
    expect(again).toMatchObject({ versionId: resumed.versionId, reused: true });
    expect(await lake.store.head(runKeys.plan(resumed.runId))).toBeDefined();
  });

  it('diffs versions, and erases a subject into new versions with lineage and scheduled deletion', async () => {
    const lake = newLake('lake-erase');
    const first = await ingest(lake, {
      input: path.join(dir, 'crm'),
      profile: 'crm',
      steps: ['normalize'],
      requestedAt,
    });
    const second = await ingest(lake, {
      input: path.join(dir, 'crm'),
      profile: 'crm',
      steps: ['normalize', 'exact-dedup'],
      requestedAt: '2026-11-30T13:00:00.000Z',
    });
    expect(second.manifest.parents).toEqual([first.versionId]);
    expect(second.manifest.sequence).toBe(2);
    const diff = await diffVersions(lake, first.versionId, second.versionId);
    expect(diff.added).toBe(0);
    expect(diff.removed).toBe(first.manifest.rows - second.manifest.rows);
    expect(diff.removed).toBeGreaterThan(0);

    const subject = truth.subjects[0]!;
    const before = (await exported(lake, second.versionId)).filter((d) =>
      d.subjectIds.includes(subject),
    ).length;
    expect(before).toBeGreaterThan(0);
    const erasure = await eraseSubject(lake, subject, {
      now: new Date('2026-12-01T00:00:00Z'),
      retentionDays: 30,
    });
    expect(erasure.versions).toHaveLength(1);
    expect(erasure.versions[0]).toMatchObject({ from: second.versionId, rowsRemoved: before });
    const erased = erasure.versions[0]!.to;
    expect((await exported(lake, erased)).some((d) => d.subjectIds.includes(subject))).toBe(false);
    expect(erasure.scheduled.map((s) => s.versionId).sort()).toEqual(
      [first.versionId, second.versionId].sort(),
    );
    const lineage = await lineageOf(lake, erased);
    expect(lineage.chain.map((c) => [c.versionId, c.erasure ?? false])).toEqual([
      [second.versionId, false],
      [erased, true],
    ]);
    expect(await lake.applyRetention(new Date('2026-12-15T00:00:00Z'))).toEqual([]);
    const deleted = await lake.applyRetention(new Date('2027-01-01T00:00:00Z'));
    expect(deleted.map((d) => d.versionId).sort()).toEqual([first.versionId, second.versionId].sort());
    await expect(exported(lake, second.versionId)).rejects.toThrow(/is gone/);
    expect((await exported(lake, erased)).length).toBe(second.manifest.rows - before);
  });

  it('counts bad rows without aborting, stops at the first under strict, and names missing fields', async () => {
    const input = path.join(dir, 'bad');
    await rm(input, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(input));
    await writeFile(
      path.join(input, 'a.jsonl'),
      '{"id":"1","text":"The first good row of the file."}\n{oops}\n{"id":"2"}\n{"id":"3","text":"Another good row with words."}\n',
    );
    await writeFile(path.join(input, 'b.csv'), 'id,text\n4,"unclosed\n');
    const lake = newLake('lake-bad');
    const result = await ingest(lake, { input, profile: 'generic', steps: ['normalize'], requestedAt });
    expect(result.manifest.rows).toBe(2);
    expect(result.manifest.reports.read.errors).toEqual({
      csv_unbalanced_quote: 1,
      invalid_json: 1,
      missing_field: 1,
    });
    expect(result.manifest.reports.read.examples.find((e) => e.code === 'missing_field')?.message).toMatch(
      /no text in "text"/,
    );
    await expect(
      ingest(lake, { input, profile: 'generic', steps: ['normalize'], strict: true }),
    ).rejects.toThrow(/--strict/);
    await expect(ingest(lake, { input, profile: 'nope' })).rejects.toThrow(/unknown profile "nope"/);
    await expect(ingest(lake, { input: '', profile: 'crm' })).rejects.toThrow(/input/);
    const text = await readFile(path.join(input, 'a.jsonl'), 'utf8');
    expect(text).toContain('{oops}');
  });
});

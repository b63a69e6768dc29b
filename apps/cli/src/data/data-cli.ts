import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type {
  DatasetManifest,
  ErasureResult,
  IngestProgress,
  IngestRequest,
  LineageGraph,
  VersionDiff,
  VersionSummary,
} from '@strata/data';
import { UsageError, DEFAULT_URL } from '../command-line';
import { feedbackInput } from '../model/feedback-input';
import { DataClient } from './data-client';
import { ProgressBar } from './progress';

/** Environment variables `strata data` reads (main.ts passes them; nothing else reads `process.env`). */
export interface DataCliEnvironment {
  STRATA_URL?: string | undefined;
  STRATA_KEY?: string | undefined;
  /** For s3:// inputs in --local mode: the S3 endpoint, region and addressing style (credentials: AWS chain). */
  S3_ENDPOINT?: string | undefined;
  S3_REGION?: string | undefined;
  S3_FORCE_PATH_STYLE?: string | undefined;
}

export interface DataCliIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  signal?: AbortSignal;
}

/** What a data command runs against: this process over a data directory (--local), or the server. */
export interface DataBackend {
  ingest(
    request: IngestRequest,
    onProgress: (p: IngestProgress) => void,
  ): Promise<{ versionId: string; manifest: DatasetManifest }>;
  versions(dataset?: string): Promise<VersionSummary[]>;
  show(versionId: string): Promise<{ manifest: DatasetManifest; manifestSha256: string }>;
  diff(from: string, to: string): Promise<VersionDiff>;
  exportTo(versionId: string, out: Writable): Promise<void>;
  lineage(versionId: string): Promise<LineageGraph>;
  erase(subjectId: string): Promise<ErasureResult>;
  close(): Promise<void>;
}

const SUBCOMMANDS = [
  'sample',
  'steps',
  'ingest',
  'versions',
  'show',
  'diff',
  'export',
  'lineage',
  'erase',
] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

const CONNECTION = {
  url: { type: 'string' },
  key: { type: 'string' },
  local: { type: 'boolean' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS = {
  sample: {
    profile: { type: 'string' },
    rows: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  steps: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  ingest: {
    ...CONNECTION,
    input: { type: 'string' },
    profile: { type: 'string' },
    steps: { type: 'string' },
    config: { type: 'string' },
    dataset: { type: 'string' },
    'request-id': { type: 'string' },
    strict: { type: 'boolean' },
    'from-feedback': { type: 'boolean' },
  },
  versions: { ...CONNECTION, dataset: { type: 'string' } },
  show: CONNECTION,
  diff: CONNECTION,
  export: { ...CONNECTION, out: { type: 'string' } },
  lineage: CONNECTION,
  erase: { ...CONNECTION, subject: { type: 'string' } },
} as const;

const ARGS: Record<Subcommand, string[]> = {
  sample: [],
  steps: [],
  ingest: [],
  versions: [],
  show: ['VERSION'],
  diff: ['A', 'B'],
  export: ['VERSION'],
  lineage: ['VERSION'],
  erase: [],
};

export const DATA_HELP = `strata data: ingest, clean, deduplicate and version datasets

Usage: strata data <command> [options]

Commands:
  sample   --profile crm|erp|analytics --rows N [--seed S] --out DIR
                        write a realistic sample export with planted PII, duplicates, low-quality and toxic rows
  steps    [--json]     list the pipeline steps and their options
  ingest   --input PATH|s3://BUCKET/PREFIX --profile crm|erp|analytics|generic [--steps a,b,c] [--config FILE]
           [--dataset NAME] [--request-id UUID] [--strict]
                        run the pipeline into a new dataset version; ends with "version <id>"
  ingest   --from-feedback [--dataset feedback]
                        the server's rated generations and corrections (GET /feedback/export) as a dataset
                        version, each record naming the model version that answered
  versions [--dataset NAME]   list dataset versions
  show VERSION          a version's manifest: files, sources, pipeline and step reports
  diff A B              rows added, removed and changed from version A to B
  export VERSION --out FILE.jsonl   one JSON object per kept record
  lineage VERSION       the graph from the sources to the version, and the models trained on it
  erase --subject ID    write new versions without a data subject's records; schedule the old ones for deletion

Where commands run:
  by default            on the server at --url / $STRATA_URL (default ${DEFAULT_URL}) with --key / $STRATA_KEY;
                        local input files are uploaded to the server's lake first, s3:// inputs are passed as they are
  --local               in this process, over --data-dir DIR (default .strata/data), which no server may hold
  --json                print JSON instead of text
`;

/** `strata data …`: parses, runs and reports; resolves with the exit code. */
export async function runDataCli(
  argv: readonly string[],
  env: DataCliEnvironment,
  io: DataCliIo,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(DATA_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (!SUBCOMMANDS.includes(sub as Subcommand)) {
    throw new UsageError(`unknown command "data ${sub}"; "data" has ${SUBCOMMANDS.join(', ')}`, 'data');
  }
  const name = sub as Subcommand;
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...rest],
      options: OPTIONS[name],
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ''), `data ${name}`);
  }
  const { positionals } = parsed;
  let { values } = parsed;
  if (values['help']) {
    io.stdout.write(DATA_HELP);
    return 0;
  }
  const expected = ARGS[name];
  if (positionals.length > expected.length)
    throw new UsageError(`unexpected argument "${positionals[expected.length]}"`, `data ${name}`);
  if (positionals.length < expected.length)
    throw new UsageError(`"data ${name}" needs ${expected[positionals.length]}`, `data ${name}`);
  const str = (option: string) => values[option] as string | undefined;
  const json = values['json'] === true;
  const print = (value: unknown, text: () => string) =>
    io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text());

  if (name === 'sample') return sample(values, io);
  if (name === 'steps') {
    const { STEPS } = await import('@strata/data');
    const list = Object.values(STEPS).map((s) => ({
      name: s.name,
      kind: s.kind,
      summary: s.summary,
      options: s.optionHelp,
    }));
    print({ steps: list }, () =>
      list
        .map(
          (s) =>
            `${s.name}  ${s.summary}\n${Object.entries(s.options)
              .map(([o, h]) => `    ${o}: ${h}`)
              .join('\n')}\n`,
        )
        .join('\n'),
    );
    return 0;
  }

  let request: IngestRequest | undefined;
  if (name === 'ingest' && values['from-feedback'] === true) {
    // Rated prompt/answer pairs and corrections from the server become the input of a feedback dataset.
    const { file, examples } = await feedbackInput(values, env);
    io.stderr.write(`${examples} rated generation(s) from the server's feedback → ${file}\n`);
    values = { profile: 'generic', dataset: 'feedback', ...values, input: file };
  }
  if (name === 'ingest') request = await ingestRequest(values);
  if (name === 'erase' && !str('subject'))
    throw new UsageError('"data erase" needs --subject ID', 'data erase');
  if (name === 'export' && !str('out'))
    throw new UsageError('"data export" needs --out FILE.jsonl', 'data export');

  const backend =
    values['local'] === true
      ? await localBackend(str('data-dir') ?? '.strata/data', env)
      : remoteBackend(values, env, io);
  try {
    switch (name) {
      case 'ingest': {
        const bar = new ProgressBar(io.stderr);
        const result = await backend.ingest(request!, (p) => bar.update(p));
        bar.finish();
        if (json) print({ versionId: result.versionId, manifest: result.manifest }, () => '');
        else {
          io.stdout.write(formatReports(result.manifest));
          io.stdout.write(`version ${result.versionId}\n`);
        }
        return 0;
      }
      case 'versions': {
        const versions = await backend.versions(str('dataset'));
        print({ versions }, () =>
          versions.length === 0
            ? 'no dataset versions yet\n'
            : `VERSION                DATASET         SEQ  ROWS      CREATED\n${versions
                .map(
                  (v) =>
                    `${v.versionId}  ${v.dataset.padEnd(14)}  ${String(v.sequence).padEnd(3)}  ${String(v.rows).padEnd(8)}  ${v.createdAt}`,
                )
                .join('\n')}\n`,
        );
        return 0;
      }
      case 'show': {
        const shown = await backend.show(positionals[0]!);
        const m = shown.manifest;
        print(
          shown,
          () =>
            `version   ${positionals[0]}\ndataset   ${m.dataset} (sequence ${m.sequence})\nparents   ${m.parents.join(', ') || '(none)'}\n` +
            `created   ${m.createdAt}\ninput     ${m.input} (profile ${m.profile})\nrows      ${m.rows}  bytes ${m.bytes}\nmanifest  sha256 ${shown.manifestSha256}\n` +
            `sources\n${m.sources.map((s) => `  ${s.name}  ${s.bytes} bytes  sha256 ${s.sha256}`).join('\n')}\n` +
            `files\n${m.files.map((f) => `  ${f.key}  ${f.rows} rows  ${f.bytes} bytes`).join('\n')}\n` +
            (m.erasure
              ? `erasure   subject sha256 ${m.erasure.subjectSha256}, ${m.erasure.rowsRemoved} rows removed from ${m.erasure.erasedFrom}\n`
              : '') +
            formatReports(m),
        );
        return 0;
      }
      case 'diff': {
        const diff = await backend.diff(positionals[0]!, positionals[1]!);
        print(
          diff,
          () =>
            `${diff.from} -> ${diff.to}\nadded ${diff.added}  removed ${diff.removed}  changed ${diff.changed}  unchanged ${diff.unchanged}\n` +
            `rows ${diff.stats.from.rows} -> ${diff.stats.to.rows}  bytes ${diff.stats.from.bytes} -> ${diff.stats.to.bytes}\n` +
            (['added', 'removed', 'changed'] as const)
              .filter((k) => diff.examples[k].length > 0)
              .map(
                (k) =>
                  `${k}: ${diff.examples[k].join(', ')}${diff[k] > diff.examples[k].length ? ', …' : ''}\n`,
              )
              .join(''),
        );
        return 0;
      }
      case 'export': {
        const out = str('out')!;
        const tmp = `${out}.${process.pid}.tmp`;
        const file = createWriteStream(tmp, { mode: 0o600 });
        await backend.exportTo(positionals[0]!, file);
        await new Promise<void>((resolve, reject) =>
          file.end((e?: Error | null) => (e ? reject(e) : resolve())),
        );
        const { rename } = await import('node:fs/promises');
        await rename(tmp, out);
        if (!json) io.stderr.write(`wrote ${out}\n`);
        return 0;
      }
      case 'lineage': {
        const graph = await backend.lineage(positionals[0]!);
        print(graph, () => formatLineage(graph));
        return 0;
      }
      case 'erase': {
        const result = await backend.erase(str('subject')!);
        print(result, () =>
          result.versions.length === 0
            ? 'no current dataset version holds records of this subject\n'
            : result.versions
                .map((v) => `${v.dataset}: ${v.from} -> ${v.to} (${v.rowsRemoved} rows removed)`)
                .join('\n') +
              `\nscheduled for deletion: ${result.scheduled.map((s) => `${s.versionId} after ${s.deleteAfter}`).join(', ')}\n`,
        );
        return 0;
      }
      default:
        return 2;
    }
  } finally {
    await backend.close();
  }
}

async function sample(values: Record<string, string | boolean | undefined>, io: DataCliIo): Promise<number> {
  const profile = values['profile'];
  if (profile !== 'crm' && profile !== 'erp' && profile !== 'analytics') {
    throw new UsageError('"data sample" needs --profile crm, erp or analytics', 'data sample');
  }
  const out = values['out'];
  if (typeof out !== 'string') throw new UsageError('"data sample" needs --out DIR', 'data sample');
  const rows = integer('--rows', values['rows'] ?? '1000', 'data sample');
  const seed = integer('--seed', values['seed'] ?? '1', 'data sample');
  const { writeSample } = await import('@strata/data');
  const truth = await writeSample({ profile, rows, seed, out });
  io.stdout.write(
    `${Object.entries(truth.rows)
      .map(([f, n]) => `${path.join(out, f)}  ${n} rows`)
      .join('\n')}\n` +
      `planted: ${truth.exactDuplicates.length} exact duplicates, ${truth.nearDuplicates.length} near duplicates, ` +
      `${truth.pii.length} rows with PII, ${truth.lowQuality.length} low-quality rows, ${truth.toxic.length} toxic rows ` +
      `(ground truth in ${path.join(out, '_planted.json')})\n`,
  );
  return 0;
}

function integer(flag: string, value: string | boolean, command: string): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) {
    throw new UsageError(`${flag} must be a whole number, got "${String(value)}"`, command);
  }
  return Number(value);
}

/** The ingest request from the flags, over a `--config` file's values. */
async function ingestRequest(values: Record<string, string | boolean | undefined>): Promise<IngestRequest> {
  let config: Record<string, unknown> = {};
  const configFile = values['config'];
  if (typeof configFile === 'string') {
    let text: string;
    try {
      text = await readFile(configFile, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read --config ${configFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        'data ingest',
      );
    }
    try {
      config = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--config ${configFile} is not JSON: ${(error as Error).message}`, 'data ingest');
    }
    if (!config || typeof config !== 'object' || Array.isArray(config))
      throw new UsageError(`--config ${configFile} must hold a JSON object`, 'data ingest');
  }
  const request: Record<string, unknown> = { ...config };
  const flag = (option: string, field: string) => {
    if (typeof values[option] === 'string') request[field] = values[option];
  };
  flag('input', 'input');
  flag('profile', 'profile');
  flag('dataset', 'dataset');
  flag('request-id', 'requestId');
  if (typeof values['steps'] === 'string')
    request['steps'] = values['steps']
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (values['strict'] === true) request['strict'] = true;
  if (typeof request['input'] !== 'string')
    throw new UsageError('"data ingest" needs --input PATH or s3://BUCKET/PREFIX', 'data ingest');
  if (typeof request['profile'] !== 'string')
    throw new UsageError('"data ingest" needs --profile crm, erp, analytics or generic', 'data ingest');
  if (request['requestId'] === undefined) request['requestId'] = randomUUID();
  const { parseIngestRequest } = await import('@strata/data');
  try {
    parseIngestRequest(request);
  } catch (error) {
    throw new UsageError((error as Error).message, 'data ingest');
  }
  return request as IngestRequest;
}

function formatReports(m: DatasetManifest): string {
  const read = m.reports.read;
  const errors = Object.entries(read.errors);
  const lines = [
    `read      ${read.records} records${errors.length ? `; errors: ${errors.map(([c, n]) => `${c} ${n}`).join(', ')}` : ''}`,
  ];
  for (const example of read.examples.slice(0, 5)) lines.push(`          ${example.message}`);
  for (const s of m.reports.steps) {
    const dropped = Object.entries(s.dropped)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    const tally = Object.entries(s.tally)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    lines.push(
      `${s.step.padEnd(13)} in ${s.in}  out ${s.out}${s.changed ? `  changed ${s.changed}` : ''}${dropped ? `  dropped: ${dropped}` : ''}${tally ? `  (${tally})` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function formatLineage(graph: LineageGraph): string {
  const lines = ['sources'];
  for (const s of graph.sources) lines.push(`  ${s.name}  sha256 ${s.sha256.slice(0, 16)}…`);
  for (const step of graph.chain) {
    lines.push(`  └─ ${step.job}${step.erasure ? ' (erasure)' : ''}  inputs: ${step.inputs.join(', ')}`);
    lines.push(`     ${step.versionId}`);
  }
  lines.push(
    graph.models.length === 0
      ? 'models trained on it: none yet'
      : `models trained on it:\n${graph.models.map((m) => `  ${m}`).join('\n')}`,
  );
  return `${lines.join('\n')}\n`;
}

function remoteBackend(
  values: Record<string, string | boolean | undefined>,
  env: DataCliEnvironment,
  io: DataCliIo,
): DataBackend {
  const url = (values['url'] as string | undefined) ?? env.STRATA_URL ?? DEFAULT_URL;
  const apiKey = (values['key'] as string | undefined) ?? env.STRATA_KEY;
  if (!apiKey) throw new UsageError('no API key: pass --key or set STRATA_KEY (or use --local)', 'data');
  const client = new DataClient({ url, apiKey, ...(io.signal ? { signal: io.signal } : {}) });
  return {
    async ingest(request, onProgress) {
      let input = request.input;
      if (!/^(s3:\/\/|lake:)/.test(input)) input = await uploadInput(client, input);
      const accepted = await client.requestIngest({ ...request, input });
      const started = Date.now();
      let status = accepted;
      while (status.status === 'pending') {
        onProgress({ stage: 'plan', done: 0, total: 1, records: 0, inputBytes: 0 });
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(2000, 200 + (Date.now() - started) / 10)),
        );
        status = await client.ingestStatus(accepted.requestId);
      }
      if (status.status === 'failed')
        throw new Error(`ingest ${accepted.requestId} failed: ${status.message}`);
      const shown = await client.show(status.versionId);
      return { versionId: status.versionId, manifest: shown.manifest };
    },
    versions: async (dataset) =>
      (await client.versions()).filter((v) => dataset === undefined || v.dataset === dataset),
    show: (v) => client.show(v),
    diff: (a, b) => client.diff(a, b),
    async exportTo(v, out) {
      for await (const chunk of await client.export(v)) {
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
    },
    lineage: (v) => client.lineage(v),
    erase: (s) => client.erase(s),
    close: async () => undefined,
  };
}

/** Uploads a local file, or every file of a folder, to the server's lake; resolves with the `lake:` input. */
async function uploadInput(client: DataClient, input: string): Promise<string> {
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new Error(`input ${input} does not exist`);
  const uploadId = randomUUID();
  if (info.isFile()) return client.upload(uploadId, path.basename(input), input);
  const entries = await readdir(input, { recursive: true, withFileTypes: true });
  let prefix: string | undefined;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const name = path.relative(input, full).split(path.sep).join('/');
    if (name.split('/').some((part) => part.startsWith('.') || part.startsWith('_'))) continue;
    const key = await client.upload(uploadId, name, full);
    prefix ??= key.slice(0, key.length - name.length - 1);
  }
  if (!prefix) throw new Error(`input folder ${input} has no files`);
  return prefix;
}

/** Runs the data layer in this process over a data directory, with governance's audit log in its database. */
async function localBackend(dataDir: string, env: DataCliEnvironment): Promise<DataBackend> {
  const platform = await import('@strata/platform');
  const data = await import('@strata/data');
  const governance = await import('@strata/governance');
  const { createPrivateKey } = await import('node:crypto');
  const { existsSync, readFileSync } = await import('node:fs');
  const root = path.resolve(dataDir);
  let lock: { release(): void };
  try {
    lock = platform.acquireDataDirLock(root);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; drop --local to ask that server, or pass another --data-dir`,
    );
  }
  const resources: (() => Promise<void>)[] = [async () => lock.release()];
  try {
    const store = new platform.LocalObjectStore({ root: path.join(root, 'lake') });
    const resolveInput = (uri: string) => {
      if (uri.startsWith('lake:')) return { store, prefix: uri.slice('lake:'.length) };
      const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
      if (!match) return undefined;
      return {
        store: platform.createObjectStore({
          OBJECT_STORE_URL: `s3://${match[1]}`,
          S3_REGION: env.S3_REGION ?? 'us-east-1',
          S3_FORCE_PATH_STYLE: env.S3_FORCE_PATH_STYLE === 'true',
          ...(env.S3_ENDPOINT ? { S3_ENDPOINT: env.S3_ENDPOINT } : {}),
        }),
        prefix: match[2] ?? '',
      };
    };
    const lake = new data.DatasetLake({
      store,
      namespace: `file://${path.join(root, 'lake')}`,
      resolveInput,
    });
    // The audit log lives in the data directory's database; opening it costs seconds, so only writes and
    // exports (the actions that are audited) open it.
    let opened: Promise<Awaited<ReturnType<typeof platform.openDatabase>>> | undefined;
    const openDb = () => {
      opened ??= platform.openDatabase(`pglite:${path.join(root, 'db')}`).then((database) => {
        resources.unshift(() => database.close());
        return database;
      });
      return opened;
    };
    let audit: InstanceType<typeof governance.AuditLog> | undefined;
    const auditLog = async () => {
      if (audit) return audit;
      const database = await openDb();
      await platform.migrate(database, platform.PLATFORM_MIGRATIONS);
      await platform.migrate(database, governance.GOVERNANCE_MIGRATIONS);
      const keyFile = path.join(root, 'audit-signing-key.pem');
      const log = new governance.AuditLog(
        database,
        existsSync(keyFile) ? { signingKey: createPrivateKey(readFileSync(keyFile)) } : {},
      );
      resources.unshift(() => log.drain());
      audit = log;
      return log;
    };
    // A standalone server keeps its model registry in the data directory's database: the models trained on a
    // version are the registry's to tell (the data layer below it cannot ask), so lineage reads them there.
    const registeredModelsTrainedOn = async (versionId: string): Promise<string[]> => {
      if (!existsSync(path.join(root, 'db'))) return [];
      const database = await openDb();
      const { rows } = await database.query<{ present: boolean }>(
        `select to_regclass('model_versions') is not null as present`,
      );
      if (!rows[0]?.present) return [];
      const model = await import('@strata/model');
      const versions = await new model.ModelRegistry(database).versionsTrainedOn(versionId);
      return versions.map(model.modelVersionUri);
    };
    const record = async (action: string, details: Record<string, unknown>) => {
      await (
        await auditLog()
      ).append({
        recordClass: 'admin',
        action,
        outcome: 'allowed',
        keyId: null,
        tenant: 'local',
        details: { ...details, via: 'strata --local' },
      });
    };
    return {
      async ingest(request, onProgress) {
        const input = /^(s3:\/\/|lake:)/.test(request.input) ? request.input : path.resolve(request.input);
        const result = await data.ingest(
          lake,
          { ...request, input, requestedBy: `local:${userInfo().username}` },
          { onProgress },
        );
        await record('data.ingest', {
          request_id: request.requestId,
          version_id: result.versionId,
          rows: result.manifest.rows,
          input: request.input,
        });
        return result;
      },
      versions: (dataset) => lake.versions(dataset),
      async show(v) {
        const shown = await lake.manifest(v);
        return shown;
      },
      diff: (a, b) => data.diffVersions(lake, a, b),
      async exportTo(v, out) {
        const rows = await data.exportVersion(lake, v, out);
        await record('data.export', { version_id: v, rows });
      },
      async lineage(v) {
        const graph = await data.lineageOf(lake, v);
        const registered = await registeredModelsTrainedOn(v);
        return { ...graph, models: [...new Set([...graph.models, ...registered])] };
      },
      async erase(subjectId) {
        const result = await data.eraseSubject(lake, subjectId);
        await (
          await auditLog()
        ).append({
          recordClass: 'erasure',
          action: 'data.erase',
          outcome: 'allowed',
          keyId: null,
          tenant: 'local',
          details: {
            subject_sha256: result.subjectSha256,
            versions: result.versions,
            scheduled: result.scheduled.map((s) => s.versionId),
            via: 'strata --local',
          },
        });
        return result;
      },
      async close() {
        for (const close of resources.splice(0)) await close();
      },
    };
  } catch (error) {
    for (const close of resources.splice(0)) await close().catch(() => undefined);
    throw error;
  }
}

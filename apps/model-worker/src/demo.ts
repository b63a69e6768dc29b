import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  GENERATION_API_OPTIONS,
  ModelWorker,
  modelWorkerEnvSchema,
  startGenerationService,
  type GenerationApiOptions,
  type RunningGenerationService,
} from '@strata/application';
import { writeSample } from '@strata/data';
import { STARTER_SHAPE } from '@strata/model';
import { loadConfig, type Environment } from '@strata/platform';

export interface DemoOptions {
  /** Local state of the demo (database, lake, models). */
  dataDir: string;
  /** Where the starter model is (built on first use). */
  modelDir: string;
  /** Prints one step. */
  print: (line: string) => void;
  /** Optimizer steps of the fine-tune. */
  trainSteps?: number;
  /** Sample rows per file. */
  rows?: number;
}

/** What the demo did, for the test that runs the same loop. */
export interface DemoResult {
  datasetVersion: string;
  modelVersion: number;
  servedModel: string;
  generationId: string;
  auditRecordId: string;
  feedbackDatasetVersion: string;
  lineage: string[];
}

/**
 * The whole operating loop on the standalone's embedded defaults (PGlite, in-process events, local lake), in one
 * process: sample CRM data → ingest → dataset version → fine-tune → evaluate → register → gate → promote → hot
 * swap → generate through the API (audited) → feedback → feedback dataset → lineage from source file to served
 * model. Every step goes through the same HTTP routes, events and workers a deployment uses.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const say = (step: string, text: string) =>
    options.print(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${step.padEnd(16)} ${text}`);
  const adminKey = `sk-strata-demo-${randomBytes(24).toString('hex')}`;
  const env: Environment = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    MODEL_FALLBACK: 'starter',
    MODEL_OFFLINE: 'true',
    MODEL_CACHE_DIR: options.modelDir,
    STRATA_DATA_DIR: options.dataDir,
    STRATA_ADMIN_KEY: adminKey,
    METRICS_PUBLIC: 'true',
    MODEL_ID: STARTER_SHAPE.modelId,
    MODEL_REGISTRY_NAME: 'strata-assistant',
  };
  say('start', 'standalone platform on embedded defaults (PGlite, in-process events, local lake)');
  const service: RunningGenerationService = await startGenerationService({ service: 'standalone', env });
  const options_ = service.app.get<GenerationApiOptions>(GENERATION_API_OPTIONS);
  const { lifecycle } = options_.model!;
  const workerConfig = loadConfig(modelWorkerEnvSchema, {
    TRAINER: 'lora',
    TRAIN_DATASETS: 'crm',
    TRAIN_MAX_STEPS: String(options.trainSteps ?? 20),
    TRAIN_BATCH_SIZE: '4',
    TRAIN_SEQUENCE_LENGTH: '64',
    TRAIN_LEARNING_RATE: '0.003',
  });
  let trained: (() => void) | undefined;
  const training = new Promise<void>((resolve) => (trained = resolve));
  const worker = new ModelWorker({
    bus: service.runtime.bus,
    lake: options_.data!.lake,
    lifecycle,
    logger: options_.logger,
    config: workerConfig,
    workDir: path.join(options.dataDir, 'training'),
    onStep: (step, detail) => say(step, detail ? JSON.stringify(detail) : ''),
    onOutcome: (outcome) => {
      say('outcome', `version ${outcome.version.version}: ${outcome.promoted ? 'promoted' : 'kept out'}`);
      if (outcome.table) options.print(indent(outcome.table));
      trained?.();
    },
  });
  await worker.start();
  const http = client(service.url, adminKey);
  try {
    say('served', `${await served(service.url)} (before the loop)`);
    const exportDir = path.join(options.dataDir, 'exports', 'crm');
    await mkdir(exportDir, { recursive: true });
    const truth = await writeSample({ profile: 'crm', rows: options.rows ?? 120, seed: 7, out: exportDir });
    const files = (await readdir(exportDir)).filter((f) => !f.startsWith('_'));
    say(
      'sample data',
      `CRM export with ${Object.values(truth.rows).reduce((a, b) => a + b, 0)} rows: ${files.join(', ')}`,
    );

    const uploadId = randomUUID();
    for (const file of files) {
      await http.upload(uploadId, file, await readFile(path.join(exportDir, file)));
    }
    say('ingest', 'POST /data/ingests: crm profile (clean, redact PII, deduplicate) → data.ingest.requested');
    const ingest = (await http.json('POST', '/data/ingests', {
      input: `lake:uploads/${uploadId}`,
      profile: 'crm',
      dataset: 'crm',
    })) as { requestId: string };
    const datasetVersion = await waitForIngest(http, ingest.requestId);
    say('ingested', `request ${ingest.requestId} is done: crm ${datasetVersion}`);

    await training;
    const champion = await lifecycle.registry.getVersionByAlias('strata-assistant', 'champion');
    if (!champion) throw new Error('the gate kept the candidate out, so nothing was promoted');
    const servedId = `strata-assistant/v${champion.version}`;
    await until(async () => (await served(service.url)) === servedId, 'the hot swap');
    say('hot swap', `every replica now serves ${servedId}; the starter model drained and was released`);

    const appKey = (
      (await http.json('POST', '/admin/keys', {
        tenant: 'support',
        name: 'ticket-bot',
        roles: ['app'],
      })) as { api_key: string }
    ).api_key;
    const app = client(service.url, appKey);
    const generated = await app.raw('POST', '/generate', {
      inputs: 'Customer asks: where is my refund?',
      parameters: { max_new_tokens: 16 },
    });
    const generationId = generated.headers.get('x-strata-generation-id')!;
    const text = ((await generated.json()) as { generated_text: string }).generated_text;
    say('generate', `${servedId} answered ${JSON.stringify(text.slice(0, 60))} (generation ${generationId})`);
    const audit = (await http.json(
      'GET',
      `/audit/records?model=${encodeURIComponent(servedId)}&record_class=generation`,
    )) as {
      records: { id: string; details: { generation_id?: string } }[];
    };
    const record = audit.records.find((r) => r.details.generation_id === generationId);
    if (!record) throw new Error('the generation has no audit record');
    say('audit', `record ${record.id} names model ${servedId} and generation ${generationId}`);

    await app.json('POST', '/feedback', {
      generation_id: generationId,
      rating: 2,
      correction: 'Your refund was issued today; it reaches your account in 3-5 business days.',
      comment: 'vague answer',
    });
    say(
      'feedback',
      'rated 2/5 with a correction (stored encrypted for the data subject, model.feedback.recorded v2)',
    );

    const exported = await http.text('GET', '/feedback/export');
    const examples = exported
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(
        (line) =>
          JSON.parse(line) as {
            feedback_id: string;
            prompt: string;
            answer: string;
            correction: string | null;
            model: { name: string; version: string };
            rating: string;
          },
      );
    const feedbackFile = examples
      .map((e) =>
        JSON.stringify({
          id: e.feedback_id,
          text: `${e.prompt}\n${e.correction ?? e.answer}`,
          model: `${e.model.name}/v${e.model.version}`,
          rating: e.rating,
        }),
      )
      .join('\n');
    const feedbackUpload = randomUUID();
    const fileName = `feedback-${servedId.replace('/', '-')}.jsonl`;
    await http.upload(feedbackUpload, fileName, Buffer.from(`${feedbackFile}\n`));
    const feedbackIngest = (await http.json('POST', '/data/ingests', {
      input: `lake:uploads/${feedbackUpload}`,
      profile: 'generic',
      dataset: 'feedback',
    })) as { requestId: string };
    const feedbackDatasetVersion = await waitForIngest(http, feedbackIngest.requestId);
    say(
      'feedback data',
      `feedback ${feedbackDatasetVersion}: ${examples.length} rated pair(s) from ${servedId} (${fileName})`,
    );

    const lineage = (await http.json('GET', `/data/versions/${datasetVersion}/lineage`)) as {
      sources: { name: string; sha256: string }[];
    };
    const chain = [
      ...lineage.sources.map((s) => `source ${s.name} (sha256 ${s.sha256.slice(0, 12)}…)`),
      `dataset crm ${datasetVersion}`,
      `model strata-assistant v${champion.version} (trained on crm #${champion.trainedOn[0]?.version}, run ${champion.runId})`,
      `served as ${servedId} (alias @champion)`,
      `generation ${generationId} (audit record ${record.id})`,
      `feedback dataset ${feedbackDatasetVersion} (${fileName})`,
    ];
    say('lineage', '');
    for (const link of chain) options.print(`    → ${link}`);
    return {
      datasetVersion,
      modelVersion: champion.version,
      servedModel: servedId,
      generationId,
      auditRecordId: record.id,
      feedbackDatasetVersion,
      lineage: chain,
    };
  } finally {
    await worker.close();
    await service.close();
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

async function served(url: string): Promise<string> {
  return ((await (await fetch(`${url}/`)).json()) as { model: string }).model;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function waitForIngest(http: ReturnType<typeof client>, requestId: string): Promise<string> {
  let versionId = '';
  await until(async () => {
    const status = (await http.json('GET', `/data/ingests/${requestId}`)) as {
      status: string;
      versionId?: string;
      message?: string;
    };
    if (status.status === 'failed') throw new Error(`ingest ${requestId} failed: ${status.message}`);
    versionId = status.versionId ?? '';
    return status.status === 'done';
  }, `ingest ${requestId}`);
  return versionId;
}

function client(url: string, key: string) {
  const raw = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${route}: HTTP ${response.status} ${await response.text()}`);
    return response;
  };
  return {
    raw,
    json: async (method: string, route: string, body?: unknown) => (await raw(method, route, body)).json(),
    text: async (method: string, route: string) => (await raw(method, route)).text(),
    upload: async (uploadId: string, name: string, bytes: Buffer) => {
      const response = await fetch(`${url}/data/uploads/${uploadId}?name=${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      if (!response.ok) throw new Error(`upload ${name}: HTTP ${response.status} ${await response.text()}`);
    },
  };
}

import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LineageDataset } from '@strata/contracts';
import type { Logger } from '@strata/platform';
import { applyPromotionGate, type PromotionGate } from '../evaluation/promotion-gate';
import { comparisonTable } from '../evaluation/comparison-table';
import {
  evaluateModel,
  EVALUATION_PROMPTS,
  REFERENCE_TEXTS,
  type EvaluationMetrics,
} from '../evaluation/model-evaluator';
import { loadModel, type LoadedModel } from '../model-loader';
import { TextGenerator } from '../text-generator';
import { finetune, type TrainingConfig } from '../trainer';
import { publishArtifacts } from './model-artifacts';
import type { ModelLifecycle } from './model-lifecycle';
import type { ModelVersion, RegistryActor } from './model-registry';

/** A dataset version to train on, as the data layer published it. */
export interface TrainingDataset {
  dataset: LineageDataset;
  /** The data layer's dataset name, for retraining on its newest version later. */
  datasetName: string;
  /** The data layer's version id (`v…`) and its sequence number. */
  versionId: string;
  sequence: number;
  texts: readonly string[];
}

/**
 * What turns training texts into a servable model folder. `lora` is the trainer (LoRA on ONNX Runtime, merged
 * into the base weights); `noop` registers the base model unchanged, for machines where training is not wanted.
 */
export type TrainerKind = 'lora' | 'noop';

export interface TrainingPipelineOptions {
  lifecycle: ModelLifecycle;
  actor: RegistryActor;
  logger: Logger;
  /** The base model folder id under MODEL_CACHE_DIR (the starter model by default). */
  baseModelId: string;
  trainer: TrainerKind;
  training?: Partial<TrainingConfig>;
  gate: PromotionGate;
  /** True when governance's output guardrails would flag the text. */
  flags: (text: string) => boolean;
  /** Scratch space for training runs. */
  workDir: string;
  /** Told of each step as it happens (the demo prints them). */
  onStep?: (step: string, detail?: Record<string, unknown>) => void;
}

export interface TrainingOutcome {
  version: ModelVersion;
  promoted: boolean;
  reasons: string[];
  table: string;
  /** Set when the dataset version was already trained on: nothing was done again. */
  skipped?: boolean;
}

/** Tag that ties a registered version to the dataset version it was trained on; makes retries idempotent. */
export const DATASET_VERSION_TAG = 'strata.dataset_version';

/**
 * The closed loop's training use case: fine-tune on a dataset version, evaluate the candidate and the champion
 * on the same held-out split, register the candidate with its metrics and lineage, and apply the promotion gate.
 *
 * Crash safety: the version row commits in one transaction after training and evaluation, so a crash leaves no
 * half-registered version, and the triggering event is redelivered; a dataset version that already has a
 * registered version is not trained again. Training restarts from scratch in a fresh run folder.
 */
export async function runTrainingPipeline(
  options: TrainingPipelineOptions,
  data: TrainingDataset,
): Promise<TrainingOutcome> {
  const { lifecycle, actor, logger } = options;
  const { registry, tracker, config } = lifecycle;
  const name = config.MODEL_REGISTRY_NAME;
  const alias = options.gate.alias;
  const step = options.onStep ?? (() => undefined);

  const existing = (await registry.listVersions(name).catch(() => [])).find(
    (v) => v.tags[DATASET_VERSION_TAG] === data.versionId,
  );
  if (existing) {
    step('skip', { reason: `version ${existing.version} was already trained on ${data.versionId}` });
    return { version: existing, promoted: false, reasons: ['already trained'], table: '', skipped: true };
  }
  const texts = data.texts.filter((t) => t.trim().length > 0);
  if (texts.length < 2)
    throw new Error(`dataset ${data.versionId} has ${texts.length} usable texts; need at least 2`);
  // A deterministic split: every tenth document is held out.
  const heldOut = texts.filter((_, i) => i % 10 === 9);
  const train = texts.filter((_, i) => i % 10 !== 9);
  if (heldOut.length === 0) heldOut.push(train.pop()!);

  const runId = await tracker.startRun(
    'strata-finetune',
    `${name}-${data.versionId}`,
    {
      trainer: options.trainer,
      base_model: options.baseModelId,
      dataset: data.dataset.name,
      dataset_version: data.versionId,
      train_documents: train.length,
      heldout_documents: heldOut.length,
      ...Object.fromEntries(Object.entries(options.training ?? {}).map(([k, v]) => [k, String(v)])),
    },
    { [DATASET_VERSION_TAG]: data.versionId },
  );
  const root = path.resolve(config.MODEL_CACHE_DIR);
  const runDir = path.join(path.resolve(options.workDir), runId);
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  try {
    step('fine-tune', { trainer: options.trainer, runId, documents: train.length });
    let modelDir = path.join(root, options.baseModelId);
    let adapter: { type: string; config?: Record<string, unknown> } = { type: 'none' };
    if (options.trainer === 'lora') {
      const result = await finetune({
        base: { modelDir, modelId: options.baseModelId },
        texts: train,
        evalTexts: heldOut,
        outputDir: runDir,
        mergedModelId: 'candidate',
        ...(options.training ? { training: options.training } : {}),
        onProgress: (p) => {
          void tracker.logMetrics(runId, { train_loss: p.loss, learning_rate: p.learningRate }, p.step);
        },
      });
      if (!result.mergedModelDir) throw new Error('the trainer wrote no merged model');
      modelDir = result.mergedModelDir;
      adapter = { type: 'lora', config: { ...result.lora } as Record<string, unknown> };
      await tracker.logMetrics(runId, {
        eval_loss: result.metrics.evalLoss,
        base_eval_loss: result.metrics.baseEvalLoss,
      });
      step('trained', {
        steps: result.metrics.steps,
        baseEvalLoss: round(result.metrics.baseEvalLoss),
        evalLoss: round(result.metrics.evalLoss),
      });
    }

    step('evaluate', {
      heldOut: heldOut.length,
      reference: REFERENCE_TEXTS.length,
      prompts: EVALUATION_PROMPTS.length,
    });
    const sets = { heldOut, reference: REFERENCE_TEXTS, prompts: EVALUATION_PROMPTS };
    // transformers.js loads local models by ids of at most two segments: stage the candidate under one.
    const candidateFolder = `candidates/${runId}`;
    await cp(modelDir, path.join(root, candidateFolder), { recursive: true });
    const candidateMetrics = await evaluateLoaded(
      () =>
        loadModel(
          { ...config, MODEL_ID: candidateFolder, MODEL_OFFLINE: true, MODEL_FALLBACK: 'none' },
          logger,
        ),
      config,
      sets,
      options.flags,
    );
    await tracker.logMetrics(runId, candidateMetrics);
    const champion = await registry.getVersionByAlias(name, alias);
    const championMetrics = champion
      ? await evaluateLoaded(() => lifecycle.load(champion), config, sets, options.flags)
      : null;

    step('register', { model: name });
    const source = `models/${name}/runs/${runId}`;
    const checksums = await publishArtifacts(lifecycle.store, modelDir, source);
    const version = await registry.registerVersion(actor, {
      name,
      source,
      checksums,
      baseModel: options.baseModelId,
      adapter,
      trainedOn: [{ dataset: data.dataset, version: data.sequence }],
      metrics: candidateMetrics,
      tags: {
        [DATASET_VERSION_TAG]: data.versionId,
        'strata.dataset': data.datasetName,
        'strata.trainer': options.trainer,
      },
      runId,
    });
    await tracker.mirrorVersion(version);

    const table = comparisonTable(
      { label: `v${version.version} (candidate)`, metrics: candidateMetrics },
      champion && championMetrics
        ? { label: `v${champion.version} @${alias}`, metrics: championMetrics }
        : null,
    );
    const verdict = applyPromotionGate(options.gate, candidateMetrics, championMetrics);
    await registry.recordGate(actor, name, version.version, {
      passed: verdict.passed,
      against: { alias, version: champion?.version ?? null },
      reasons: verdict.reasons,
      decidedAt: new Date().toISOString(),
    });
    step('gate', { passed: verdict.passed, reasons: verdict.reasons });
    if (verdict.passed) {
      step('promote', { version: version.version, alias });
      await lifecycle.promote(
        actor,
        name,
        version.version,
        alias,
        `promotion gate passed against ${champion ? `version ${champion.version}` : 'no champion'}`,
        {
          metric: verdict.basis.metric,
          better: verdict.basis.better,
          candidate: Number.isFinite(verdict.basis.candidate) ? verdict.basis.candidate : 0,
          champion: verdict.basis.champion,
        },
      );
    }
    await tracker.endRun(runId, 'FINISHED');
    return {
      version: await registry.getVersion(name, version.version),
      promoted: verdict.passed,
      reasons: verdict.reasons,
      table,
    };
  } catch (error) {
    await tracker.endRun(runId, 'FAILED').catch(() => undefined);
    throw error;
  } finally {
    await rm(runDir, { recursive: true, force: true });
    await rm(path.join(root, 'candidates', runId), { recursive: true, force: true });
  }
}

async function evaluateLoaded(
  load: () => Promise<LoadedModel>,
  config: ModelLifecycle['config'],
  sets: Parameters<typeof evaluateModel>[1],
  flags: (text: string) => boolean,
): Promise<EvaluationMetrics> {
  const loaded = await load();
  const generator = new TextGenerator(loaded, config);
  try {
    return await evaluateModel(generator, sets, { flags, maxNewTokens: 12 });
  } finally {
    await generator.drain();
    await loaded.model.dispose();
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

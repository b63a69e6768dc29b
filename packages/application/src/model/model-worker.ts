import path from 'node:path';
import { z } from 'zod';
import { TOPICS, type DatasetPublishedV2, type DriftDetectedV1 } from '@strata/contracts';
import type { DatasetLake } from '@strata/data';
import { compileGuardrailPolicy, DEFAULT_GUARDRAIL_POLICY, parseGuardrailPolicy } from '@strata/governance';
import {
  DEFAULT_PROMOTION_GATE,
  PromotionGateSchema,
  runTrainingPipeline,
  STARTER_SHAPE,
  type ModelLifecycle,
  type RegistryActor,
  type TrainingOutcome,
  type TrainingPipelineOptions,
} from '@strata/model';
import { env, type EventBus, type Logger, type Subscription } from '@strata/platform';
import type { ModelEvaluationMetrics } from './model-evaluation-metrics';

/** The model worker's training policy and trainer settings, from the environment. */
export const modelWorkerEnvShape = {
  /** Datasets whose new versions trigger a training run: comma-separated names, or `*` for every dataset. */
  TRAIN_DATASETS: env.string().default('*'),
  /** Drift severity that triggers retraining on the newest version of the champion's dataset, or `off`. */
  TRAIN_ON_DRIFT: env.enum(['off', 'warning', 'critical'] as const).default('critical'),
  /** `lora` trains with Strata's trainer; `noop` registers the base model unchanged. */
  TRAINER: env.enum(['lora', 'noop'] as const).default('lora'),
  /** Optimizer steps per training run. */
  TRAIN_MAX_STEPS: env.int(1, 1_000_000).default(30),
  TRAIN_BATCH_SIZE: env.int(1, 1024).default(4),
  TRAIN_SEQUENCE_LENGTH: env.int(8, 4096).default(64),
  /** Peak learning rate of AdamW (warmup, then cosine decay). */
  TRAIN_LEARNING_RATE: z.coerce.number().gt(0).max(1).default(2e-4),
  /** The base model folder under MODEL_CACHE_DIR that runs fine-tune (the starter model by default). */
  TRAIN_BASE_MODEL: env.string().default(STARTER_SHAPE.modelId),
  /** The promotion gate as JSON (`{"alias": "champion", "rules": [...]}`); the default is documented. */
  PROMOTION_GATE: env
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return DEFAULT_PROMOTION_GATE;
      try {
        return PromotionGateSchema.parse(JSON.parse(text));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `must be a promotion gate as JSON: ${String(error)}` });
        return z.NEVER;
      }
    }),
};
export const modelWorkerEnvSchema = z.object(modelWorkerEnvShape);
export type ModelWorkerConfig = z.output<typeof modelWorkerEnvSchema>;

/** The principal the worker registers and promotes as. */
export const MODEL_WORKER_ACTOR: RegistryActor = {
  principal: 'service:model-worker',
  tenant: 'platform',
  allowed: new Set(['model.register', 'model.promote']),
};

export interface ModelWorkerOptions {
  bus: EventBus;
  lake: DatasetLake;
  lifecycle: ModelLifecycle;
  logger: Logger;
  config: ModelWorkerConfig;
  /** Scratch space for training runs. */
  workDir: string;
  onStep?: TrainingPipelineOptions['onStep'];
  /** Told of every finished run (the demo and tests wait on it). */
  onOutcome?: (outcome: TrainingOutcome) => void;
  /** Exports the evaluation metrics of registered versions (read from the registry at start, then per run). */
  evaluations?: ModelEvaluationMetrics;
}

/**
 * The closed loop's worker, kept thin: decode `data.dataset.published` (v2) and `model.drift.detected`, apply
 * the training policy, and run the training use case (fine-tune → evaluate → register → gate → promote). Runs
 * happen one at a time. A failed run throws, so the bus retries it and finally dead-letters the event.
 */
export class ModelWorker {
  private readonly subscriptions: Subscription[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pipeline: TrainingPipelineOptions;

  constructor(private readonly options: ModelWorkerOptions) {
    const guardrails = compileGuardrailPolicy(parseGuardrailPolicy(DEFAULT_GUARDRAIL_POLICY));
    const { config } = options;
    this.pipeline = {
      lifecycle: options.lifecycle,
      actor: MODEL_WORKER_ACTOR,
      logger: options.logger,
      baseModelId: config.TRAIN_BASE_MODEL,
      trainer: config.TRAINER,
      training: {
        maxSteps: config.TRAIN_MAX_STEPS,
        batchSize: config.TRAIN_BATCH_SIZE,
        sequenceLength: config.TRAIN_SEQUENCE_LENGTH,
        learningRate: config.TRAIN_LEARNING_RATE,
        warmupSteps: Math.min(5, config.TRAIN_MAX_STEPS),
      },
      gate: config.PROMOTION_GATE,
      flags: (text) => guardrails.apply(text, 'output').actions.length > 0,
      workDir: path.resolve(options.workDir),
      ...(options.onStep ? { onStep: options.onStep } : {}),
    };
  }

  async start(): Promise<void> {
    const { evaluations, lifecycle, logger } = this.options;
    if (evaluations) {
      // Metrics are not worth refusing to start over: a registry that cannot list leaves the gauge empty.
      const versions = await lifecycle.registry
        .listVersions(lifecycle.config.MODEL_REGISTRY_NAME)
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'could not read the registered versions’ evaluation metrics');
          return [];
        });
      evaluations.seed(versions);
    }
    this.subscriptions.push(
      await this.options.bus.subscribe(TOPICS.datasetPublishedV2, 'model-worker', async (event) => {
        await this.onDataset(event.data);
      }),
      await this.options.bus.subscribe(TOPICS.driftDetected, 'model-worker', async (event) => {
        await this.onDrift(event.data);
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
    await this.queue.catch(() => undefined);
  }

  /** Whether the policy trains on new versions of `dataset`. */
  trainsOn(dataset: string): boolean {
    const wanted = this.options.config.TRAIN_DATASETS.split(',').map((s) => s.trim());
    return wanted.includes('*') || wanted.includes(dataset);
  }

  onDataset(data: DatasetPublishedV2): Promise<TrainingOutcome | undefined> {
    if (!this.trainsOn(data.datasetName)) {
      this.options.logger.info({ dataset: data.datasetName }, 'no training policy matches this dataset');
      return Promise.resolve(undefined);
    }
    return this.run(data.datasetName, data.versionId);
  }

  async onDrift(data: DriftDetectedV1): Promise<TrainingOutcome | undefined> {
    const { config, lifecycle, logger } = this.options;
    const severities = { off: [], warning: ['warning', 'critical'], critical: ['critical'] }[
      config.TRAIN_ON_DRIFT
    ];
    if (
      data.model.name !== lifecycle.config.MODEL_REGISTRY_NAME ||
      !(severities as string[]).includes(data.severity)
    ) {
      return undefined;
    }
    const champion = await lifecycle.registry.getVersionByAlias(data.model.name, config.PROMOTION_GATE.alias);
    const dataset = champion?.tags['strata.dataset'];
    if (!dataset) {
      logger.warn(
        { monitor: data.monitor },
        'drift detected, but the served version names no dataset to retrain on',
      );
      return undefined;
    }
    const head = await this.options.lake.head(dataset);
    if (!head) return undefined;
    logger.warn(
      { monitor: data.monitor, value: data.value, dataset, version: head.versionId },
      'retraining on drift',
    );
    return this.run(dataset, head.versionId);
  }

  private run(datasetName: string, versionId: string): Promise<TrainingOutcome> {
    const next = this.queue.then(async () => {
      const { lake } = this.options;
      const { manifest } = await lake.manifest(versionId);
      const texts: string[] = [];
      for await (const document of lake.documents(versionId)) texts.push(document.text);
      this.options.onStep?.('dataset version', { dataset: datasetName, versionId, records: texts.length });
      const outcome = await runTrainingPipeline(this.pipeline, {
        dataset: { namespace: lake.namespace, name: datasetName },
        datasetName,
        versionId,
        sequence: manifest.sequence,
        texts,
      });
      if (!outcome.skipped) this.options.evaluations?.record(outcome.version);
      this.options.onOutcome?.(outcome);
      return outcome;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

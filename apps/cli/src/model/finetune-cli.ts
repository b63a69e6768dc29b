import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { FinetuneOptions, LoraTargetModule, TrainingConfig, TrainingProgress } from '@strata/model';
import { UsageError } from '../command-line';

export interface ModelCliIo {
  stdout: Writable;
  stderr: Writable;
  signal?: AbortSignal;
}

export const FINETUNE_HELP = `strata model finetune: fine-tune a model on a dataset version, on this machine

Usage: strata model finetune --dataset VERSION [options]

Data and model:
  --dataset VERSION        dataset version id in the lake (from "strata data ingest" / "data versions")
  --data-dir DIR           data directory whose lake holds the version (default .strata/data); no server
                           may hold it while the documents are read
  --base starter|DIR       base model: the bundled starter model (default) or a GPT-2 model folder
  --models-dir DIR         where the starter model is built (default .strata/models)
  --out DIR                output folder (default .strata/finetune/<dataset version>)
  --model-id ID            id of the merged model folder under <out>/merged (default strata/finetuned)

Method (PEFT LoRA by default):
  --method lora|full       LoRA adapters, or every weight (small models)
  --r N                    LoRA rank (default 8)
  --lora-alpha N           scaling alpha/r (default 16)
  --lora-dropout P         dropout on the adapter input (default 0.05)
  --target-modules LIST    comma-separated: c_attn (default), c_proj, c_fc

Training:
  --steps N  --batch-size N  --sequence-length N  --gradient-accumulation-steps N
  --learning-rate X  --warmup-steps N  --weight-decay X  --max-grad-norm X
  --eval-steps N  --save-steps N  --eval-fraction X  --seed N
  --resume-from DIR        continue from <out>/checkpoints/step-N (same data and config)
  --json                   print the result as JSON

Writes <out>/adapter (adapter_config.json + adapter_model.safetensors, PEFT format), <out>/merged/<model-id>
(a servable model folder: MODEL_CACHE_DIR=<out>/merged MODEL_ID=<model-id>) and <out>/finetune-run.json
(metrics and lineage: dataset version and manifest checksum, base model, adapter checksum).
`;

const OPTIONS = {
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  base: { type: 'string' },
  'models-dir': { type: 'string' },
  out: { type: 'string' },
  'model-id': { type: 'string' },
  method: { type: 'string' },
  r: { type: 'string' },
  'lora-alpha': { type: 'string' },
  'lora-dropout': { type: 'string' },
  'target-modules': { type: 'string' },
  steps: { type: 'string' },
  'batch-size': { type: 'string' },
  'sequence-length': { type: 'string' },
  'gradient-accumulation-steps': { type: 'string' },
  'learning-rate': { type: 'string' },
  'warmup-steps': { type: 'string' },
  'weight-decay': { type: 'string' },
  'max-grad-norm': { type: 'string' },
  'eval-steps': { type: 'string' },
  'save-steps': { type: 'string' },
  'eval-fraction': { type: 'string' },
  seed: { type: 'string' },
  'resume-from': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMAND = 'model finetune';

/** Numeric training flags and the TrainingConfig field each sets. */
const TRAINING_FLAGS: ReadonlyArray<[flag: string, field: keyof TrainingConfig, integer: boolean]> = [
  ['steps', 'maxSteps', true],
  ['batch-size', 'batchSize', true],
  ['sequence-length', 'sequenceLength', true],
  ['gradient-accumulation-steps', 'gradientAccumulationSteps', true],
  ['learning-rate', 'learningRate', false],
  ['warmup-steps', 'warmupSteps', true],
  ['weight-decay', 'weightDecay', false],
  ['max-grad-norm', 'maxGradNorm', false],
  ['eval-steps', 'evalSteps', true],
  ['save-steps', 'saveSteps', true],
  ['eval-fraction', 'evalFraction', false],
  ['seed', 'seed', true],
];

/** A parsed `strata model finetune` command line. */
export interface FinetuneCommand {
  dataset: string;
  dataDir: string;
  base: string;
  modelsDir: string;
  outDir: string;
  modelId: string;
  method: 'lora' | 'full';
  lora: NonNullable<FinetuneOptions['lora']>;
  training: Partial<TrainingConfig>;
  resumeFrom: string | undefined;
  json: boolean;
}

/** Parses `strata model finetune` flags; a mistake throws a {@link UsageError} naming the flag. */
export function parseFinetuneArgs(argv: readonly string[]): FinetuneCommand | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true });
    values = parsed.values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ''), COMMAND);
  }
  if (values['help'] === true) return 'help';
  const str = (flag: string): string | undefined => values[flag] as string | undefined;
  const number = (flag: string, integer: boolean): number | undefined => {
    const raw = str(flag);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
      throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'}, got "${raw}"`, COMMAND);
    }
    return value;
  };
  const dataset = str('dataset');
  if (dataset === undefined) throw new UsageError('--dataset VERSION is required', COMMAND);
  const method = str('method') ?? 'lora';
  if (method !== 'lora' && method !== 'full') {
    throw new UsageError(`--method must be lora or full, got "${method}"`, COMMAND);
  }
  const lora: {
    -readonly [K in keyof NonNullable<FinetuneOptions['lora']>]: NonNullable<FinetuneOptions['lora']>[K];
  } = {
    r: 8,
    loraAlpha: 16,
    loraDropout: 0.05,
    targetModules: ['c_attn'],
  };
  const r = number('r', true);
  if (r !== undefined) lora.r = r;
  const alpha = number('lora-alpha', false);
  if (alpha !== undefined) lora.loraAlpha = alpha;
  const dropout = number('lora-dropout', false);
  if (dropout !== undefined) lora.loraDropout = dropout;
  const targets = str('target-modules');
  if (targets !== undefined) {
    lora.targetModules = targets.split(',').map((t) => t.trim()) as LoraTargetModule[];
  }
  const training: Partial<Record<keyof TrainingConfig, number>> = {};
  for (const [flag, field, integer] of TRAINING_FLAGS) {
    const value = number(flag, integer);
    if (value !== undefined) training[field] = value;
  }
  return {
    dataset,
    dataDir: str('data-dir') ?? '.strata/data',
    base: str('base') ?? 'starter',
    modelsDir: str('models-dir') ?? '.strata/models',
    outDir: str('out') ?? path.join('.strata', 'finetune', dataset),
    modelId: str('model-id') ?? 'strata/finetuned',
    method,
    lora,
    training,
    resumeFrom: str('resume-from'),
    json: values['json'] === true,
  };
}

/** `strata model finetune …`: reads the dataset version, trains, writes outputs; resolves with the exit code. */
export async function runModelFinetuneCli(argv: readonly string[], io: ModelCliIo): Promise<number> {
  const command = parseFinetuneArgs(argv);
  if (command === 'help') {
    io.stdout.write(FINETUNE_HELP);
    return 0;
  }
  const { texts, manifestSha256 } = await readDatasetTexts(command.dataDir, command.dataset);
  const model = await import('@strata/model');
  let base: FinetuneOptions['base'];
  let baseModel: string;
  if (command.base === 'starter') {
    const built = await model.ensureStarterModel(path.resolve(command.modelsDir));
    base = { modelDir: built.dir, modelId: built.modelId };
    baseModel = `${built.modelId}@${built.buildKey}`;
  } else {
    const dir = path.resolve(command.base);
    base = { modelDir: dir, modelId: path.basename(dir) };
    baseModel = dir;
  }
  const outDir = path.resolve(command.outDir);
  const started = Date.now();
  const result = await model.finetune({
    base,
    texts,
    method: command.method,
    ...(command.method === 'lora' ? { lora: command.lora } : {}),
    training: command.training,
    outputDir: outDir,
    mergedModelId: command.modelId,
    ...(command.resumeFrom === undefined ? {} : { resumeFrom: path.resolve(command.resumeFrom) }),
    ...(io.signal === undefined ? {} : { signal: io.signal }),
    onProgress: (p) => io.stderr.write(`${formatProgress(p)}\n`),
  });
  if (result.weights === undefined) {
    io.stderr.write(
      `stopped after step ${result.metrics.steps}; resume with --resume-from <out>/checkpoints/step-N\n`,
    );
    return 130;
  }
  const adapterSha256 =
    result.adapterDir === undefined
      ? null
      : createHash('sha256')
          .update(await readFile(path.join(result.adapterDir, 'adapter_model.safetensors')))
          .digest('hex');
  const run = {
    dataset: { version: command.dataset, manifest_sha256: manifestSha256, documents: texts.length },
    dataset_tokens_sha256: result.datasetSha256,
    base_model: baseModel,
    method: command.method,
    lora: result.lora ?? null,
    training: result.training,
    adapter_dir: result.adapterDir ?? null,
    adapter_sha256: adapterSha256,
    merged_model_dir: result.mergedModelDir ?? null,
    merged_model_id: result.mergedModelId ?? null,
    metrics: {
      steps: result.metrics.steps,
      train_tokens: result.metrics.trainTokens,
      eval_tokens: result.metrics.evalTokens,
      base_eval_loss: result.metrics.baseEvalLoss,
      eval_loss: result.metrics.evalLoss,
      base_perplexity: result.metrics.basePerplexity,
      perplexity: result.metrics.perplexity,
      final_train_loss: result.metrics.finalTrainLoss,
      tokens_per_second: result.metrics.meanTokensPerSecond,
      trainable_params: result.metrics.trainableParams,
      total_params: result.metrics.totalParams,
      seconds: (Date.now() - started) / 1000,
    },
    eval_history: result.metrics.evalHistory,
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'finetune-run.json'), `${JSON.stringify(run, null, 2)}\n`);
  if (command.json) {
    io.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  } else {
    io.stdout.write(
      [
        `held-out perplexity ${run.metrics.base_perplexity.toFixed(2)} -> ${run.metrics.perplexity.toFixed(2)} ` +
          `after ${run.metrics.steps} steps (${run.metrics.trainable_params} of ${run.metrics.total_params} parameters trained)`,
        ...(result.adapterDir === undefined ? [] : [`adapter ${result.adapterDir}`]),
        ...(result.mergedModelDir === undefined ? [] : [`merged model ${result.mergedModelDir}`]),
        `run record ${path.join(outDir, 'finetune-run.json')}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

/** `step 10/100 loss 3.214 lr 2.0e-4 1234 tok/s ETA 1m20s [eval 3.1]`. */
export function formatProgress(p: TrainingProgress): string {
  const eta = Math.round(p.etaSeconds);
  const etaText = eta >= 60 ? `${Math.floor(eta / 60)}m${String(eta % 60).padStart(2, '0')}s` : `${eta}s`;
  return (
    `step ${p.step}/${p.maxSteps} loss ${p.loss.toFixed(3)} lr ${p.learningRate.toExponential(1)} ` +
    `${Math.round(p.tokensPerSecond)} tok/s ETA ${etaText}` +
    (p.evalLoss === undefined ? '' : ` eval loss ${p.evalLoss.toFixed(3)}`)
  );
}

/** Every document text of a dataset version in the data directory's lake, in stored order. */
async function readDatasetTexts(
  dataDir: string,
  versionId: string,
): Promise<{ texts: string[]; manifestSha256: string }> {
  const platform = await import('@strata/platform');
  const data = await import('@strata/data');
  const root = path.resolve(dataDir);
  let lock: { release(): void };
  try {
    lock = platform.acquireDataDirLock(root);
  } catch (error) {
    throw new Error(`${(error as Error).message}; stop that server or pass another --data-dir`);
  }
  try {
    const store = new platform.LocalObjectStore({ root: path.join(root, 'lake') });
    const lake = new data.DatasetLake({ store, namespace: `file://${path.join(root, 'lake')}` });
    const { manifestSha256 } = await lake.manifest(versionId);
    const texts: string[] = [];
    for await (const doc of lake.documents(versionId)) texts.push(doc.text);
    return { texts, manifestSha256 };
  } finally {
    lock.release();
  }
}

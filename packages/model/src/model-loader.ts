import { existsSync } from 'node:fs';
import path from 'node:path';
import { transformers, type PreTrainedModel, type PreTrainedTokenizer } from './transformers';
import type { Logger } from '@strata/platform';
import type { ModelConfig } from './model-config';
import { ModelError } from './model-error';
import type { KvOutputs } from './engine/kv-cache';
import { ensureDerivedKvDelta } from './kv-delta-derive';
import { ensureStarterModel, KV_DELTA_MODEL_FILE, STARTER_KJV_SHAPE } from './starter';

/**
 * What MODEL_FALLBACK=starter serves: the starter shape with the weights Strata's trainer learned from the King
 * James Bible, so a machine without the Hub answers in English rather than noise.
 */
export const FALLBACK_STARTER_SHAPE = STARTER_KJV_SHAPE;

/** A model and its tokenizer, loaded once and shared by every request. */
export interface LoadedModel {
  /** The id being served: MODEL_ID, or the starter's id after a fallback. */
  id: string;
  revision: string;
  dtype: ModelConfig['MODEL_DTYPE'];
  /** Set when MODEL_ID could not be loaded and the starter model is served instead. */
  fallback?: { requestedId: string; reason: string };
  model: PreTrainedModel;
  tokenizer: PreTrainedTokenizer;
  /** Ids that end a sequence. */
  eosTokenIds: ReadonlySet<number>;
  /** The longest sequence (prompt + generated) the model's position embeddings allow. */
  maxPositions: number;
  /** Whether the decoder returns the whole KV cache each step, or only the new tokens' part. */
  kvOutputs: KvOutputs;
  /**
   * Loads the folder's standard decoder, which returns every position's logits (a KV-delta decoder returns
   * the last position's only): the evaluator's loss needs them. The caller disposes it.
   */
  standardDecoder: () => Promise<PreTrainedModel>;
  loadSeconds: number;
}

/**
 * Loads MODEL_ID with transformers.js: from `MODEL_CACHE_DIR/<id>` when the folder is there, else from the Hub
 * (unless MODEL_OFFLINE). When that fails and MODEL_FALLBACK is `starter`, builds (once) and serves the
 * bundled starter model; otherwise the error says how to fix the deployment.
 */
export async function loadModel(config: ModelConfig, logger: Logger): Promise<LoadedModel> {
  const root = path.resolve(config.MODEL_CACHE_DIR);
  pointAt(root, config);
  try {
    return await loadFrom(config.MODEL_ID, config.MODEL_REVISION, config, root, logger);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (config.MODEL_FALLBACK !== 'starter') {
      throw new ModelError('model_load_failed', loadFailureAdvice(config, root, reason), 'MODEL_ID', {
        cause: error,
      });
    }
    logger.warn(
      { requestedModel: config.MODEL_ID, reason },
      `Could not load ${config.MODEL_ID}; serving the bundled starter model ${FALLBACK_STARTER_SHAPE.modelId} instead (MODEL_FALLBACK=starter)`,
    );
    await ensureStarterModel(root, FALLBACK_STARTER_SHAPE);
    const loaded = await loadFrom(FALLBACK_STARTER_SHAPE.modelId, 'main', config, root, logger);
    return { ...loaded, fallback: { requestedId: config.MODEL_ID, reason } };
  }
}

/** transformers.js's model locations are global: every load from `root` sets them first. */
function pointAt(root: string, config: ModelConfig): void {
  transformers.env.allowLocalModels = true;
  transformers.env.localModelPath = root + path.sep;
  transformers.env.cacheDir = path.join(root, 'hub');
  transformers.env.allowRemoteModels = !config.MODEL_OFFLINE;
}

async function loadFrom(
  id: string,
  revision: string,
  config: ModelConfig,
  root: string,
  logger: Logger,
): Promise<LoadedModel> {
  const started = process.hrtime.bigint();
  const { kvOutputs, modelFileName } = chooseDecoder(path.join(root, id), id, config, logger);
  const options = {
    revision,
    dtype: config.MODEL_DTYPE,
    ...(modelFileName === undefined ? {} : { model_file_name: modelFileName }),
    // Int8 weights stored as QuantizeLinear/DequantizeLinear pairs are otherwise dequantized on every run;
    // this folds them once at load, making q8 as fast as fp32 while keeping its smaller files.
    ...(config.MODEL_DTYPE === 'q8'
      ? { session_options: { extra: { session: { disable_quant_qdq: '1' } } } }
      : {}),
  };
  const [tokenizer, model] = await Promise.all([
    transformers.AutoTokenizer.from_pretrained(id, { revision }),
    transformers.AutoModelForCausalLM.from_pretrained(id, options),
  ]);
  const modelConfig = model.config as unknown as Record<string, unknown>;
  const maxPositions = Number(modelConfig['n_positions'] ?? modelConfig['max_position_embeddings'] ?? 1024);
  const eos = modelConfig['eos_token_id'];
  const eosTokenIds = new Set<number>(
    (Array.isArray(eos) ? eos : [eos]).filter((v) => typeof v === 'number'),
  );
  if (config.MAX_INPUT_TOKENS + config.MAX_NEW_TOKENS_CAP > maxPositions) {
    throw new ModelError(
      'model_load_failed',
      `MAX_INPUT_TOKENS (${config.MAX_INPUT_TOKENS}) + MAX_NEW_TOKENS_CAP (${config.MAX_NEW_TOKENS_CAP}) exceeds ` +
        `${id}'s ${maxPositions} positions: lower one of them`,
      'MAX_INPUT_TOKENS',
    );
  }
  return {
    id,
    revision,
    dtype: config.MODEL_DTYPE,
    model,
    tokenizer,
    eosTokenIds,
    maxPositions,
    kvOutputs,
    standardDecoder: () => {
      pointAt(root, config);
      return transformers.AutoModelForCausalLM.from_pretrained(id, { revision, dtype: config.MODEL_DTYPE });
    },
    loadSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

/**
 * The batching engine prefers a decoder that returns only the new tokens' KV cache: the folder's own
 * (`onnx/model_kv_delta.onnx`, written by Strata's builder), else one derived from the folder's standard
 * `onnx/model.onnx` (a transformers.js/Optimum export), else the standard decoder with full-cache outputs.
 */
function chooseDecoder(
  folder: string,
  id: string,
  config: ModelConfig,
  logger: Logger,
): { kvOutputs: KvOutputs; modelFileName?: string } {
  const suffix = config.MODEL_DTYPE === 'q8' ? '_quantized' : '';
  if (existsSync(path.join(folder, 'onnx', `${KV_DELTA_MODEL_FILE}${suffix}.onnx`))) {
    return { kvOutputs: 'delta', modelFileName: KV_DELTA_MODEL_FILE };
  }
  if (!existsSync(folder)) return { kvOutputs: 'present' };
  const derived = ensureDerivedKvDelta(folder, suffix);
  if ('modelFileName' in derived) return { kvOutputs: 'delta', modelFileName: derived.modelFileName };
  logger.info(
    { model: id, reason: derived.problem },
    'no KV-delta decoder could be derived; serving the standard decoder (full KV cache out of every step)',
  );
  return { kvOutputs: 'present' };
}

function loadFailureAdvice(config: ModelConfig, root: string, reason: string): string {
  const folder = path.join(root, config.MODEL_ID);
  return [
    `Could not load model ${config.MODEL_ID} (revision ${config.MODEL_REVISION}, dtype ${config.MODEL_DTYPE}): ${reason}`,
    'To fix it, do one of:',
    `  - give this machine access to the Hugging Face Hub${config.MODEL_OFFLINE ? ' and unset MODEL_OFFLINE' : ''};`,
    `  - copy the model into ${folder} (config.json, generation_config.json, tokenizer.json, ` +
      `tokenizer_config.json, onnx/${config.MODEL_DTYPE === 'q8' ? 'model_quantized' : 'model'}.onnx);`,
    '  - set MODEL_FALLBACK=starter to serve the bundled starter model instead.',
  ].join('\n');
}

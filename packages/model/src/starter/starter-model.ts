import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

import { writeFileAtomic } from './atomic-write';
import { canonicalJson, type CanonicalJsonValue } from './canonical-json';
import {
  GPT2_END_OF_TEXT_ID,
  STARTER_BUILDER_VERSION,
  buildGpt2Onnx,
  gpt2ParamCount,
  gpt2TensorSpecs,
  initGpt2Weights,
  toGpt2Weights,
  validateGpt2Config,
  type BuildGpt2OnnxOptions,
  type Gpt2Config,
  type Gpt2Weights,
} from './gpt2-onnx';
import { GPT2_VOCAB_SIZE, buildGpt2TokenizerFiles } from './gpt2-tokenizer';
import { littleEndianBytes } from './onnx-graph-builder';
import { unpackGpt2WeightsQ8 } from '../trainer/starter-weights';
import { StarterModelError } from './starter-model-error';

/** The build manifest written last into every model folder; its presence marks a complete build. */
export const STARTER_MANIFEST_FILE = 'strata-build.json';

/**
 * Base name of the KV-delta decoder in a model folder's `onnx/` (see `buildGpt2Onnx`'s `cacheOutputs`):
 * `onnx/model_kv_delta.onnx`, and `onnx/model_kv_delta_quantized.onnx` for q8. transformers.js loads it with
 * `from_pretrained(id, { model_file_name: KV_DELTA_MODEL_FILE })`.
 */
export const KV_DELTA_MODEL_FILE = 'model_kv_delta';

/** A named model to build: where it goes, its architecture and its initial weights. */
export interface StarterModelShape {
  /** Hugging Face style id; also the folder below the models root (`strata/starter-gpt2`). */
  readonly modelId: string;
  readonly config: Gpt2Config;
  /** Seed of the deterministic initial weights. */
  readonly seed: number;
  /**
   * Also write the q8 graphs `onnx/model_quantized.onnx` (transformers.js `dtype: 'q8'`) and
   * `onnx/model_kv_delta_quantized.onnx`.
   */
  readonly quantized: boolean;
  /**
   * Trained weights to build from instead of the seeded initialisation: a file written by `pnpm train:starter`
   * (int8 per row in safetensors, see the trainer's `packGpt2WeightsQ8`).
   */
  readonly trainedWeightsFile?: string;
}

/** The starter model's trained weights, shipped in the package (`packages/model/assets`). */
export const STARTER_TRAINED_WEIGHTS_FILE = path.resolve(
  __dirname,
  '../../assets/starter-gpt2/weights.q8.safetensors',
);

const GPT2_TOKENS = {
  vocabSize: GPT2_VOCAB_SIZE,
  bosTokenId: GPT2_END_OF_TEXT_ID,
  eosTokenId: GPT2_END_OF_TEXT_ID,
} as const;

/**
 * The default local model: GPT-2's tokenizer and context (1,024) with 2 layers, 2 heads and n_embd 64,
 * about 3.4M parameters (95% of them the embedding), so it builds and generates fast. Its weights are an
 * untrained initialisation: output is fluent-looking noise, useful for wiring and load tests. The same shape
 * trained on the King James Bible is {@link STARTER_KJV_SHAPE}.
 */
export const STARTER_SHAPE: StarterModelShape = {
  modelId: 'strata/starter-gpt2',
  config: { ...GPT2_TOKENS, nPositions: 1024, nEmbd: 64, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 },
  seed: 1234,
  quantized: true,
};

/**
 * The starter shape with weights trained by Strata's own trainer on the King James Bible (`pnpm train:starter`;
 * corpus, held-out perplexity and samples in `assets/starter-gpt2/training.json`). It writes KJV-flavoured
 * English rather than noise. Serve it with `MODEL_ID=strata/starter-gpt2-kjv` after
 * `pnpm setup:model --shape kjv`.
 */
export const STARTER_KJV_SHAPE: StarterModelShape = {
  ...STARTER_SHAPE,
  modelId: 'strata/starter-gpt2-kjv',
  trainedWeightsFile: STARTER_TRAINED_WEIGHTS_FILE,
};

/** distilgpt2's shape (6 layers, 12 heads, n_embd 768; about 82M parameters) with untrained weights, for realistic load and speed. */
export const DISTILGPT2_SHAPE: StarterModelShape = {
  modelId: 'strata/distilgpt2-shaped',
  config: { ...GPT2_TOKENS, nPositions: 1024, nEmbd: 768, nLayer: 6, nHead: 12, layerNormEpsilon: 1e-5 },
  seed: 1234,
  quantized: true,
};

/** The shapes by the names the CLI accepts. */
export const STARTER_MODEL_SHAPES = {
  starter: STARTER_SHAPE,
  kjv: STARTER_KJV_SHAPE,
  distilgpt2: DISTILGPT2_SHAPE,
} as const satisfies Record<string, StarterModelShape>;
export type StarterModelShapeName = keyof typeof STARTER_MODEL_SHAPES;

/** Options for {@link writeModelFolder}. */
export interface WriteModelFolderOptions {
  readonly config: Gpt2Config;
  /** Trained weights. When absent, weights are initialised from `seed` with {@link initGpt2Weights}. */
  readonly weights?: Gpt2Weights;
  /** Seed for the initial weights; recorded in the manifest either way. */
  readonly seed: number;
  /** Also write `onnx/model_quantized.onnx` and `onnx/model_kv_delta_quantized.onnx`. Default true. */
  readonly quantized?: boolean;
  /**
   * What identifies `weights` in the build key, when the caller has a cheaper name for them than hashing every
   * tensor (the SHA-256 of the packed file they came from). Default: a hash over the tensors.
   */
  readonly weightsSha256?: string;
}

/** One file of a model folder. */
export interface ModelFileInfo {
  /** Path relative to the model folder, with `/` separators (`onnx/model.onnx`). */
  readonly path: string;
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the contents. */
  readonly sha256: string;
}

/** What {@link writeModelFolder} wrote. */
export interface ModelFolderInfo {
  /** Absolute path of the model folder (`<rootDir>/<modelId>`). */
  readonly dir: string;
  readonly modelId: string;
  readonly paramCount: number;
  /** Hash of everything that determines the folder's contents; equal keys mean byte-identical folders. */
  readonly buildKey: string;
  readonly files: readonly ModelFileInfo[];
}

/** What {@link ensureStarterModel} did. */
export interface EnsureStarterModelResult extends ModelFolderInfo {
  /** `built`: (re)written now; `up-to-date`: the folder already matched and nothing was written. */
  readonly status: 'built' | 'up-to-date';
}

/**
 * Writes a complete Hugging Face style model folder that transformers.js 4 loads offline
 * (`env.localModelPath = rootDir`, `from_pretrained(modelId)`):
 *
 * `config.json`, `generation_config.json`, `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`,
 * optionally `onnx/model_quantized.onnx`, the KV-delta decoder `onnx/model_kv_delta.onnx` (and
 * `onnx/model_kv_delta_quantized.onnx`) for Strata's engine, and last the manifest `strata-build.json`.
 *
 * Every file is written atomically (temporary file, then rename). The output is byte-identical for the same
 * inputs on any machine: JSON keys are sorted, there are no timestamps, and the weights are deterministic.
 * The manifest is removed first and written last, so a crash part-way leaves a folder that
 * {@link ensureStarterModel} rebuilds.
 *
 * @throws StarterModelError (`config_invalid`) for a bad id, config or weights.
 */
export async function writeModelFolder(
  rootDir: string,
  modelId: string,
  options: WriteModelFolderOptions,
): Promise<ModelFolderInfo> {
  const dir = modelDir(rootDir, modelId);
  const { config, seed } = options;
  const quantized = options.quantized ?? true;
  validateGpt2Config(config);
  if (config.vocabSize < GPT2_VOCAB_SIZE) {
    throw new StarterModelError(
      'config_invalid',
      `Gpt2Config.vocabSize must be at least ${GPT2_VOCAB_SIZE} to hold GPT-2's tokenizer, got ${config.vocabSize}`,
    );
  }
  const weights =
    options.weights === undefined ? initGpt2Weights(config, seed) : toGpt2Weights(config, options.weights);
  const buildKey = computeBuildKey({
    modelId,
    config,
    seed,
    quantized,
    weightsSha256:
      options.weights === undefined ? null : (options.weightsSha256 ?? hashWeights(config, options.weights)),
  });

  await fs.rm(path.join(dir, STARTER_MANIFEST_FILE), { force: true });
  const files: ModelFileInfo[] = [];
  const put = async (relative: string, data: Uint8Array | string): Promise<void> => {
    await writeFileAtomic(path.join(dir, ...relative.split('/')), data);
    files.push({
      path: relative,
      bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength,
      sha256: sha256(data),
    });
  };

  await put('config.json', canonicalJson(hfConfig(config)));
  await put(
    'generation_config.json',
    canonicalJson({ bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId }),
  );
  const tokenizer = buildGpt2TokenizerFiles({ modelMaxLength: config.nPositions });
  await put('tokenizer.json', tokenizer.tokenizerJson);
  await put('tokenizer_config.json', tokenizer.tokenizerConfigJson);
  // One graph at a time: for the distilgpt2 shape each serialised graph is about 330 MB.
  const graphs: Array<[file: string, options: BuildGpt2OnnxOptions]> = [
    ['model', {}],
    ['model_quantized', { quantize: 'q8' }],
    [KV_DELTA_MODEL_FILE, { cacheOutputs: 'delta' }],
    [`${KV_DELTA_MODEL_FILE}_quantized`, { cacheOutputs: 'delta', quantize: 'q8' }],
  ];
  for (const [file, graphOptions] of graphs) {
    if (graphOptions.quantize === undefined || quantized) {
      await put(`onnx/${file}.onnx`, buildGpt2Onnx(config, weights, graphOptions));
    } else {
      await fs.rm(path.join(dir, 'onnx', `${file}.onnx`), { force: true });
    }
  }

  const paramCount = gpt2ParamCount(config);
  const manifest: CanonicalJsonValue = {
    builder: 'strata-starter',
    builder_version: STARTER_BUILDER_VERSION,
    build_key: buildKey,
    model_id: modelId,
    config: { ...config },
    seed,
    quantized,
    weights: options.weights === undefined ? 'seeded-init' : 'supplied',
    param_count: paramCount,
    files: files.map((f) => ({ ...f })),
  };
  await writeFileAtomic(path.join(dir, STARTER_MANIFEST_FILE), canonicalJson(manifest));
  return { dir, modelId, paramCount, buildKey, files };
}

/**
 * Makes sure `<rootDir>/<shape.modelId>` holds the model `shape` describes, building it only when needed:
 * when the manifest is missing, its build key differs (other builder version, config, seed or
 * quantization), or a listed file is missing or has another size. A matching folder is left untouched
 * without hashing the weights, so repeated start-up is fast.
 *
 * Concurrent callers are safe: each may build, but builds are byte-identical and every file is renamed
 * into place atomically. A folder holding trained weights under the same id does not match a seeded shape
 * and is overwritten, so keep trained models under their own ids.
 */
export async function ensureStarterModel(
  rootDir: string,
  shape: StarterModelShape = STARTER_SHAPE,
  options: { readonly force?: boolean } = {},
): Promise<EnsureStarterModelResult> {
  const dir = modelDir(rootDir, shape.modelId);
  // Trained weights are named by their packed file's hash, so an up-to-date folder is recognised without
  // unpacking them; they are unpacked only to build.
  const packed =
    shape.trainedWeightsFile === undefined ? undefined : await readTrainedWeights(shape.trainedWeightsFile);
  const weightsSha256 = packed === undefined ? null : sha256(packed);
  if (options.force !== true) {
    const existing = await readManifest(dir);
    const expectedKey = computeBuildKey({
      modelId: shape.modelId,
      config: shape.config,
      seed: shape.seed,
      quantized: shape.quantized,
      weightsSha256,
    });
    if (
      existing !== undefined &&
      existing.build_key === expectedKey &&
      (await filesPresent(dir, existing.files))
    ) {
      return {
        status: 'up-to-date',
        dir,
        modelId: shape.modelId,
        paramCount: existing.param_count,
        buildKey: existing.build_key,
        files: existing.files,
      };
    }
  }
  const written = await writeModelFolder(rootDir, shape.modelId, {
    config: shape.config,
    seed: shape.seed,
    quantized: shape.quantized,
    ...(packed === undefined || weightsSha256 === null
      ? {}
      : { weights: unpackGpt2WeightsQ8(shape.config, packed), weightsSha256 }),
  });
  return { status: 'built', ...written };
}

async function readTrainedWeights(file: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(file);
  } catch {
    throw new StarterModelError(
      'config_invalid',
      `trained starter weights ${file} are missing; restore them from the repository or run pnpm train:starter`,
    );
  }
}

/** `config.json` in Hugging Face's GPT2Config vocabulary. Dropout values are GPT-2's training defaults. */
function hfConfig(config: Gpt2Config): CanonicalJsonValue {
  return {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: 0.1,
    bos_token_id: config.bosTokenId,
    embd_pdrop: 0.1,
    eos_token_id: config.eosTokenId,
    initializer_range: 0.02,
    layer_norm_epsilon: config.layerNormEpsilon,
    model_type: 'gpt2',
    n_ctx: config.nPositions,
    n_embd: config.nEmbd,
    n_head: config.nHead,
    n_inner: null,
    n_layer: config.nLayer,
    n_positions: config.nPositions,
    reorder_and_upcast_attn: false,
    resid_pdrop: 0.1,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    use_cache: true,
    vocab_size: config.vocabSize,
  };
}

/** `<rootDir>/<modelId>`, refusing ids that would escape the root or are not `name` / `namespace/name`. */
function modelDir(rootDir: string, modelId: string): string {
  if (
    !/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(modelId) ||
    modelId.split('/').some((part) => part === '..' || part.endsWith('.'))
  ) {
    throw new StarterModelError(
      'config_invalid',
      `model id must look like "name" or "namespace/name", got ${JSON.stringify(modelId)}`,
    );
  }
  return path.resolve(rootDir, ...modelId.split('/'));
}

function computeBuildKey(input: {
  modelId: string;
  config: Gpt2Config;
  seed: number;
  quantized: boolean;
  weightsSha256: string | null;
}): string {
  return sha256(
    canonicalJson({
      builder_version: STARTER_BUILDER_VERSION,
      model_id: input.modelId,
      config: { ...input.config },
      seed: input.seed,
      quantized: input.quantized,
      weights_sha256: input.weightsSha256,
    }),
  );
}

/** SHA-256 over every tensor's little-endian bytes in the fixed {@link gpt2TensorSpecs} order. */
function hashWeights(config: Gpt2Config, weights: Gpt2Weights): string {
  const hash = createHash('sha256');
  for (const spec of gpt2TensorSpecs(config)) {
    const data = weights[spec.name];
    if (data !== undefined) hash.update(littleEndianBytes(data));
  }
  return hash.digest('hex');
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const manifestSchema = z.object({
  build_key: z.string(),
  param_count: z.number().int().nonnegative(),
  files: z.array(z.object({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string() })),
});

/** The manifest, or undefined when it is missing or unreadable (both mean "build"). */
async function readManifest(dir: string): Promise<z.infer<typeof manifestSchema> | undefined> {
  try {
    const parsed = manifestSchema.safeParse(
      JSON.parse(await fs.readFile(path.join(dir, STARTER_MANIFEST_FILE), 'utf8')),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function filesPresent(dir: string, files: readonly ModelFileInfo[]): Promise<boolean> {
  for (const file of files) {
    const stat = await fs.stat(path.join(dir, ...file.path.split('/'))).catch(() => undefined);
    if (stat === undefined || !stat.isFile() || stat.size !== file.bytes) return false;
  }
  return files.length > 0;
}

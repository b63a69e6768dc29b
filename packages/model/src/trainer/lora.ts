import type { Gpt2Config, Gpt2TensorName, Gpt2Weights } from '../starter/gpt2-onnx';
import { SeededRandom } from '../starter/seeded-random';
import { TrainerError } from './trainer-error';

/** The GPT-2 Conv1D modules LoRA can adapt, by PEFT's `target_modules` names. */
export const LORA_TARGET_MODULES = ['c_attn', 'c_proj', 'c_fc'] as const;
export type LoraTargetModule = (typeof LORA_TARGET_MODULES)[number];

/**
 * A LoRA configuration with PEFT's `LoraConfig` semantics (camelCase here, snake_case in
 * `adapter_config.json`).
 */
export interface LoraConfig {
  /** Rank `r` of the update `B·A`. */
  readonly r: number;
  /** `lora_alpha`: the update is scaled by `loraAlpha / r`. */
  readonly loraAlpha: number;
  /** `lora_dropout`: dropout probability on the adapter's input (0 disables it). */
  readonly loraDropout: number;
  /**
   * `target_modules`, matched as PEFT matches names, by suffix: `c_attn` (GPT-2's default), `c_proj` (both
   * `attn.c_proj` and `mlp.c_proj`), `c_fc`.
   */
  readonly targetModules: readonly LoraTargetModule[];
}

/** GPT-2's PEFT default: r 8, alpha 8, dropout 0, `c_attn`. */
export const DEFAULT_LORA_CONFIG: LoraConfig = {
  r: 8,
  loraAlpha: 8,
  loraDropout: 0,
  targetModules: ['c_attn'],
};

/** One adapted module: `h.{i}.attn.c_attn` and its Conv1D shape. */
export interface LoraModule {
  /** Module path relative to `transformer.`: `h.0.attn.c_attn`. */
  readonly path: string;
  readonly weight: Gpt2TensorName;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/**
 * LoRA matrices in PEFT's layout: `A` is `lora_A.weight` [r, in_features], `B` is `lora_B.weight`
 * [out_features, r], both row-major float32, keyed by module path.
 */
export type LoraWeights = ReadonlyMap<string, { readonly a: Float32Array; readonly b: Float32Array }>;

/** Validates a LoRA config, naming the bad field. */
export function validateLoraConfig(config: LoraConfig): void {
  if (!Number.isSafeInteger(config.r) || config.r <= 0) {
    throw new TrainerError('config_invalid', `lora r must be a positive integer, got ${config.r}`);
  }
  if (!Number.isFinite(config.loraAlpha) || config.loraAlpha <= 0) {
    throw new TrainerError('config_invalid', `lora_alpha must be a positive number, got ${config.loraAlpha}`);
  }
  if (!(config.loraDropout >= 0 && config.loraDropout < 1)) {
    throw new TrainerError('config_invalid', `lora_dropout must be in [0, 1), got ${config.loraDropout}`);
  }
  if (config.targetModules.length === 0) {
    throw new TrainerError('config_invalid', 'target_modules must name at least one module');
  }
  for (const m of config.targetModules) {
    if (!(LORA_TARGET_MODULES as readonly string[]).includes(m)) {
      throw new TrainerError(
        'config_invalid',
        `target_modules: unknown GPT-2 module "${m}" (expected ${LORA_TARGET_MODULES.join(', ')})`,
      );
    }
  }
}

/** The modules `config` adapts, in model order (block, then attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj). */
export function loraModules(model: Gpt2Config, config: LoraConfig): LoraModule[] {
  const E = model.nEmbd;
  const candidates: Array<{ suffix: string; target: LoraTargetModule; inF: number; outF: number }> = [
    { suffix: 'attn.c_attn', target: 'c_attn', inF: E, outF: 3 * E },
    { suffix: 'attn.c_proj', target: 'c_proj', inF: E, outF: E },
    { suffix: 'mlp.c_fc', target: 'c_fc', inF: E, outF: 4 * E },
    { suffix: 'mlp.c_proj', target: 'c_proj', inF: 4 * E, outF: E },
  ];
  const modules: LoraModule[] = [];
  for (let i = 0; i < model.nLayer; i++) {
    for (const c of candidates) {
      if (!config.targetModules.includes(c.target)) continue;
      modules.push({
        path: `h.${i}.${c.suffix}`,
        weight: `h.${i}.${c.suffix}.weight` as Gpt2TensorName,
        inFeatures: c.inF,
        outFeatures: c.outF,
      });
    }
  }
  return modules;
}

/**
 * PEFT's initialisation: `A` Kaiming-uniform with a = √5 (PyTorch's `nn.Linear` default, so bound
 * 1/√in_features), `B` zeros, so the adapted model starts equal to the base model. Seeded per module.
 */
export function initLoraWeights(modules: readonly LoraModule[], r: number, seed: number): LoraWeights {
  const weights = new Map<string, { a: Float32Array; b: Float32Array }>();
  for (const m of modules) {
    const a = new Float32Array(r * m.inFeatures);
    const bound = 1 / Math.sqrt(m.inFeatures);
    const random = new SeededRandom(seed, `lora_A:${m.path}`);
    for (let i = 0; i < a.length; i++) a[i] = (random.nextDouble() * 2 - 1) * bound;
    weights.set(m.path, { a, b: new Float32Array(m.outFeatures * r) });
  }
  return weights;
}

/** PEFT's tensor names in `adapter_model.safetensors` for a GPT-2 `AutoModelForCausalLM`. */
export function peftTensorName(modulePath: string, matrix: 'A' | 'B'): string {
  return `base_model.model.transformer.${modulePath}.lora_${matrix}.weight`;
}

/**
 * Folds the adapters into a copy of the base weights: `W += scaling · (B·A)ᵀ` for GPT-2's Conv1D layout
 * [in, out] (PEFT's `fan_in_fan_out = true`), with `scaling = lora_alpha / r`.
 */
export function mergeLora(
  base: Gpt2Weights,
  modules: readonly LoraModule[],
  lora: LoraWeights,
  config: LoraConfig,
): Gpt2Weights {
  const scaling = config.loraAlpha / config.r;
  const merged: Record<string, Float32Array> = { ...base };
  for (const m of modules) {
    const pair = lora.get(m.path);
    if (pair === undefined) throw new TrainerError('config_invalid', `no LoRA weights for ${m.path}`);
    const baseWeight = base[m.weight];
    if (baseWeight === undefined) throw new TrainerError('config_invalid', `base model lacks ${m.weight}`);
    const w = Float32Array.from(baseWeight);
    const { r } = config;
    const { a, b } = pair;
    for (let i = 0; i < m.inFeatures; i++) {
      for (let o = 0; o < m.outFeatures; o++) {
        let sum = 0;
        for (let k = 0; k < r; k++) sum += (b[o * r + k] ?? 0) * (a[k * m.inFeatures + i] ?? 0);
        w[i * m.outFeatures + o] = (w[i * m.outFeatures + o] ?? 0) + scaling * sum;
      }
    }
    merged[m.weight] = w;
  }
  return merged as Gpt2Weights;
}

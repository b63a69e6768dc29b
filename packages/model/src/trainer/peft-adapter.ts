import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { writeFileAtomic } from '../starter/atomic-write';
import { canonicalJson } from '../starter/canonical-json';
import {
  LORA_TARGET_MODULES,
  peftTensorName,
  validateLoraConfig,
  type LoraConfig,
  type LoraModule,
  type LoraTargetModule,
  type LoraWeights,
} from './lora';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from './safetensors';
import { TrainerError } from './trainer-error';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** What {@link writePeftAdapter} writes. */
export interface PeftAdapter {
  readonly lora: LoraConfig;
  readonly modules: readonly LoraModule[];
  readonly weights: LoraWeights;
  /** `base_model_name_or_path`. */
  readonly baseModelId: string;
}

/**
 * Writes a PEFT LoRA adapter folder: `adapter_config.json` (PEFT's `LoraConfig` fields, `fan_in_fan_out`
 * true for GPT-2's Conv1D, task `CAUSAL_LM`) and `adapter_model.safetensors` with PEFT's tensor names
 * (`base_model.model.transformer.h.0.attn.c_attn.lora_A.weight` [r, in], `…lora_B.weight` [out, r]).
 * The bytes depend only on the inputs.
 */
export async function writePeftAdapter(dir: string, adapter: PeftAdapter): Promise<void> {
  const { lora } = adapter;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const m of adapter.modules) {
    const pair = adapter.weights.get(m.path);
    if (pair === undefined) throw new TrainerError('config_invalid', `no LoRA weights for ${m.path}`);
    tensors.set(peftTensorName(m.path, 'A'), { dtype: 'F32', shape: [lora.r, m.inFeatures], data: pair.a });
    tensors.set(peftTensorName(m.path, 'B'), { dtype: 'F32', shape: [m.outFeatures, lora.r], data: pair.b });
  }
  await writeFileAtomic(path.join(dir, ADAPTER_WEIGHTS_FILE), writeSafetensors(tensors, { format: 'pt' }));
  await writeFileAtomic(
    path.join(dir, ADAPTER_CONFIG_FILE),
    canonicalJson({
      alpha_pattern: {},
      auto_mapping: null,
      base_model_name_or_path: adapter.baseModelId,
      bias: 'none',
      fan_in_fan_out: true,
      inference_mode: true,
      init_lora_weights: true,
      layers_pattern: null,
      layers_to_transform: null,
      lora_alpha: lora.loraAlpha,
      lora_dropout: lora.loraDropout,
      modules_to_save: null,
      peft_type: 'LORA',
      r: lora.r,
      rank_pattern: {},
      revision: null,
      target_modules: [...lora.targetModules],
      task_type: 'CAUSAL_LM',
      use_dora: false,
      use_rslora: false,
    }),
  );
}

/**
 * Reads a PEFT LoRA adapter folder written by {@link writePeftAdapter} (or by PEFT for a GPT-2 model with
 * the same modules): its config and matrices keyed by module path.
 *
 * @throws TrainerError (`checkpoint_invalid`) naming the malformed file or tensor.
 */
export async function readPeftAdapter(
  dir: string,
): Promise<{ lora: LoraConfig; weights: LoraWeights; baseModelId: string }> {
  const fail = (message: string): never => {
    throw new TrainerError('checkpoint_invalid', `adapter ${dir}: ${message}`);
  };
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(await fs.readFile(path.join(dir, ADAPTER_CONFIG_FILE), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    fail(`${ADAPTER_CONFIG_FILE} is missing or not JSON`);
  }
  if (raw['peft_type'] !== 'LORA') fail(`peft_type must be "LORA", got ${JSON.stringify(raw['peft_type'])}`);
  const targets = raw['target_modules'];
  if (
    !Array.isArray(targets) ||
    !targets.every((t) => (LORA_TARGET_MODULES as readonly unknown[]).includes(t))
  ) {
    fail(`target_modules must list GPT-2 modules (${LORA_TARGET_MODULES.join(', ')})`);
  }
  const lora: LoraConfig = {
    r: Number(raw['r']),
    loraAlpha: Number(raw['lora_alpha']),
    loraDropout: Number(raw['lora_dropout'] ?? 0),
    targetModules: targets as LoraTargetModule[],
  };
  try {
    validateLoraConfig(lora);
  } catch (error) {
    fail((error as Error).message);
  }
  let bytes: Uint8Array = new Uint8Array();
  try {
    bytes = await fs.readFile(path.join(dir, ADAPTER_WEIGHTS_FILE));
  } catch {
    fail(`${ADAPTER_WEIGHTS_FILE} is missing`);
  }
  const { tensors } = readSafetensors(bytes, `adapter ${dir}/${ADAPTER_WEIGHTS_FILE}`);
  const weights = new Map<string, { a: Float32Array; b: Float32Array }>();
  const pattern = /^base_model\.model\.transformer\.(h\.\d+\.(?:attn|mlp)\.c_\w+)\.lora_([AB])\.weight$/;
  for (const [name, t] of tensors) {
    const match = pattern.exec(name);
    if (match === null) fail(`unexpected tensor ${name}`);
    const [, modulePath = '', matrix] = match ?? [];
    if (t.dtype !== 'F32') fail(`tensor ${name} must be F32`);
    const entry = weights.get(modulePath) ?? { a: new Float32Array(), b: new Float32Array() };
    if (matrix === 'A') {
      if (t.shape[0] !== lora.r) fail(`tensor ${name} has ${t.shape[0]} rows, r is ${lora.r}`);
      entry.a = t.data as Float32Array;
    } else {
      if (t.shape[1] !== lora.r) fail(`tensor ${name} has ${t.shape[1]} columns, r is ${lora.r}`);
      entry.b = t.data as Float32Array;
    }
    weights.set(modulePath, entry);
  }
  for (const [modulePath, pair] of weights) {
    if (pair.a.length === 0 || pair.b.length === 0) fail(`module ${modulePath} lacks lora_A or lora_B`);
  }
  return { lora, weights, baseModelId: String(raw['base_model_name_or_path'] ?? '') };
}

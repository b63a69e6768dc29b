/** AdamW hyper-parameters (PyTorch's `torch.optim.AdamW` names, camelCase). */
export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

/** One parameter tensor under optimisation, with its AdamW moments (float64, so resume is exact). */
export interface OptimizerSlot {
  readonly name: string;
  readonly value: Float32Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
  /** Decoupled weight decay applies (not to biases and LayerNorm gains, as Hugging Face's Trainer does). */
  readonly decay: boolean;
}

/**
 * Learning rate at optimizer step `step` (0-based) for a linear warmup to `peak` over `warmupSteps`, then a
 * cosine decay to 0 at `totalSteps`: Hugging Face's `get_cosine_schedule_with_warmup`.
 */
export function warmupCosineLearningRate(
  step: number,
  peak: number,
  warmupSteps: number,
  totalSteps: number,
): number {
  if (step < warmupSteps) return (peak * step) / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/**
 * Scales `grads` in place so that their global L2 norm is at most `maxNorm` (`clip_grad_norm_`), and returns
 * the norm before clipping.
 */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += (g[i] ?? 0) * (g[i] ?? 0);
  const norm = Math.sqrt(sum);
  if (Number.isFinite(maxNorm) && maxNorm > 0 && norm > maxNorm) {
    const factor = maxNorm / (norm + 1e-6);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = (g[i] ?? 0) * factor;
  }
  return norm;
}

/**
 * One AdamW update (Loshchilov & Hutter; PyTorch's formulation): decoupled decay `p -= lr·wd·p`, then
 * `p -= lr · m̂ / (√v̂ + ε)` with bias-corrected moments. `t` is the 1-based update count.
 */
export function adamWStep(
  slot: OptimizerSlot,
  grad: Float32Array,
  lr: number,
  t: number,
  config: AdamWConfig,
): void {
  const { beta1, beta2, epsilon, weightDecay } = config;
  const c1 = 1 - beta1 ** t;
  const c2 = 1 - beta2 ** t;
  const decay = slot.decay ? 1 - lr * weightDecay : 1;
  const { value, m, v } = slot;
  for (let i = 0; i < value.length; i++) {
    const g = grad[i] ?? 0;
    const mi = beta1 * (m[i] ?? 0) + (1 - beta1) * g;
    const vi = beta2 * (v[i] ?? 0) + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    value[i] = (value[i] ?? 0) * decay - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
  }
}

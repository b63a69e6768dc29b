import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { env } from '@strata/platform';
import type { RecordClass } from './audit/audit-chain';
import { PII_ENTITY_TYPES, type GuardrailPolicyInput } from './guardrails';

/** The policy for keys without one of their own: mask PII both ways, block prompt injection. */
export const DEFAULT_GUARDRAIL_POLICY: GuardrailPolicyInput = {
  pii: { rules: [{ entity_types: [...PII_ENTITY_TYPES], mode: 'mask' }] },
  prompt_injection: { mode: 'block' },
  length: { input: { max_chars: 100_000, mode: 'block' } },
};

const jsonPolicy = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as GuardrailPolicyInput;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON guardrail policy' });
    return z.NEVER;
  }
});

/** Environment variables of the governance layer. */
export const governanceEnvSchema = z.object({
  /** A bootstrap admin key chosen by the operator (from a Kubernetes Secret, say), like LiteLLM's master key. */
  STRATA_ADMIN_KEY: env.string().min(32, { error: 'must be at least 32 characters long' }).optional(),
  /** Ed25519 private key (PKCS#8 PEM) that signs audit checkpoints. */
  AUDIT_SIGNING_KEY: env.string().optional(),
  /** Sign a checkpoint every this many audit records. */
  AUDIT_CHECKPOINT_EVERY: env.int(1, 1_000_000).default(100),
  /** Days a generation record keeps its (redacted) prompt and answer. EU AI Act Art. 19: at least six months. */
  AUDIT_RETENTION_DAYS_GENERATION: env.int(183, 36_500).default(183),
  AUDIT_RETENTION_DAYS_DENIED: env.int(183, 36_500).default(365),
  AUDIT_RETENTION_DAYS_ADMIN: env.int(183, 36_500).default(2555),
  /** How often the service applies retention (hours; 0 turns the periodic job off). */
  AUDIT_RETENTION_INTERVAL_HOURS: env.int(0, 8760).default(24),
  /**
   * Seconds between the serving service's audit-chain verifications (0 turns them off). Each checks only what
   * was appended since the last and exports `strata_audit_chain_valid` for alerting.
   */
  AUDIT_VERIFY_INTERVAL_SECONDS: env.int(0, 86_400).default(60),
  /** Hours between verifications of the whole chain from its first record (0: only at start-up). */
  AUDIT_VERIFY_FULL_INTERVAL_HOURS: env.int(0, 8760).default(24),
  /**
   * `sync`: an answer is sent only once its audit record is committed. `async`: the record commits just after,
   * with the next group (lower latency; a crash in between loses it).
   */
  AUDIT_WRITE: env.enum(['sync', 'async'] as const).default('sync'),
  /** Failed authentications a client address may make per minute before it gets 429 with Retry-After. */
  AUTH_FAILURES_PER_MINUTE: env.int(1, 1_000_000).default(30),
  /** Serve `/metrics` without a key (for a Prometheus on a private network). */
  METRICS_PUBLIC: env.bool().default(false),
  /** The default guardrail policy, as JSON; keys may carry their own. */
  GUARDRAILS_POLICY: jsonPolicy.optional(),
});
export type GovernanceConfig = z.output<typeof governanceEnvSchema>;

export function retentionDays(config: GovernanceConfig): Record<RecordClass, number> {
  return {
    generation: config.AUDIT_RETENTION_DAYS_GENERATION,
    denied: config.AUDIT_RETENTION_DAYS_DENIED,
    admin: config.AUDIT_RETENTION_DAYS_ADMIN,
    erasure: config.AUDIT_RETENTION_DAYS_ADMIN,
    retention: config.AUDIT_RETENTION_DAYS_ADMIN,
  };
}

/**
 * The checkpoint signing key: AUDIT_SIGNING_KEY when set; else the key in `file`, created on first start (the
 * standalone keeps it beside its database); else none, and checkpoints are not signed.
 */
export function loadSigningKey(config: GovernanceConfig, file?: string): KeyObject | undefined {
  if (config.AUDIT_SIGNING_KEY) return createPrivateKey(config.AUDIT_SIGNING_KEY);
  if (!file) return undefined;
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  return createPrivateKey(readFileSync(file));
}

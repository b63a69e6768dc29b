import type { AuditChainMonitor } from './audit/audit-chain-monitor';
import type { AuditLog, AuditEntry } from './audit/audit-log';
import { DenialAggregator } from './audit/denial-aggregator';
import { GovernanceError } from './governance-error';
import { GovernanceMetrics, type DenialReason } from './governance-metrics';
import type { ApiKeyService } from './identity/api-keys';
import type { Action } from './identity/permissions';
import { authorize, type Resource } from './identity/policy';
import type { Principal } from './identity/principal';
import { AuthFailureLimiter } from './limits/auth-failure-limiter';
import type { RateLimiter } from './limits/rate-limiter';
import {
  compileGuardrailPolicy,
  parseGuardrailPolicy,
  PII_ENTITY_TYPES,
  type CompiledGuardrails,
  type GuardrailPolicyInput,
  type GuardrailResult,
} from './guardrails';

/** A caller as the API sees it after authentication: who, and which guardrail policy applies. */
export interface Caller {
  principal: Principal;
  guardrails: CompiledGuardrails;
}

export interface GovernanceServiceOptions {
  /** When a generation's audit record must be committed: before the answer (`sync`) or just after (`async`). */
  auditWrite?: 'sync' | 'async';
  /** Told when an asynchronous audit append fails. */
  onAsyncAuditError?: (error: unknown) => void;
  /** Failed authentications a client address may make per minute before it gets 429 (default 30). */
  authFailuresPerMinute?: number;
  /** Unauthenticated denials are audited as one record per address and reason per this window (default 60 s). */
  denialWindowMs?: number;
  /** The clock of the failure budgets and denial windows; tests freeze it. */
  clock?: () => Date;
  /** Counts requests, denials, guardrail actions (and, through the audit log, audit records). */
  metrics?: GovernanceMetrics;
  /** The periodic audit-chain verification, for the service lifecycle to start and stop. */
  auditMonitor?: AuditChainMonitor;
}

/** Who is calling, as far as the transport knows before authentication. */
export interface ClientInfo {
  /** The client's address; requests without one share the bucket `unknown`. */
  address?: string | undefined;
}

/** Masks every PII type: what the audit log stores of prompts and answers, whatever a key's own policy says. */
const AUDIT_REDACTION = compileGuardrailPolicy(
  parseGuardrailPolicy({ pii: { rules: [{ entity_types: [...PII_ENTITY_TYPES], mode: 'mask' }] } }),
);

/**
 * The governance layer's one entry point for an API: authentication, the policy decision, rate limits,
 * guardrails and the audit trail, in the order a request meets them. Every deny is audited before it is thrown.
 */
export class GovernanceService {
  private readonly defaultGuardrails: CompiledGuardrails;
  /** Compiled policies by key id: a key's policy is fixed when the key is created. */
  private readonly compiled = new Map<string, CompiledGuardrails>();
  private readonly authFailures: AuthFailureLimiter;
  private readonly denials: DenialAggregator;
  /** Prometheus counters of this layer (private ones when none were given). */
  readonly metrics: GovernanceMetrics;
  readonly auditMonitor: AuditChainMonitor | undefined;

  constructor(
    readonly keys: ApiKeyService,
    readonly limiter: RateLimiter,
    readonly audit: AuditLog,
    /** The policy for keys that carry none of their own. */
    defaultGuardrails: GuardrailPolicyInput,
    private readonly options: GovernanceServiceOptions = {},
  ) {
    this.defaultGuardrails = compileGuardrailPolicy(parseGuardrailPolicy(defaultGuardrails));
    this.metrics = options.metrics ?? new GovernanceMetrics();
    this.auditMonitor = options.auditMonitor;
    const clock = options.clock;
    this.authFailures = new AuthFailureLimiter({
      perMinute: options.authFailuresPerMinute ?? 30,
      ...(clock ? { now: () => clock().getTime() } : {}),
    });
    this.denials = new DenialAggregator({
      append: (entry) => this.audit.append(entry),
      ...(clock ? { now: clock } : {}),
      ...(options.denialWindowMs === undefined ? {} : { windowMs: options.denialWindowMs }),
      onError: (error) => options.onAsyncAuditError?.(error),
    });
  }

  /** Writes the pending aggregated denials and stops their timer; call before draining the audit log. */
  close(): Promise<void> {
    return this.denials.close();
  }

  /** Writes the pending aggregated denials now (tests, and before a verification). */
  flushDenials(): Promise<void> {
    return this.denials.flush();
  }

  /** Text as the audit log keeps it: every PII finding replaced by its typed placeholder. */
  redactForAudit(text: string): string {
    return AUDIT_REDACTION.apply(text, 'input').text;
  }

  /**
   * Resolves a presented API key (from `Authorization: Bearer …` or `x-api-key`). A failure is `unauthenticated`,
   * counted against the client's address and audited in aggregate (see {@link DenialAggregator}); an address over
   * its failure budget gets `rate_limited` with `Retry-After` instead, until its bucket refills. A valid key is
   * accepted from any address.
   */
  async authenticate(apiKey: string | undefined, action: string, client: ClientInfo = {}): Promise<Caller> {
    const address = client.address || 'unknown';
    if (!apiKey) {
      throw this.authenticationFailed(
        address,
        action,
        new GovernanceError(
          'unauthenticated',
          'an API key is required: send it as "Authorization: Bearer <key>" or "x-api-key: <key>"',
        ),
      );
    }
    try {
      const { principal, guardrails } = await this.keys.authenticate(apiKey);
      this.metrics.request(principal.tenant, action);
      return { principal, guardrails: this.policyFor(principal.keyId, guardrails) };
    } catch (error) {
      if (error instanceof GovernanceError && error.code === 'unauthenticated') {
        throw this.authenticationFailed(address, action, error);
      }
      throw error;
    }
  }

  private authenticationFailed(address: string, action: string, error: GovernanceError): GovernanceError {
    const verdict = this.authFailures.check(address);
    if (verdict.throttled) {
      this.metrics.denial(null, action, 'auth_throttled');
      this.denials.record({ address, action, reason: 'too many failed authentications' });
      return new GovernanceError(
        'rate_limited',
        `too many failed authentications from this address; retry in ${verdict.retryAfterSeconds} s`,
        { retryAfterSeconds: verdict.retryAfterSeconds },
      );
    }
    this.authFailures.fail(address);
    this.metrics.denial(null, action, 'unauthenticated');
    this.denials.record({ address, action, reason: error.message });
    return error;
  }

  /** Allows the action or throws `forbidden`, auditing the denial with its reason. */
  async authorize(caller: Caller, action: Action, resource: Resource = {}): Promise<void> {
    const decision = authorize(caller.principal, action, resource);
    if (decision.allowed) return;
    await this.deny({
      action,
      code: 'forbidden',
      reason: decision.reason,
      principal: caller.principal,
      model: resource.model,
    });
    throw new GovernanceError('forbidden', decision.reason, {
      ...(decision.rule === 'max_new_tokens' ? { field: 'max_new_tokens' } : {}),
    });
  }

  /** Applies the key's rate limits; a refusal is audited. */
  async admit(caller: Caller, action: string): Promise<void> {
    try {
      await this.limiter.admit(caller.principal);
    } catch (error) {
      if (error instanceof GovernanceError) {
        await this.deny({ action, code: 'rate_limited', reason: error.message, principal: caller.principal });
      }
      throw error;
    }
  }

  /**
   * Input guardrails, before the model. A block is audited and thrown as `guardrail_blocked` naming the rule.
   * Output guardrails run on the stream, in `StreamingOutputGuard`.
   */
  async guardInput(caller: Caller, text: string, action: string, model?: string): Promise<GuardrailResult> {
    const result = caller.guardrails.apply(text, 'input');
    this.metrics.guardrails('input', result.actions);
    if (!result.blocked) return result;
    await this.deny({
      action,
      code: 'guardrail_blocked',
      reason: result.blocked.message,
      principal: caller.principal,
      model,
      details: { guardrail: result.blocked.rule, phase: 'input', actions: result.actions },
    });
    throw new GovernanceError('guardrail_blocked', result.blocked.message, { field: 'inputs' });
  }

  /**
   * Records a finished (or failed) model interaction. With `auditWrite: 'sync'` (the default) it resolves once
   * the record is committed, so no answer leaves before its audit record is durable. With `'async'` it resolves
   * at once and the record is written just after the answer left: lower latency, but a crash in that window
   * (milliseconds; a graceful shutdown drains it) loses the record.
   */
  record(entry: AuditEntry): Promise<unknown> {
    const appended = this.audit.append(entry, { later: this.options.auditWrite === 'async' });
    if (this.options.auditWrite !== 'async') return appended;
    appended.catch((error: unknown) => this.options.onAsyncAuditError?.(error));
    return Promise.resolve();
  }

  /** Records an administrative action a caller performed (key, data, registry and feedback operations). */
  recordAdminAction(caller: Caller, action: string, details: Record<string, unknown>): Promise<unknown> {
    return this.record({
      recordClass: 'admin',
      action,
      outcome: 'allowed',
      keyId: caller.principal.keyId,
      tenant: caller.principal.tenant,
      details,
    });
  }

  private policyFor(keyId: string, stored: unknown): CompiledGuardrails {
    if (stored === null || stored === undefined) return this.defaultGuardrails;
    let compiled = this.compiled.get(keyId);
    if (!compiled) {
      compiled = compileGuardrailPolicy(parseGuardrailPolicy(stored as GuardrailPolicyInput));
      this.compiled.set(keyId, compiled);
    }
    return compiled;
  }

  private async deny(denial: {
    action: string;
    code: DenialReason;
    reason: string;
    principal?: Principal;
    model?: string | undefined;
    details?: Record<string, unknown>;
  }): Promise<void> {
    this.metrics.denial(denial.principal?.tenant, denial.action, denial.code);
    await this.audit.append({
      recordClass: 'denied',
      action: denial.action,
      outcome: 'denied',
      keyId: denial.principal?.keyId ?? null,
      tenant: denial.principal?.tenant ?? null,
      model: denial.model ?? null,
      details: { reason: denial.reason, ...denial.details },
    });
  }
}

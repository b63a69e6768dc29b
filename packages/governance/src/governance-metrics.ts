import { Counter, Registry } from 'prom-client';
import type { MetricsRegistry } from '@strata/platform';
import type { ChainRow } from './audit/audit-chain';
import type { GuardrailAction, GuardrailPhase } from './guardrails';
import type { StreamingOutputGuard } from './streaming-output-guard';

/** Why governance refused a request: the error code the caller gets, plus failed authentications over budget. */
export type DenialReason =
  'unauthenticated' | 'auth_throttled' | 'forbidden' | 'rate_limited' | 'guardrail_blocked';

/**
 * The governance layer's Prometheus metrics: requests by tenant, denials by reason, guardrail actions and audit
 * volume.
 *
 * Every label has a bounded set of values. `tenant` is the tenant of a configured API key (an operator creates
 * them), or empty for a request whose key was not accepted; keys, subjects and client addresses are never
 * labels. `action` is a permission (`generate`, `keys.create`, …) or a generation route pattern.
 * `guardrail`, `entity` and `mode` come from the guardrail policy's closed vocabularies.
 *
 * The application registers these on its registry by passing it in; without one they are counted privately.
 */
export class GovernanceMetrics {
  readonly requests: Counter<'tenant' | 'action'>;
  readonly denials: Counter<'tenant' | 'action' | 'reason'>;
  readonly guardrailActions: Counter<'stage' | 'guardrail' | 'entity' | 'action'>;
  readonly auditRecords: Counter<'record_class'>;

  constructor(registry: MetricsRegistry = new Registry()) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'strata_governance_requests_total',
      help: 'Requests whose API key was accepted, by the key’s tenant and the action asked for.',
      labelNames: ['tenant', 'action'],
      registers,
    });
    this.denials = new Counter({
      name: 'strata_governance_denials_total',
      help:
        'Requests governance refused, by tenant (empty when the key was not accepted), action and reason ' +
        '(unauthenticated, auth_throttled, forbidden, rate_limited, guardrail_blocked).',
      labelNames: ['tenant', 'action', 'reason'],
      registers,
    });
    this.guardrailActions = new Counter({
      name: 'strata_guardrail_actions_total',
      help:
        'Findings the guardrails acted on, by stage (input, output), guardrail (pii, blocklist, ' +
        'prompt_injection, length), PII entity type (empty for other guardrails) and action (mask, block, log).',
      labelNames: ['stage', 'guardrail', 'entity', 'action'],
      registers,
    });
    this.auditRecords = new Counter({
      name: 'strata_audit_records_total',
      help: 'Audit records this process committed to the hash chain, by record class.',
      labelNames: ['record_class'],
      registers,
    });
  }

  /** A request whose key was accepted. */
  request(tenant: string, action: string): void {
    this.requests.inc({ tenant, action });
  }

  /** A request refused; `tenant` is null when no key was accepted. */
  denial(tenant: string | null | undefined, action: string, reason: DenialReason): void {
    this.denials.inc({ tenant: tenant ?? '', action, reason });
  }

  /** What the guardrails did to one text (the prompt, or a whole streamed answer). */
  guardrails(stage: GuardrailPhase, actions: readonly GuardrailAction[]): void {
    for (const action of actions) {
      this.guardrailActions.inc(
        { stage, guardrail: action.rule, entity: action.entity_type ?? '', action: action.mode },
        action.count,
      );
    }
  }

  /** What the output guardrails did to one streamed answer, the rule that blocked it included. */
  outputGuard(guard: StreamingOutputGuard): void {
    this.guardrails('output', guard.actions);
    const blocked = guard.blocked;
    if (blocked) {
      this.guardrailActions.inc({
        stage: 'output',
        guardrail: blocked.rule,
        entity: blocked.entity_type ?? '',
        action: 'block',
      });
    }
  }

  /** Records that committed (an audit log's `onCommitted`). */
  committed(rows: readonly ChainRow[]): void {
    for (const row of rows) this.auditRecords.inc({ record_class: row.header.recordClass });
  }
}

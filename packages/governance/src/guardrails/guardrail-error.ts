import { StrataError } from '@strata/contracts';
import type { PiiEntityType } from './pii-entities';
import type { GuardrailPhase, GuardrailRule } from './guardrail-policy';

/**
 * A guardrail stopped a request (`guardrail_blocked`, with `rule` naming the rule that fired), or a
 * guardrail policy is invalid (`validation_failed`, with `field` naming the bad value). Both are the
 * caller's to fix: HTTP 422.
 */
export class GuardrailError extends StrataError {
  readonly rule: GuardrailRule | undefined;
  readonly entityType: PiiEntityType | undefined;
  readonly phase: GuardrailPhase | undefined;

  constructor(
    code: 'guardrail_blocked' | 'validation_failed',
    message: string,
    options: {
      field?: string;
      rule?: GuardrailRule;
      entityType?: PiiEntityType;
      phase?: GuardrailPhase;
    } = {},
  ) {
    super(code, message, options.field);
    this.rule = options.rule;
    this.entityType = options.entityType;
    this.phase = options.phase;
  }
}

import { StrataError } from '@strata/contracts';
import type { PiiEntityType } from './pii-entities';
import type { GuardrailPhase, GuardrailRule } from './guardrail-policy';

/**
 * A guardrail stopped a request, or a guardrail policy is invalid. Both are the caller's to fix, so the
 * code is `validation_failed` (HTTP 422); `rule` names the rule that blocked.
 */
export class GuardrailError extends StrataError {
  readonly rule: GuardrailRule | undefined;
  readonly entityType: PiiEntityType | undefined;
  readonly phase: GuardrailPhase | undefined;

  constructor(
    code: 'validation_failed',
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

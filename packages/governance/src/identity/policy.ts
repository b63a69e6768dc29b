import { ACTION_DESCRIPTIONS, roleAllows, ROLE_MAX_NEW_TOKENS, type Action } from './permissions';
import type { Principal } from './principal';

/** What an action is done to: the model a generation uses, for instance. */
export interface Resource {
  model?: string;
  /** Requested `max_new_tokens`, checked against the role and key caps. */
  maxNewTokens?: number;
}

export type Decision =
  | { allowed: true; reason: string }
  | { allowed: false; reason: string; rule: 'role' | 'model_allowlist' | 'max_new_tokens' };

/**
 * The one policy decision point: may `principal` do `action` to `resource`? Every deny carries the reason,
 * which the API returns and the audit log records.
 */
export function authorize(principal: Principal, action: Action, resource: Resource = {}): Decision {
  const granting = principal.roles.filter((role) => roleAllows(role, action));
  if (granting.length === 0) {
    return {
      allowed: false,
      rule: 'role',
      reason: `key ${principal.keyId} (roles: ${principal.roles.join(', ') || 'none'}) may not ${ACTION_DESCRIPTIONS[action]}`,
    };
  }
  if (
    resource.model !== undefined &&
    principal.models !== undefined &&
    !principal.models.includes(resource.model)
  ) {
    return {
      allowed: false,
      rule: 'model_allowlist',
      reason: `key ${principal.keyId} may not use model ${resource.model} (allowed: ${principal.models.join(', ') || 'none'})`,
    };
  }
  if (resource.maxNewTokens !== undefined) {
    const cap = maxNewTokensCap(principal);
    if (resource.maxNewTokens > cap) {
      return {
        allowed: false,
        rule: 'max_new_tokens',
        reason: `max_new_tokens ${resource.maxNewTokens} exceeds this key's cap of ${cap}`,
      };
    }
  }
  return { allowed: true, reason: `granted by role ${granting.join(', ')}` };
}

/** The largest `max_new_tokens` a principal may request: its most generous role's cap, lowered by its key. */
export function maxNewTokensCap(principal: Principal): number {
  const roleCap = Math.max(0, ...principal.roles.map((role) => ROLE_MAX_NEW_TOKENS[role]));
  return Math.min(roleCap, principal.limits.maxNewTokens ?? Number.POSITIVE_INFINITY);
}

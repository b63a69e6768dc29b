import type { KeyObject } from 'node:crypto';
import { migrate, type Database, type Logger } from '@strata/platform';
import { publishAuditRecords } from './audit/audit-events';
import { AuditLog } from './audit/audit-log';
import { DEFAULT_GUARDRAIL_POLICY, type GovernanceConfig } from './governance-config';
import { GOVERNANCE_MIGRATIONS } from './governance-migrations';
import { GovernanceService } from './governance-service';
import { ApiKeyService } from './identity/api-keys';
import { RateLimiter } from './limits/rate-limiter';
import { DatabaseTokenBuckets, InMemoryTokenBuckets } from './limits/token-buckets';

/**
 * Builds the governance layer on a database: runs its migrations, and keeps rate-limit counters in-process on
 * the embedded database (one process) or in PostgreSQL (shared by every replica). Audit records go to the
 * outbox as `governance.audit.recorded` events in the same transaction, so the platform's migrations (the
 * outbox table) must have run first.
 */
export async function createGovernance(
  database: Database,
  config: GovernanceConfig,
  options: {
    signingKey?: KeyObject | undefined;
    logger?: Logger;
    /** The clock key expiry is judged by; tests move it instead of sleeping. */
    clock?: () => Date;
  } = {},
): Promise<GovernanceService> {
  await migrate(database, GOVERNANCE_MIGRATIONS, options.logger);
  const buckets =
    database.engine === 'pglite' ? new InMemoryTokenBuckets() : new DatabaseTokenBuckets(database);
  const audit = new AuditLog(database, {
    ...(options.signingKey ? { signingKey: options.signingKey } : {}),
    checkpointEvery: config.AUDIT_CHECKPOINT_EVERY,
    onAppended: publishAuditRecords,
  });
  return new GovernanceService(
    new ApiKeyService(database, options.clock),
    new RateLimiter(buckets),
    audit,
    config.GUARDRAILS_POLICY ?? DEFAULT_GUARDRAIL_POLICY,
    {
      auditWrite: config.AUDIT_WRITE,
      authFailuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
      ...(options.clock ? { clock: options.clock } : {}),
      onAsyncAuditError: (error) =>
        options.logger?.error({ err: error }, 'an audit record could not be written'),
    },
  );
}

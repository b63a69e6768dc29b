import { createPublicKey, type KeyObject } from 'node:crypto';
import { migrate, type Database, type Logger, type MetricsRegistry } from '@strata/platform';
import { AuditChainMonitor } from './audit/audit-chain-monitor';
import { auditRecordedMessages } from './audit/audit-events';
import { AuditLog } from './audit/audit-log';
import { DEFAULT_GUARDRAIL_POLICY, type GovernanceConfig } from './governance-config';
import { GOVERNANCE_MIGRATIONS } from './governance-migrations';
import { GovernanceMetrics } from './governance-metrics';
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
    /** Registers the governance metrics (and the audit-chain monitor's gauges) here. */
    metrics?: MetricsRegistry;
    /**
     * Build an {@link AuditChainMonitor} on `GovernanceService.auditMonitor` (unless AUDIT_VERIFY_INTERVAL_SECONDS
     * is 0). The caller starts and stops it: the serving service does, with its lifecycle.
     */
    monitorAuditChain?: boolean;
  } = {},
): Promise<GovernanceService> {
  await migrate(database, GOVERNANCE_MIGRATIONS, options.logger);
  const buckets =
    database.engine === 'pglite' ? new InMemoryTokenBuckets() : new DatabaseTokenBuckets(database);
  const metrics = new GovernanceMetrics(options.metrics);
  // On the embedded database in a folder this replays the audit journal before anything else runs.
  const audit = await AuditLog.open(database, {
    ...(options.signingKey ? { signingKey: options.signingKey } : {}),
    checkpointEvery: config.AUDIT_CHECKPOINT_EVERY,
    events: auditRecordedMessages,
    onCommitted: (rows) => metrics.committed(rows),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const auditMonitor =
    options.monitorAuditChain && config.AUDIT_VERIFY_INTERVAL_SECONDS > 0
      ? new AuditChainMonitor(database, audit, {
          intervalSeconds: config.AUDIT_VERIFY_INTERVAL_SECONDS,
          fullIntervalHours: config.AUDIT_VERIFY_FULL_INTERVAL_HOURS,
          verifyKey: options.signingKey ? createPublicKey(options.signingKey) : undefined,
          ...(options.metrics ? { metrics: options.metrics } : {}),
          ...(options.logger ? { logger: options.logger } : {}),
        })
      : undefined;
  return new GovernanceService(
    new ApiKeyService(database, options.clock),
    new RateLimiter(buckets),
    audit,
    config.GUARDRAILS_POLICY ?? DEFAULT_GUARDRAIL_POLICY,
    {
      auditWrite: config.AUDIT_WRITE,
      authFailuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
      metrics,
      ...(auditMonitor ? { auditMonitor } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      onAsyncAuditError: (error) =>
        options.logger?.error({ err: error }, 'an audit record could not be written'),
    },
  );
}

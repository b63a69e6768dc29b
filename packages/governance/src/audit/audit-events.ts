import { createEvent, TOPICS, type AuditRecordedV1 } from '@strata/contracts';
import { outboxMessage, type OutboxMessage } from '@strata/platform';
import type { ChainRow } from './audit-chain';

const OUTCOMES: Record<string, AuditRecordedV1['outcome']> = {
  denied: 'denied',
  failed: 'failed',
  cancelled: 'failed',
};

/** The `governance.audit.recorded` event of an audit record: its header facts and hashes, no personal data. */
export function auditRecordedEvent(row: ChainRow): AuditRecordedV1 {
  const h = row.header;
  return {
    sequence: h.seq,
    actor: h.keyId ? { type: 'api_key', id: h.keyId } : { type: 'service', id: 'strata' },
    action: h.action,
    resource: h.model ? { type: 'model', id: h.model } : { type: h.recordClass, id: h.id },
    outcome: OUTCOMES[h.outcome] ?? 'allowed',
    details: { record_class: h.recordClass, tenant: h.tenant, record_id: h.id },
    previousHash: row.prevHash,
    hash: row.hash,
  };
}

/**
 * The outbox messages of appended records, one `governance.audit.recorded` event each, all with the key `audit`
 * so they stay in chain order. The audit log commits them with the records (its `events` option).
 */
export function auditRecordedMessages(rows: readonly ChainRow[]): OutboxMessage[] {
  return rows.map((row) => {
    const event = createEvent(TOPICS.auditRecorded, auditRecordedEvent(row), {
      source: 'strata.governance',
      occurredAt: row.header.occurredAt,
    });
    return outboxMessage(TOPICS.auditRecorded, event, { key: 'audit' });
  });
}

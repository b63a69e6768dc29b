import { z } from 'zod';
import { Sha256Schema } from './event-fields';

/** Payloads of the governance layer's topics. Frozen once published. */

/** `governance.audit.recorded` v1: an entry appended to the hash-chained audit log. */
export const AuditRecordedV1Schema = z.strictObject({
  /** Position in the log, from 0; with the hashes it lets a reader detect a removed or altered entry. */
  sequence: z.int().nonnegative(),
  actor: z.strictObject({
    type: z.enum(['api_key', 'user', 'service']),
    id: z.string().min(1).max(200),
  }),
  /** What was attempted, e.g. `generate`, `dataset.publish`, `model.promote`. */
  action: z.string().min(1).max(200),
  resource: z.strictObject({ type: z.string().min(1).max(100), id: z.string().min(1).max(500) }),
  outcome: z.enum(['allowed', 'denied', 'failed']),
  requestId: z.string().min(1).max(200).optional(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  /** SHA-256 of the previous entry (64 zeros for the first) and of this one. */
  previousHash: Sha256Schema,
  hash: Sha256Schema,
});
export type AuditRecordedV1 = z.infer<typeof AuditRecordedV1Schema>;

/**
 * Wire types of the admin and audit API (`/admin/*`, `/audit/*`), shared by the server and its clients such as
 * the `strata` CLI. Types only: the server validates requests with the governance layer's schemas.
 */

/** Per-key limits, as created and listed. */
export interface KeyLimitsView {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  maxNewTokens?: number;
}

/** `POST /admin/keys` body. */
export interface CreateKeyRequest {
  tenant: string;
  name: string;
  roles: string[];
  models?: string[];
  limits?: KeyLimitsView;
  guardrails?: Record<string, unknown>;
  /** ISO 8601 with an offset. */
  expires_at?: string;
}

/** An API key as listed: never the key itself. */
export interface ApiKeyView {
  key_id: string;
  tenant: string;
  name: string;
  roles: string[];
  models: string[] | null;
  limits: KeyLimitsView;
  guardrails: Record<string, unknown> | null;
  created_at: string;
  created_by: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

/** `POST /admin/keys` answer: the only time the key itself appears. */
export interface CreatedKey {
  api_key: string;
  key: ApiKeyView;
}

/** Filters of `GET /audit/records` and `GET /audit/export` (query parameters). */
export interface AuditFilter {
  from?: string;
  to?: string;
  key_id?: string;
  tenant?: string;
  model?: string;
  record_class?: string;
}

/** An audit record as searched or exported: its header, and its personal fields while they can be read. */
export interface AuditRecordView {
  seq: number;
  id: string;
  occurredAt: string;
  recordClass: string;
  action: string;
  outcome: string;
  keyId: string | null;
  tenant: string | null;
  model: string | null;
  subjectId: string | null;
  /** Non-personal facts: parameters, policy decision, guardrail actions, latency, token counts. */
  details: Record<string, unknown>;
  personal: Record<string, unknown> | null;
  /** `erased`: the subject's key was destroyed; `expired`: retention removed the payload. */
  personalState: 'present' | 'none' | 'erased' | 'expired';
  hash: string;
}

/** `POST /audit/verify` answer. */
export interface VerifyReport {
  ok: boolean;
  records: number;
  checkpoints: number;
  /** The first record found wrong, and why. */
  firstProblem?: { seq: number; reason: string };
}

export interface ErasureResult {
  records: number;
}

export interface RetentionResult {
  purged: Record<string, number>;
}

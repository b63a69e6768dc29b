import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Database, Queryable } from '@strata/platform';
import { GovernanceError } from '../governance-error';
import { ROLES, type Role } from './permissions';
import type { KeyLimits, Principal } from './principal';

/**
 * Every Strata key starts with this, so secret scanners (and people) recognise a leaked one, as GitHub's
 * `ghp_` and OpenAI's `sk-` prefixes do.
 */
export const API_KEY_PREFIX = 'sk-strata-';

const KeyLimitsSchema = z.strictObject({
  requestsPerMinute: z.int().positive().optional(),
  tokensPerMinute: z.int().positive().optional(),
  maxNewTokens: z.int().positive().optional(),
});

/** What an operator gives to create a key (admin API and CLI). */
export const CreateKeySchema = z.strictObject({
  tenant: z.string().trim().min(1).max(128),
  name: z.string().trim().min(1).max(128),
  roles: z.array(z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` })).min(1),
  models: z.array(z.string().min(1)).optional(),
  limits: KeyLimitsSchema.optional(),
  /** A guardrail policy for this key (see the guardrails module), stored as given. */
  guardrails: z.record(z.string(), z.unknown()).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
});
export type CreateKeyInput = z.input<typeof CreateKeySchema>;

/** A key as stored and listed: never the key itself, only its hash. */
export interface ApiKeyRecord {
  keyId: string;
  tenant: string;
  name: string;
  roles: Role[];
  models: string[] | null;
  limits: KeyLimits;
  guardrails: Record<string, unknown> | null;
  createdAt: Date;
  createdBy: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** The stored columns, named as the record's fields, so rows are records as they come. */
const KEY_COLUMNS = `key_id as "keyId", tenant, name, roles, models, limits, guardrails, created_at as "createdAt",
  created_by as "createdBy", expires_at as "expiresAt", revoked_at as "revokedAt"`;

/** Only the hash of a key is stored. Keys carry 256 random bits, so a fast hash cannot be brute-forced. */
export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey).digest('hex');

/** How long an authenticated key is remembered in-process; a revocation reaches other replicas within it. */
const AUTH_CACHE_MS = 2_000;

/**
 * API keys: shown once at creation, stored as a SHA-256 hash, revocable, with an optional expiry. Each belongs to
 * a tenant and carries roles, an optional model allowlist, limits and a guardrail policy.
 */
export class ApiKeyService {
  private readonly cache = new Map<string, { principal: Principal; guardrails: unknown; until: number }>();

  constructor(
    private readonly database: Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Creates a key and returns it in full, the only time it is ever shown. */
  async create(input: CreateKeyInput, createdBy: string | null, db: Queryable = this.database) {
    const parsed = parseInput(input);
    const apiKey = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record = await this.insert(apiKey, parsed, createdBy, db);
    return { apiKey, record };
  }

  /**
   * Registers an operator-chosen key (`STRATA_ADMIN_KEY`, from a Kubernetes Secret for instance) as an admin
   * key, unless it is registered already. Returns the record either way.
   */
  async registerBootstrapKey(apiKey: string): Promise<ApiKeyRecord> {
    if (apiKey.length < 32) {
      throw new GovernanceError('validation_failed', 'STRATA_ADMIN_KEY must be at least 32 characters long', {
        field: 'STRATA_ADMIN_KEY',
      });
    }
    const existing = await this.findByHash(hashApiKey(apiKey));
    if (existing) return existing;
    return this.insert(
      apiKey,
      parseInput({ tenant: 'platform', name: 'bootstrap admin', roles: ['admin'] }),
      null,
    );
  }

  /** Whether any usable admin key exists (the standalone creates one on first start when not). */
  async hasAdminKey(): Promise<boolean> {
    const { rows } = await this.database.query(
      `select 1 from governance_api_keys
        where roles ? 'admin' and revoked_at is null and (expires_at is null or expires_at > $1) limit 1`,
      [this.now()],
    );
    return rows.length > 0;
  }

  async list(filter: { tenant?: string } = {}): Promise<ApiKeyRecord[]> {
    const { rows } = await this.database.query<ApiKeyRecord>(
      `select ${KEY_COLUMNS} from governance_api_keys where ($1::text is null or tenant = $1) order by created_at, key_id`,
      [filter.tenant ?? null],
    );
    return rows;
  }

  /** Revokes a key at once: this process forgets it, other replicas within {@link AUTH_CACHE_MS}. */
  async revoke(keyId: string, db: Queryable = this.database): Promise<ApiKeyRecord> {
    const { rows } = await db.query<ApiKeyRecord>(
      `update governance_api_keys set revoked_at = coalesce(revoked_at, $2) where key_id = $1 returning ${KEY_COLUMNS}`,
      [keyId, this.now()],
    );
    const row = rows[0];
    if (!row) throw new GovernanceError('not_found', `no API key ${keyId}`, { field: 'key_id' });
    for (const [hash, entry] of this.cache) if (entry.principal.keyId === keyId) this.cache.delete(hash);
    return row;
  }

  /**
   * The principal behind a presented key. Rejects a malformed, unknown, revoked or expired key with
   * `unauthenticated` and a reason; the reason never reveals whether another tenant's key exists.
   */
  async authenticate(apiKey: string): Promise<{ principal: Principal; guardrails: unknown }> {
    const hash = hashApiKey(apiKey);
    const now = this.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now.getTime()) return cached;
    const record = await this.findByHash(hash);
    if (!record) throw new GovernanceError('unauthenticated', 'the API key is not valid');
    if (record.revokedAt) throw new GovernanceError('unauthenticated', `API key ${record.keyId} was revoked`);
    if (record.expiresAt && record.expiresAt <= now) {
      throw new GovernanceError(
        'unauthenticated',
        `API key ${record.keyId} expired at ${record.expiresAt.toISOString()}`,
      );
    }
    const principal: Principal = {
      keyId: record.keyId,
      tenant: record.tenant,
      name: record.name,
      roles: record.roles,
      ...(record.models ? { models: record.models } : {}),
      limits: record.limits,
    };
    const until = Math.min(
      now.getTime() + AUTH_CACHE_MS,
      record.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
    );
    const entry = { principal, guardrails: record.guardrails, until };
    this.cache.set(hash, entry);
    return entry;
  }

  private async insert(
    apiKey: string,
    input: z.output<typeof CreateKeySchema>,
    createdBy: string | null,
    db: Queryable = this.database,
  ): Promise<ApiKeyRecord> {
    // The id is public (logs, audit, revocation); it is not derived from the secret.
    const keyId = `key_${randomBytes(8).toString('hex')}`;
    const { rows } = await db.query<ApiKeyRecord>(
      `insert into governance_api_keys
         (key_id, key_hash, tenant, name, roles, models, limits, guardrails, created_by, expires_at, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       returning ${KEY_COLUMNS}`,
      [
        keyId,
        hashApiKey(apiKey),
        input.tenant,
        input.name,
        JSON.stringify(input.roles),
        input.models ? JSON.stringify(input.models) : null,
        JSON.stringify(input.limits ?? {}),
        input.guardrails ? JSON.stringify(input.guardrails) : null,
        createdBy,
        input.expires_at ? new Date(input.expires_at) : null,
        this.now(),
      ],
    );
    return rows[0]!;
  }

  private async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.database.query<ApiKeyRecord>(
      `select ${KEY_COLUMNS} from governance_api_keys where key_hash = $1`,
      [hash],
    );
    return rows[0];
  }
}

function parseInput(input: CreateKeyInput): z.output<typeof CreateKeySchema> {
  const result = CreateKeySchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  throw new GovernanceError('validation_failed', `${field}: ${issue.message}`, { field });
}

import { createEvent, TOPICS, type LineageDataset } from '@strata/contracts';
import { enqueueEvent, type Database, type Queryable } from '@strata/platform';
import { RegistryError } from './registry-error';

/** The registry's own actions, named as governance's permission matrix names them. */
export type RegistryAction = 'model.register' | 'model.promote';

/**
 * Who changes the registry: a principal (an API key id or a service name) and the registry actions its roles
 * allow. The edges build it from an authenticated caller; the registry refuses what it does not allow.
 */
export interface RegistryActor {
  principal: string;
  tenant: string | null;
  allowed: ReadonlySet<RegistryAction>;
}

/** A registry change as the audit trail records it. */
export interface RegistryAuditEntry {
  action: 'model.register' | 'model.alias.set' | 'model.alias.rollback' | 'model.gate';
  outcome: 'allowed' | 'denied' | 'passed' | 'failed';
  actor: RegistryActor;
  model: string;
  details: Record<string, unknown>;
}

export interface ModelRegistryOptions {
  /** Writes one audit record per change and per refused change (governance's audit log in the services). */
  audit?: (entry: RegistryAuditEntry) => Promise<void>;
  /** The `source` of the events the registry publishes. */
  eventSource?: string;
}

/** A model version as a lineage graph names it: `models:/<name>/<version>`, as MLflow writes model URIs. */
export function modelVersionUri(version: { name: string; version: number }): string {
  return `models:/${version.name}/${version.version}`;
}

/** A dataset version a model was trained on: the end of the data layer's lineage. */
export interface TrainedOn {
  dataset: LineageDataset;
  version: number;
}

/** Where a version's weights come from: a base model and, for fine-tunes, the adapter trained on it. */
export interface AdapterInfo {
  /** PEFT vocabulary: `lora`, or `none` when the base model is registered unchanged. */
  type: string;
  config?: Record<string, unknown>;
}

export interface ModelVersion {
  name: string;
  version: number;
  /** Object-store prefix of the artifacts. */
  source: string;
  /** SHA-256 of each artifact file, by path under `source`. */
  checksums: Record<string, string>;
  baseModel: string;
  adapter: AdapterInfo | null;
  trainedOn: TrainedOn[];
  metrics: Record<string, number>;
  tags: Record<string, string>;
  runId: string | null;
  gate: GateRecord | null;
  createdBy: string;
  createdAt: Date;
  /** Aliases that point at this version now. */
  aliases: string[];
}

/** The promotion gate's verdict, recorded on the candidate version whether it passed or not. */
export interface GateRecord {
  passed: boolean;
  against: { alias: string; version: number | null };
  reasons: string[];
  decidedAt: string;
}

export interface RegisteredModel {
  name: string;
  description: string;
  createdBy: string;
  createdAt: Date;
  latestVersion: number | null;
  aliases: Record<string, number>;
}

export interface AliasMove {
  id: number;
  alias: string;
  fromVersion: number | null;
  toVersion: number;
  movedBy: string;
  reason: string;
  movedAt: Date;
}

export interface RegisterVersionInput {
  name: string;
  source: string;
  checksums: Record<string, string>;
  baseModel: string;
  adapter?: AdapterInfo | null;
  trainedOn?: TrainedOn[];
  metrics?: Record<string, number>;
  tags?: Record<string, string>;
  runId?: string | null;
  description?: string;
}

/** What decided an alias move, as `model.version.promoted` carries it. */
export interface PromotionBasis {
  metric: string;
  better: 'lower' | 'higher';
  candidate: number;
  champion: number | null;
}

export interface SetAliasOptions {
  reason: string;
  basis?: PromotionBasis;
  /**
   * Runs before the move, outside the transaction: a check that the version loads and serves. If it throws,
   * the alias stays where it was.
   */
  verify?: (version: ModelVersion) => Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ALIAS = /^[a-z][a-z0-9_-]{0,99}$/;
/** Advisory lock class for alias moves: one move per (model, alias) at a time, across processes. */
const ALIAS_LOCK = 0x5354_4d01;

interface VersionRow {
  name: string;
  version: number;
  source: string;
  checksums: Record<string, string>;
  base_model: string;
  adapter: AdapterInfo | null;
  trained_on: TrainedOn[];
  metrics: Record<string, number>;
  tags: Record<string, string>;
  run_id: string | null;
  gate: GateRecord | null;
  created_by: string;
  created_at: Date;
  aliases: string[] | null;
}

const VERSION_COLUMNS = `v.name, v.version, v.source, v.checksums, v.base_model, v.adapter, v.trained_on, v.metrics,
  v.tags, v.run_id, v.gate, v.created_by, v.created_at,
  (select coalesce(json_agg(a.alias order by a.alias), '[]'::json) from model_aliases a
    where a.name = v.name and a.version = v.version) as aliases`;

/**
 * The model registry on the platform database (PGlite embedded, PostgreSQL at scale), in MLflow's terms:
 * registered models, numbered versions and aliases such as `champion`. Registering a version and moving an alias
 * each commit in one transaction with their outbox event (`model.version.registered`, `model.version.promoted`),
 * so the event is published exactly when the change is durable. Alias moves of one alias are serialised by an
 * advisory lock, so concurrent promotions apply one after the other and the move history stays a chain.
 */
export class ModelRegistry {
  private readonly source: string;

  constructor(
    private readonly database: Database,
    private readonly options: ModelRegistryOptions = {},
  ) {
    this.source = options.eventSource ?? 'strata.model.registry';
  }

  /** Creates the registered model if it does not exist yet. */
  async ensureModel(actor: RegistryActor, name: string, description = ''): Promise<void> {
    await this.authorize(actor, 'model.register', name);
    await this.database.query(
      `insert into model_registered_models (name, description, created_by) values ($1, $2, $3)
       on conflict (name) do nothing`,
      [checkName(name), description, actor.principal],
    );
  }

  /**
   * Registers the next version of `input.name` (creating the registered model on first use). The artifacts must
   * already be in the object store under `input.source`; their checksums are recorded so every load can verify
   * them. The version row and its `model.version.registered` event commit together: a crash leaves either both
   * or neither, never a half-registered version.
   */
  async registerVersion(actor: RegistryActor, input: RegisterVersionInput): Promise<ModelVersion> {
    await this.authorize(actor, 'model.register', input.name);
    const name = checkName(input.name);
    if (Object.keys(input.checksums).length === 0) {
      throw new RegistryError('validation_failed', 'checksums: a version needs at least one artifact file');
    }
    for (const [file, sum] of Object.entries(input.checksums)) {
      if (!/^[0-9a-f]{64}$/.test(sum)) {
        throw new RegistryError('validation_failed', `checksums.${file}: must be a lowercase hex SHA-256`);
      }
    }
    const version = await this.database.transaction(async (tx) => {
      await tx.query(
        `insert into model_registered_models (name, description, created_by) values ($1, $2, $3)
         on conflict (name) do nothing`,
        [name, input.description ?? '', actor.principal],
      );
      // Serialises version numbering per model across processes.
      await tx.query('select pg_advisory_xact_lock($1::int, hashtext($2))', [ALIAS_LOCK, `${name}#versions`]);
      const { rows } = await tx.query<{ next: number }>(
        'select coalesce(max(version), 0)::int + 1 as next from model_versions where name = $1',
        [name],
      );
      const next = rows[0]!.next;
      await tx.query(
        `insert into model_versions (name, version, source, checksums, base_model, adapter, trained_on, metrics,
           tags, run_id, created_by)
         values ($1, $2, $3, $4::jsonb, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9::jsonb, $10, $11)`,
        [
          name,
          next,
          input.source,
          JSON.stringify(input.checksums),
          input.baseModel,
          input.adapter ? JSON.stringify(input.adapter) : null,
          JSON.stringify(input.trainedOn ?? []),
          JSON.stringify(input.metrics ?? {}),
          JSON.stringify(input.tags ?? {}),
          input.runId ?? null,
          actor.principal,
        ],
      );
      const first = input.trainedOn?.[0];
      // The v1 event names one training dataset; versions registered without one (a base model) publish none.
      if (first) {
        const event = createEvent(
          TOPICS.modelVersionRegistered,
          {
            model: { name, version: String(next) },
            source: input.source,
            baseModel: input.baseModel,
            ...(input.runId ? { runId: input.runId } : {}),
            trainedOn: { dataset: first.dataset, version: first.version },
            metrics: finiteMetrics(input.metrics ?? {}),
            ...(input.tags && Object.keys(input.tags).length > 0 ? { tags: input.tags } : {}),
          },
          { source: this.source, subject: name },
        );
        await enqueueEvent(tx, TOPICS.modelVersionRegistered, event, { key: name });
      }
      return next;
    });
    await this.options.audit?.({
      action: 'model.register',
      outcome: 'allowed',
      actor,
      model: name,
      details: {
        version,
        source: input.source,
        base_model: input.baseModel,
        trained_on: input.trainedOn ?? [],
      },
    });
    return this.getVersion(name, version);
  }

  /** Adds evaluation metrics to a version (merged over the ones it has). */
  async logVersionMetrics(
    actor: RegistryActor,
    name: string,
    version: number,
    metrics: Record<string, number>,
  ): Promise<void> {
    await this.authorize(actor, 'model.register', name);
    const { rowCount } = await this.database.query(
      'update model_versions set metrics = metrics || $3::jsonb where name = $1 and version = $2',
      [name, version, JSON.stringify(finiteMetrics(metrics))],
    );
    if (rowCount === 0) throw notFound(name, version);
  }

  /** Records the promotion gate's verdict on a version, and audits it. */
  async recordGate(actor: RegistryActor, name: string, version: number, gate: GateRecord): Promise<void> {
    await this.authorize(actor, 'model.promote', name);
    const { rowCount } = await this.database.query(
      'update model_versions set gate = $3::jsonb where name = $1 and version = $2',
      [name, version, JSON.stringify(gate)],
    );
    if (rowCount === 0) throw notFound(name, version);
    await this.options.audit?.({
      action: 'model.gate',
      outcome: gate.passed ? 'passed' : 'failed',
      actor,
      model: name,
      details: { version, against: gate.against, reasons: gate.reasons },
    });
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    const { rows } = await this.database.query<VersionRow>(
      `select ${VERSION_COLUMNS} from model_versions v where v.name = $1 and v.version = $2`,
      [name, version],
    );
    if (!rows[0]) throw notFound(name, version);
    return toVersion(rows[0]);
  }

  /** The version an alias points at, or undefined when the alias is not set. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    const { rows } = await this.database.query<VersionRow>(
      `select ${VERSION_COLUMNS} from model_versions v
         join model_aliases al on al.name = v.name and al.version = v.version
        where al.name = $1 and al.alias = $2`,
      [name, alias],
    );
    return rows[0] ? toVersion(rows[0]) : undefined;
  }

  /** A version by number, or by alias when `ref` starts with `@` or is not a number. */
  async resolve(name: string, ref: string): Promise<ModelVersion> {
    if (/^[1-9][0-9]*$/.test(ref)) return this.getVersion(name, Number(ref));
    const alias = ref.replace(/^@/, '');
    const found = await this.getVersionByAlias(name, alias);
    if (!found) throw new RegistryError('not_found', `model ${name} has no alias @${alias}`);
    return found;
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    const { rows } = await this.database.query<VersionRow>(
      `select ${VERSION_COLUMNS} from model_versions v where v.name = $1 order by v.version`,
      [name],
    );
    return rows.map(toVersion);
  }

  /**
   * The versions, of any model, trained on a dataset version: a `trainedOn` entry names it as
   * `<dataset>@<versionId>`. The model end of the data layer's lineage, ordered by model and version.
   */
  async versionsTrainedOn(datasetVersionId: string): Promise<ModelVersion[]> {
    const { rows } = await this.database.query<VersionRow>(
      `select ${VERSION_COLUMNS} from model_versions v
        where exists (select 1 from jsonb_array_elements(v.trained_on) as t(item)
                       where right(t.item->'dataset'->>'name', length($1) + 1) = '@' || $1)
        order by v.name, v.version`,
      [datasetVersionId],
    );
    return rows.map(toVersion);
  }

  async listModels(): Promise<RegisteredModel[]> {
    const { rows } = await this.database.query<{
      name: string;
      description: string;
      created_by: string;
      created_at: Date;
      latest: number | null;
      aliases: Record<string, number> | null;
    }>(
      `select m.name, m.description, m.created_by, m.created_at,
              (select max(version) from model_versions v where v.name = m.name)::int as latest,
              (select json_object_agg(a.alias, a.version) from model_aliases a where a.name = m.name) as aliases
         from model_registered_models m order by m.name`,
    );
    return rows.map((row) => ({
      name: row.name,
      description: row.description,
      createdBy: row.created_by,
      createdAt: row.created_at,
      latestVersion: row.latest,
      aliases: row.aliases ?? {},
    }));
  }

  /** The alias's moves, newest first. */
  async aliasHistory(name: string, alias: string): Promise<AliasMove[]> {
    const { rows } = await this.database.query<{
      id: number;
      alias: string;
      from_version: number | null;
      to_version: number;
      moved_by: string;
      reason: string;
      moved_at: Date;
    }>(
      `select id, alias, from_version, to_version, moved_by, reason, moved_at from model_alias_moves
        where name = $1 and alias = $2 order by id desc`,
      [name, alias],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      alias: row.alias,
      fromVersion: row.from_version,
      toVersion: row.to_version,
      movedBy: row.moved_by,
      reason: row.reason,
      movedAt: row.moved_at,
    }));
  }

  /**
   * Points `alias` at `version`: authorised (`model.promote`), verified first when `options.verify` is given,
   * then committed atomically with its history row and its `model.version.promoted` event, and audited.
   * Returns the version the alias pointed at before (null for the first move).
   */
  async setAlias(
    actor: RegistryActor,
    name: string,
    alias: string,
    version: number,
    options: SetAliasOptions,
  ): Promise<{ previousVersion: number | null }> {
    await this.authorize(actor, 'model.promote', name, { alias, version });
    checkAlias(alias);
    const target = await this.getVersion(name, version);
    await options.verify?.(target);
    return this.move(actor, target, alias, options, 'model.alias.set');
  }

  /**
   * Moves `alias` back to the version it pointed at before its last move. The rollback is itself a move, so
   * rolling back twice returns to where it started.
   */
  async rollback(
    actor: RegistryActor,
    name: string,
    alias: string,
    options: Omit<SetAliasOptions, 'basis'>,
  ): Promise<{ previousVersion: number | null; version: number }> {
    await this.authorize(actor, 'model.promote', name, { alias, rollback: true });
    const [last] = await this.aliasHistory(name, alias);
    if (!last) throw new RegistryError('not_found', `model ${name} has no alias @${alias} to roll back`);
    if (last.fromVersion === null) {
      throw new RegistryError(
        'validation_failed',
        `@${alias} of ${name} has no earlier version to roll back to (it was first set to version ${last.toVersion})`,
      );
    }
    const target = await this.getVersion(name, last.fromVersion);
    await options.verify?.(target);
    const { previousVersion } = await this.move(actor, target, alias, options, 'model.alias.rollback');
    return { previousVersion, version: target.version };
  }

  private async move(
    actor: RegistryActor,
    target: ModelVersion,
    alias: string,
    options: SetAliasOptions,
    action: 'model.alias.set' | 'model.alias.rollback',
  ): Promise<{ previousVersion: number | null }> {
    const { name, version } = target;
    const previousVersion = await this.database.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1::int, hashtext($2))', [ALIAS_LOCK, `${name}@${alias}`]);
      const { rows } = await tx.query<{ version: number }>(
        'select version from model_aliases where name = $1 and alias = $2',
        [name, alias],
      );
      const previous = rows[0]?.version ?? null;
      await tx.query(
        `insert into model_aliases (name, alias, version, updated_by, updated_at) values ($1, $2, $3, $4, now())
         on conflict (name, alias) do update set version = excluded.version, updated_by = excluded.updated_by,
           updated_at = excluded.updated_at`,
        [name, alias, version, actor.principal],
      );
      await tx.query(
        `insert into model_alias_moves (name, alias, from_version, to_version, moved_by, reason)
         values ($1, $2, $3, $4, $5, $6)`,
        [name, alias, previous, version, actor.principal, options.reason],
      );
      await enqueuePromoted(tx, this.source, {
        name,
        version,
        alias,
        previous,
        basis: options.basis ?? {
          metric: action === 'model.alias.rollback' ? 'rollback' : 'manual',
          better: 'higher',
          candidate: 0,
          champion: null,
        },
        promotedBy: actor.principal,
      });
      return previous;
    });
    await this.options.audit?.({
      action,
      outcome: 'allowed',
      actor,
      model: name,
      details: { alias, from_version: previousVersion, to_version: version, reason: options.reason },
    });
    return { previousVersion };
  }

  private async authorize(
    actor: RegistryActor,
    action: RegistryAction,
    model: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    if (actor.allowed.has(action)) return;
    const reason = `${actor.principal} may not ${action} (its roles do not grant it)`;
    await this.options.audit?.({
      action: action === 'model.promote' ? 'model.alias.set' : 'model.register',
      outcome: 'denied',
      actor,
      model,
      details: { ...details, reason },
    });
    throw new RegistryError('forbidden', reason);
  }
}

async function enqueuePromoted(
  tx: Queryable,
  source: string,
  move: {
    name: string;
    version: number;
    alias: string;
    previous: number | null;
    basis: PromotionBasis;
    promotedBy: string;
  },
): Promise<void> {
  const event = createEvent(
    TOPICS.modelVersionPromoted,
    {
      model: { name: move.name, version: String(move.version) },
      alias: move.alias,
      previousVersion: move.previous === null ? null : String(move.previous),
      gate: move.basis,
      promotedBy: move.promotedBy,
    },
    { source, subject: move.name },
  );
  await enqueueEvent(tx, TOPICS.modelVersionPromoted, event, { key: move.name });
}

function toVersion(row: VersionRow): ModelVersion {
  return {
    name: row.name,
    version: row.version,
    source: row.source,
    checksums: row.checksums,
    baseModel: row.base_model,
    adapter: row.adapter,
    trainedOn: row.trained_on,
    metrics: row.metrics,
    tags: row.tags,
    runId: row.run_id,
    gate: row.gate,
    createdBy: row.created_by,
    createdAt: row.created_at,
    aliases: row.aliases ?? [],
  };
}

function checkName(name: string): string {
  if (!NAME.test(name)) {
    throw new RegistryError(
      'validation_failed',
      `name: ${JSON.stringify(name)} must be 1-200 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      'name',
    );
  }
  return name;
}

function checkAlias(alias: string): string {
  if (!ALIAS.test(alias) || /^v[0-9]+$/.test(alias)) {
    throw new RegistryError(
      'validation_failed',
      `alias: ${JSON.stringify(alias)} must be lowercase letters, digits, "_" or "-", start with a letter, ` +
        'and not look like a version (v1, v2, …)',
      'alias',
    );
  }
  return alias;
}

function notFound(name: string, version: number): RegistryError {
  return new RegistryError('not_found', `model ${name} has no version ${version}`);
}

function finiteMetrics(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, value]) => Number.isFinite(value)));
}

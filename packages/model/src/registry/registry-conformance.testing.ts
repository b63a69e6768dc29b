import { randomBytes } from 'node:crypto';
import { migrate, PLATFORM_MIGRATIONS, type Database } from '@strata/platform';
import {
  ModelRegistry,
  modelVersionUri,
  type RegistryActor,
  type RegistryAuditEntry,
} from './model-registry';
import { MODEL_MIGRATIONS } from './registry-migrations';

const SUM = 'a'.repeat(64);

export const ML_ENGINEER: RegistryActor = {
  principal: 'key-ml',
  tenant: 'platform',
  allowed: new Set(['model.register', 'model.promote']),
};
const APP: RegistryActor = { principal: 'key-app', tenant: 'support', allowed: new Set() };

/**
 * The registry's behaviour on one database adapter: run against PGlite in the unit suite and against a
 * PostgreSQL server in the integration suite, so both engines are held to the same contract.
 */
export function describeRegistryConformance(label: string, open: () => Promise<Database>): void {
  describe(`ModelRegistry on ${label}`, () => {
    let database: Database;
    let registry: ModelRegistry;
    let audit: RegistryAuditEntry[];
    // One database for the suite; each test works on models of its own, so tests stay independent.
    let test = 0;
    let prefix = '';
    const m = (name: string) => `${prefix}${name}`;

    beforeAll(async () => {
      database = await open();
      await migrate(database, PLATFORM_MIGRATIONS);
      await migrate(database, MODEL_MIGRATIONS);
      registry = new ModelRegistry(database, { audit: async (entry) => void audit.push(entry) });
    });
    beforeEach(() => {
      test += 1;
      prefix = `t${test}-`;
      audit = [];
    });
    afterAll(() => database.close());

    const register = (name = 'assistant', trained = true) =>
      registry.registerVersion(ML_ENGINEER, {
        name: m(name),
        source: `models/${name}/${Math.random().toString(36).slice(2)}`,
        checksums: { 'config.json': SUM },
        baseModel: 'strata/starter-gpt2',
        adapter: { type: 'none' },
        ...(trained
          ? { trainedOn: [{ dataset: { namespace: 'strata://lake', name: 'tickets' }, version: 3 }] }
          : {}),
        metrics: { heldout_perplexity: 12.5 },
      });

    const outbox = async (topic: string) =>
      (
        await database.query<{ payload: string }>(
          'select payload from strata_outbox where topic = $1 order by id',
          [topic],
        )
      ).rows
        .map((row) => JSON.parse(row.payload) as { data: Record<string, unknown> })
        .filter((event) => (event.data['model'] as { name: string }).name.startsWith(prefix))
        .map((event) => {
          const model = event.data['model'] as { name: string; version: string };
          return {
            data: { ...event.data, model: { ...model, name: model.name.slice(prefix.length) } } as Record<
              string,
              unknown
            >,
          };
        });

    it('numbers versions per model, keeps lineage and metrics, and publishes model.version.registered', async () => {
      const first = await register();
      const second = await register();
      await register('other');
      expect([first.version, second.version]).toEqual([1, 2]);
      const read = await registry.getVersion(m('assistant'), 2);
      expect(read).toMatchObject({
        baseModel: 'strata/starter-gpt2',
        trainedOn: [{ dataset: { namespace: 'strata://lake', name: 'tickets' }, version: 3 }],
        metrics: { heldout_perplexity: 12.5 },
        createdBy: 'key-ml',
        aliases: [],
      });
      const events = await outbox('strata.model.version.registered.v1');
      expect(events.map((e) => e.data['model'])).toEqual([
        { name: 'assistant', version: '1' },
        { name: 'assistant', version: '2' },
        { name: 'other', version: '1' },
      ]);
      expect(audit.map((a) => a.action)).toEqual(['model.register', 'model.register', 'model.register']);
    });

    it('finds the versions of any model trained on a dataset version, and no others', async () => {
      const datasetVersion = `v${randomBytes(10).toString('hex')}`;
      const trained = (name: string, ...datasets: string[]) =>
        registry.registerVersion(ML_ENGINEER, {
          name: m(name),
          source: `models/${name}/${Math.random().toString(36).slice(2)}`,
          checksums: { 'config.json': SUM },
          baseModel: 'strata/starter-gpt2',
          trainedOn: datasets.map((d) => ({ dataset: { namespace: 'file://lake', name: d }, version: 1 })),
        });
      await trained('assistant', `crm@${datasetVersion}`);
      await trained('assistant', `crm@${datasetVersion}0`, `crm-${datasetVersion}`);
      await trained('summariser', 'erp@v00000000000000000000', `erp@${datasetVersion}`);
      await trained('untrained');
      const found = await registry.versionsTrainedOn(datasetVersion);
      expect(found.map((v) => [v.name.slice(prefix.length), v.version])).toEqual([
        ['assistant', 1],
        ['summariser', 1],
      ]);
      expect(found.map(modelVersionUri)).toEqual([
        `models:/${m('assistant')}/1`,
        `models:/${m('summariser')}/1`,
      ]);
      expect(await registry.versionsTrainedOn(`v${randomBytes(10).toString('hex')}`)).toEqual([]);
    });

    it('moves aliases atomically with history and events, and rolls back to the previous version', async () => {
      await register();
      await register();
      expect(
        await registry.setAlias(ML_ENGINEER, m('assistant'), 'champion', 1, { reason: 'first' }),
      ).toEqual({
        previousVersion: null,
      });
      expect(
        await registry.setAlias(ML_ENGINEER, m('assistant'), 'champion', 2, {
          reason: 'gate passed',
          basis: { metric: 'heldout_perplexity', better: 'lower', candidate: 10, champion: 12.5 },
        }),
      ).toEqual({ previousVersion: 1 });
      expect((await registry.getVersionByAlias(m('assistant'), 'champion'))?.version).toBe(2);
      expect((await registry.getVersion(m('assistant'), 2)).aliases).toEqual(['champion']);
      const rolled = await registry.rollback(ML_ENGINEER, m('assistant'), 'champion', {
        reason: 'bad answers',
      });
      expect(rolled).toEqual({ previousVersion: 2, version: 1 });
      expect((await registry.resolve(m('assistant'), '@champion')).version).toBe(1);
      const history = await registry.aliasHistory(m('assistant'), 'champion');
      expect(history.map((m) => [m.fromVersion, m.toVersion, m.reason])).toEqual([
        [2, 1, 'bad answers'],
        [1, 2, 'gate passed'],
        [null, 1, 'first'],
      ]);
      const promoted = await outbox('strata.model.version.promoted.v1');
      expect(
        promoted.map((e) => [e.data['previousVersion'], (e.data['model'] as { version: string }).version]),
      ).toEqual([
        [null, '1'],
        ['1', '2'],
        ['2', '1'],
      ]);
      expect(promoted[1]!.data['gate']).toEqual({
        metric: 'heldout_perplexity',
        better: 'lower',
        candidate: 10,
        champion: 12.5,
      });
      expect((await registry.listModels()).find((x) => x.name === m('assistant'))).toMatchObject({
        latestVersion: 2,
        aliases: { champion: 1 },
      });
    });

    it('refuses and audits a move by a principal without model.promote, leaving the alias alone', async () => {
      await register();
      await registry.setAlias(ML_ENGINEER, m('assistant'), 'champion', 1, { reason: 'first' });
      await register();
      await expect(
        registry.setAlias(APP, m('assistant'), 'champion', 2, { reason: 'sneaky' }),
      ).rejects.toMatchObject({ code: 'forbidden' });
      expect((await registry.getVersionByAlias(m('assistant'), 'champion'))?.version).toBe(1);
      expect(audit.at(-1)).toMatchObject({
        action: 'model.alias.set',
        outcome: 'denied',
        model: m('assistant'),
      });
      await expect(
        registry.registerVersion(APP, {
          name: m('assistant'),
          source: 'x',
          checksums: { a: SUM },
          baseModel: 'b',
        }),
      ).rejects.toMatchObject({ code: 'forbidden' });
    });

    it('leaves the alias where it was when the version fails verification', async () => {
      await register();
      await register();
      await registry.setAlias(ML_ENGINEER, m('assistant'), 'champion', 1, { reason: 'first' });
      await expect(
        registry.setAlias(ML_ENGINEER, m('assistant'), 'champion', 2, {
          reason: 'broken',
          verify: async () => {
            throw new Error('onnx/model.onnx is corrupt');
          },
        }),
      ).rejects.toThrow('corrupt');
      expect((await registry.getVersionByAlias(m('assistant'), 'champion'))?.version).toBe(1);
      expect(await registry.aliasHistory(m('assistant'), 'champion')).toHaveLength(1);
      expect(await outbox('strata.model.version.promoted.v1')).toHaveLength(1);
    });

    it('serialises concurrent promotions into one chain of moves', async () => {
      for (let i = 0; i < 4; i += 1) await register();
      await Promise.all(
        [1, 2, 3, 4].map((version) =>
          registry.setAlias(ML_ENGINEER, m('assistant'), 'champion', version, { reason: `v${version}` }),
        ),
      );
      const history = (await registry.aliasHistory(m('assistant'), 'champion')).reverse();
      expect(history).toHaveLength(4);
      // Each move starts where the one before it ended: no move was lost or based on a stale read.
      expect(history[0]!.fromVersion).toBeNull();
      for (let i = 1; i < history.length; i += 1)
        expect(history[i]!.fromVersion).toBe(history[i - 1]!.toVersion);
      expect((await registry.getVersionByAlias(m('assistant'), 'champion'))?.version).toBe(
        history.at(-1)!.toVersion,
      );
    });

    it('rejects bad names, aliases, checksums and unknown versions with the field named', async () => {
      await expect(
        registry.registerVersion(ML_ENGINEER, {
          name: '../etc',
          source: 's',
          checksums: { a: SUM },
          baseModel: 'b',
        }),
      ).rejects.toMatchObject({ code: 'validation_failed', field: 'name' });
      await expect(
        registry.registerVersion(ML_ENGINEER, {
          name: m('m'),
          source: 's',
          checksums: { a: 'nope' },
          baseModel: 'b',
        }),
      ).rejects.toThrow('checksums.a');
      await register();
      await expect(
        registry.setAlias(ML_ENGINEER, m('assistant'), 'v2', 1, { reason: 'x' }),
      ).rejects.toMatchObject({ field: 'alias' });
      await expect(
        registry.setAlias(ML_ENGINEER, m('assistant'), 'champion', 9, { reason: 'x' }),
      ).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(
        registry.rollback(ML_ENGINEER, m('assistant'), 'champion', { reason: 'x' }),
      ).rejects.toMatchObject({
        code: 'not_found',
      });
    });

    it('registers a base model without a dataset but publishes no registered event for it', async () => {
      await register('base', false);
      expect(await outbox('strata.model.version.registered.v1')).toHaveLength(0);
      expect((await registry.getVersion(m('base'), 1)).trainedOn).toEqual([]);
    });
  });
}

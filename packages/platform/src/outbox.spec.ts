import { describeOutboxConformance, SwitchableEventBus } from './outbox-conformance.testing';
import { InMemoryEventBus } from './in-memory-event-bus';
import { PGliteDatabase } from './pglite-database';

describeOutboxConformance('PGlite + in-memory bus', {
  openDatabase: () => PGliteDatabase.open(),
  createBus: async (registry) =>
    new SwitchableEventBus(
      new InMemoryEventBus({ metrics: registry, retry: { initialBackoffMs: 10, maxBackoffMs: 50 } }),
    ),
  busDown: async (bus) => void ((bus as SwitchableEventBus).down = true),
  busUp: async (bus) => void ((bus as SwitchableEventBus).down = false),
});

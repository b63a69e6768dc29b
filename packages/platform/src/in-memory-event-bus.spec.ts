import { createEvent } from '@strata/contracts';
import { backoffDelay, resolveRetryPolicy } from './event-bus';
import { describeEventBusConformance } from './event-bus-conformance.testing';
import { InMemoryEventBus, partitionOf } from './in-memory-event-bus';
import { eventually, gate, testTopic } from './test-support.testing';

describeEventBusConformance('in-memory', {
  create: async ({ registry, retry }) => new InMemoryEventBus({ metrics: registry, retry }),
});

describe('InMemoryEventBus', () => {
  it('acknowledges a publish only once the subscribed groups handled the event', async () => {
    const bus = new InMemoryEventBus();
    const topic = testTopic('acks');
    const hold = gate();
    let handled = false;
    await bus.subscribe(topic, 'g', async () => {
      await hold.promise;
      handled = true;
    });
    let acked = false;
    const publishing = bus
      .publish(topic, createEvent(topic, { n: 1 }, { source: 't' }))
      .then(() => (acked = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(acked).toBe(false);
    hold.open();
    await publishing;
    expect(handled).toBe(true);
    await bus.close();
  });

  it('rejects a waiting publish when the group closes first, so the outbox publishes again', async () => {
    const bus = new InMemoryEventBus({ retry: { maxAttempts: 100, initialBackoffMs: 10_000 } });
    const topic = testTopic('reject');
    const subscription = await bus.subscribe(topic, 'g', async () => {
      throw new Error('not yet');
    });
    const publishing = bus.publish(topic, createEvent(topic, { n: 1 }, { source: 't' }));
    await subscription.close();
    await expect(publishing).rejects.toMatchObject({ code: 'unavailable' });
    await bus.close();
    await expect(bus.publish(topic, createEvent(topic, { n: 2 }, { source: 't' }))).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('acknowledges at once in appended mode, and a group that joins later reads from the beginning', async () => {
    const bus = new InMemoryEventBus({ acks: 'appended' });
    const topic = testTopic('appended');
    await bus.publish(topic, createEvent(topic, { n: 1 }, { source: 't' }));
    const seen: number[] = [];
    await bus.subscribe(topic, 'late', async (e) => void seen.push(e.data.n));
    await eventually('the earlier event', () => seen.length === 1);
    const latest: number[] = [];
    await bus.subscribe(topic, 'only-new', async (e) => void latest.push(e.data.n), { fromBeginning: false });
    await bus.publish(topic, createEvent(topic, { n: 2 }, { source: 't' }));
    await eventually('the new event', () => latest.length === 1);
    expect(latest).toEqual([2]);
    await bus.close();
  });

  it('maps a key to the same partition every time', () => {
    expect(partitionOf('dataset-7', 4)).toBe(partitionOf('dataset-7', 4));
    const spread = new Set(Array.from({ length: 100 }, (_, i) => partitionOf(`k${i}`, 4)));
    expect(spread.size).toBe(4);
  });
});

describe('retry backoff', () => {
  const policy = resolveRetryPolicy({ initialBackoffMs: 100, maxBackoffMs: 1000 });

  it('doubles per retry, up to the cap, with equal jitter', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect([1, 2, 3].map((a) => backoffDelay(policy, a, () => 0))).toEqual([50, 100, 200]);
  });

  it('rejects nonsense policies', () => {
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => resolveRetryPolicy({ initialBackoffMs: 10, maxBackoffMs: 5 })).toThrow(/backoff/);
  });
});

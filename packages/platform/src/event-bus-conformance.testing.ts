import { Registry } from 'prom-client';
import {
  EventInvalidError,
  createEvent,
  deadLetterTopic,
  type DeadLetterV1,
  type EventEnvelope,
  type EventOf,
  type TopicDefinition,
} from '@strata/contracts';
import {
  eventMessage,
  type DeliveryContext,
  type EventBus,
  type EventHandler,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
} from './event-bus';
import { PlatformError } from './platform-error';
import { eventually, gate, testTopic, uniqueSuffix } from './test-support.testing';

/** What the conformance suite needs from an adapter under test. */
export interface EventBusUnderTest {
  /** A new bus on `registry`; the suite closes it. `retry` is the bus-wide retry policy. */
  create(options: { registry: Registry; retry: Partial<RetryPolicy> }): Promise<EventBus>;
}

type TestEvent = EventOf<ReturnType<typeof testTopic>>;

/** Fast retries keep the suite short; backoff growth itself is unit-tested on `backoffDelay`. */
const RETRY: Partial<RetryPolicy> = { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 100 };

/**
 * The event-bus conformance suite: every adapter must pass it unchanged, so code written against the
 * in-memory bus behaves the same on Kafka. Each test uses its own topics and groups.
 */
export function describeEventBusConformance(name: string, adapter: EventBusUnderTest): void {
  describe(`EventBus conformance: ${name}`, () => {
    let bus: EventBus;
    let registry: Registry;
    const subscriptions: Subscription[] = [];

    beforeEach(async () => {
      registry = new Registry();
      bus = await adapter.create({ registry, retry: RETRY });
    });

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await bus.close();
    });

    const subscribe = async <TType extends string, TData>(
      topic: TopicDefinition<TType, TData>,
      group: string,
      handler: EventHandler<EventEnvelope<TType, TData>>,
      options?: SubscribeOptions,
    ) => {
      const subscription = await bus.subscribe(topic, group, handler, options);
      subscriptions.push(subscription);
      return subscription;
    };

    const event = (topic: ReturnType<typeof testTopic>, n: number, subject?: string) =>
      createEvent(topic, { n }, { source: 'strata/test', ...(subject === undefined ? {} : { subject }) });

    const metric = async (metricName: string, labels: Record<string, string>) => {
      const json = await registry.getSingleMetric(metricName)?.get();
      const values =
        json?.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)) ?? [];
      return values.reduce((sum, v) => sum + v.value, 0);
    };

    const collectDeadLetters = async (topic: ReturnType<typeof testTopic>) => {
      const letters: DeadLetterV1[] = [];
      await subscribe(deadLetterTopic(topic), `dlq-reader-${uniqueSuffix()}`, async (e) => {
        letters.push(e.data);
      });
      return letters;
    };

    it('delivers a published event, decoded, with its delivery context', async () => {
      const topic = testTopic('deliver');
      const received: { event: TestEvent; context: DeliveryContext }[] = [];
      await subscribe(topic, `g-${uniqueSuffix()}`, async (e, context) => {
        received.push({ event: e, context });
      });
      const sent = event(topic, 1, 'entity-1');
      await bus.publish(topic, sent);
      await eventually('delivery', () => received.length === 1);
      const [{ event: got, context }] = received as [(typeof received)[0]];
      expect(got).toEqual(sent);
      expect(context).toEqual(
        expect.objectContaining({
          topic: topic.name,
          key: 'entity-1',
          attempt: 1,
          offset: expect.stringMatching(/^\d+$/),
        }),
      );
      expect(context.headers['strata-event-id']).toBe(sent.id);
    });

    it('refuses to publish an event that breaks its topic schema', async () => {
      const topic = testTopic('invalid');
      const bad = { ...event(topic, 1), data: { n: 'one' } } as unknown as TestEvent;
      await expect(bus.publish(topic, bad)).rejects.toBeInstanceOf(EventInvalidError);
    });

    it('keeps the publish order of events with the same key', async () => {
      const topic = testTopic('order');
      const keys = ['a', 'b', 'c', 'd', 'e'];
      const seen = new Map<string, number[]>();
      await subscribe(topic, `g-${uniqueSuffix()}`, async (e) => {
        const key = e.subject!;
        seen.set(key, [...(seen.get(key) ?? []), e.data.n]);
      });
      const events = Array.from({ length: 50 }, (_, n) => event(topic, n, keys[n % keys.length]!));
      // A batch and one-by-one publishing must both keep the order.
      await bus.publishMessages(events.slice(0, 25).map((e) => eventMessage(topic, e)));
      for (const e of events.slice(25)) await bus.publish(topic, e);
      await eventually('all 50 events', () => [...seen.values()].flat().length === 50);
      for (const key of keys) {
        const expected = events.filter((e) => e.subject === key).map((e) => e.data.n);
        expect(seen.get(key)).toEqual(expected);
      }
    });

    it('gives every group every event, and shares them between the members of a group', async () => {
      const topic = testTopic('groups');
      const shared = `g-shared-${uniqueSuffix()}`;
      const alone = `g-alone-${uniqueSuffix()}`;
      const memberA: number[] = [];
      const memberB: number[] = [];
      const other: number[] = [];
      await subscribe(topic, shared, async (e) => void memberA.push(e.data.n));
      await subscribe(topic, shared, async (e) => void memberB.push(e.data.n));
      await subscribe(topic, alone, async (e) => void other.push(e.data.n));
      const count = 40;
      for (let n = 0; n < count; n++) await bus.publish(topic, event(topic, n, `key-${n}`));
      await eventually(
        'both groups',
        () => memberA.length + memberB.length === count && other.length === count,
      );
      expect([...memberA, ...memberB].sort((x, y) => x - y)).toEqual([...other].sort((x, y) => x - y));
      expect(new Set([...memberA, ...memberB]).size).toBe(count);
      expect(memberA.length).toBeGreaterThan(0);
      expect(memberB.length).toBeGreaterThan(0);
    });

    it('retries a failing handler and then handles the event', async () => {
      const topic = testTopic('retry');
      const group = `g-${uniqueSuffix()}`;
      const attempts: number[] = [];
      let handled = false;
      await subscribe(topic, group, async (_e, context) => {
        attempts.push(context.attempt);
        if (context.attempt < 3) throw new Error('database is restarting');
        handled = true;
      });
      await bus.publish(topic, event(topic, 1));
      await eventually('handled after retries', () => handled);
      expect(attempts).toEqual([1, 2, 3]);
      expect(await metric('strata_events_retried_total', { topic: topic.name, group })).toBe(2);
      expect(await metric('strata_events_consumed_total', { topic: topic.name, group })).toBe(1);
    });

    it('dead-letters an event after the last attempt, with the reason, and moves on in the partition', async () => {
      const topic = testTopic('exhausted');
      const group = `g-${uniqueSuffix()}`;
      const letters = await collectDeadLetters(topic);
      const handled: number[] = [];
      const attempts: number[] = [];
      await subscribe(topic, group, async (e, context) => {
        if (e.data.n === 1) {
          attempts.push(context.attempt);
          throw new Error(`cannot handle ${e.data.n}`);
        }
        handled.push(e.data.n);
      });
      const poisoned = event(topic, 1, 'same-key');
      await bus.publish(topic, poisoned);
      await bus.publish(topic, event(topic, 2, 'same-key'));
      await eventually('the next event on the partition', () => handled.includes(2));
      await eventually('the dead letter', () => letters.length === 1);
      expect(attempts).toEqual([1, 2, 3]);
      expect(letters[0]).toEqual(
        expect.objectContaining({
          topic: topic.name,
          group,
          key: 'same-key',
          reason: 'cannot handle 1',
          errorCode: 'internal_error',
          attempts: 3,
          eventId: poisoned.id,
          payloadEncoding: 'utf8',
        }),
      );
      expect(JSON.parse(letters[0]!.payload!)).toEqual(poisoned);
      expect(
        await metric('strata_events_dead_lettered_total', { topic: topic.name, group, reason: 'exhausted' }),
      ).toBe(1);
    });

    it('dead-letters at once when the handler reports a permanent error', async () => {
      const topic = testTopic('permanent');
      const group = `g-${uniqueSuffix()}`;
      const letters = await collectDeadLetters(topic);
      let calls = 0;
      await subscribe(topic, group, async () => {
        calls++;
        throw new PlatformError('integrity_failed', 'manifest checksum does not match');
      });
      await bus.publish(topic, event(topic, 1));
      await eventually('the dead letter', () => letters.length === 1);
      expect(calls).toBe(1);
      expect(letters[0]).toEqual(expect.objectContaining({ errorCode: 'integrity_failed', attempts: 1 }));
    });

    it('dead-letters undecodable messages without calling the handler, and the partition keeps moving', async () => {
      const topic = testTopic('poison');
      const group = `g-${uniqueSuffix()}`;
      const letters = await collectDeadLetters(topic);
      const handled: number[] = [];
      await subscribe(topic, group, async (e) => void handled.push(e.data.n));
      const wrongPayload = { ...event(topic, 2), data: { n: 'two' } };
      await bus.publishMessages([
        { topic: topic.name, key: 'k', value: '{"not": "an envelope"' },
        { topic: topic.name, key: 'k', value: new Uint8Array([0xc3, 0x28]) },
        { topic: topic.name, key: 'k', value: JSON.stringify(wrongPayload) },
      ]);
      await bus.publish(topic, event(topic, 3), { key: 'k' });
      await eventually('the event after the poison', () => handled.length === 1);
      expect(handled).toEqual([3]);
      await eventually('three dead letters', () => letters.length === 3);
      expect(letters.map((l) => [l.errorCode, l.attempts])).toEqual([
        ['event_invalid', 0],
        ['event_invalid', 0],
        ['event_invalid', 0],
      ]);
      expect(letters[0]!.reason).toContain('not JSON');
      expect(letters[1]).toEqual(expect.objectContaining({ payloadEncoding: 'base64', payload: 'wyg=' }));
      expect(letters[2]).toEqual(expect.objectContaining({ eventId: wrongPayload.id }));
      expect(letters[2]!.reason).toContain('data.n');
      expect(
        await metric('strata_events_dead_lettered_total', {
          topic: topic.name,
          group,
          reason: 'undecodable',
        }),
      ).toBe(3);
    });

    it('commits what was handled on graceful close, so a restarted member resumes without redelivery', async () => {
      const topic = testTopic('close');
      const group = `g-${uniqueSuffix()}`;
      const count = 20;
      for (let n = 0; n < count; n++) await bus.publish(topic, event(topic, n, `key-${n % 3}`));
      const first: number[] = [];
      const hold = gate();
      const subscription = await bus.subscribe(topic, group, async (e) => {
        first.push(e.data.n);
        if (first.length === 5) await hold.promise;
      });
      await eventually('five handled', () => first.length >= 5);
      const closing = subscription.close();
      hold.open();
      await closing;
      const handledBeforeClose = [...first];
      const second: number[] = [];
      await subscribe(topic, group, async (e) => void second.push(e.data.n));
      await eventually('the rest', () => handledBeforeClose.length + second.length === count);
      expect(first).toEqual(handledBeforeClose);
      expect([...handledBeforeClose, ...second].sort((x, y) => x - y)).toEqual(
        Array.from({ length: count }, (_, n) => n),
      );
    });

    it('exposes consumer lag while a group is behind, and zero once it caught up', async () => {
      const topic = testTopic('lag');
      const group = `g-${uniqueSuffix()}`;
      for (let n = 0; n < 10; n++) await bus.publish(topic, event(topic, n, 'one-key'));
      const hold = gate();
      let handled = 0;
      await subscribe(topic, group, async () => {
        await hold.promise;
        handled++;
      });
      await eventually(
        'lag reported',
        async () => (await metric('strata_consumer_lag', { topic: topic.name, group })) >= 1,
      );
      hold.open();
      await eventually('all handled', () => handled === 10);
      await eventually(
        'lag back to zero',
        async () => (await metric('strata_consumer_lag', { topic: topic.name, group })) === 0,
      );
      expect(await metric('strata_events_published_total', { topic: topic.name })).toBe(10);
    });
  });
}

import type { EventEnvelope, TopicDefinition } from '@strata/contracts';
import {
  checkGroupName,
  checkTopicName,
  eventMessage,
  resolveRetryPolicy,
  type EventBus,
  type EventHandler,
  type OutgoingMessage,
  type PublishOptions,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
} from './event-bus';
import { EventDispatcher, type IncomingMessage } from './event-dispatcher';
import { eventMetrics, type EventMetrics } from './event-metrics';
import type { Logger } from './logger';
import type { MetricsRegistry } from './metrics';
import { PlatformError } from './platform-error';

export interface InMemoryEventBusOptions {
  /** Partitions per topic (4, like the Kafka mock cluster's auto-created topics). */
  partitions?: number;
  /**
   * When `publish` resolves. `handled` (default): once every group that had a member at publish time has
   * handled or dead-lettered the message. Memory does not survive a crash, so the outbox row stays unsent
   * (the durable copy) until the event's effects are committed. `appended`: as soon as it is in the log.
   */
  acks?: 'handled' | 'appended';
  /** Messages kept per partition beyond what every group has consumed, for groups that join later. */
  retention?: number;
  retry?: Partial<RetryPolicy>;
  metrics?: MetricsRegistry;
  logger?: Logger;
  /** The `source` of dead-letter events. */
  source?: string;
}

interface StoredMessage {
  key: string;
  value: string | Uint8Array;
  headers: Readonly<Record<string, string>>;
}

interface AckWaiter {
  offset: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

class Partition {
  /** Offset of `log[0]`; older messages were trimmed. */
  base = 0;
  readonly log: StoredMessage[] = [];

  get end(): number {
    return this.base + this.log.length;
  }
}

class Topic {
  readonly partitions: Partition[];
  readonly groups = new Map<string, Group>();

  constructor(
    readonly name: string,
    count: number,
  ) {
    this.partitions = Array.from({ length: count }, () => new Partition());
  }
}

class Member {
  readonly abort = new AbortController();
  readonly inFlight = new Set<Promise<unknown>>();

  constructor(readonly dispatcher: EventDispatcher<string, unknown>) {}
}

/** A consumer group on one topic: its committed positions survive its members, as Kafka's do. */
class Group {
  readonly members: Member[] = [];
  readonly committed: number[];
  readonly ackWaiters: AckWaiter[][];
  private wakeUp: (() => void) | undefined;
  private wakeSignal: Promise<void> | undefined;
  private readonly workers: (Promise<void> | undefined)[] = [];

  constructor(
    readonly topic: Topic,
    readonly name: string,
    start: 'earliest' | 'latest',
  ) {
    this.committed = topic.partitions.map((p) => (start === 'earliest' ? p.base : p.end));
    this.ackWaiters = topic.partitions.map(() => []);
  }

  get active(): boolean {
    return this.members.length > 0;
  }

  /** Wakes every parked partition worker (new message, member change, shutdown). */
  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    this.wakeSignal = undefined;
    wake?.();
  }

  private parked(): Promise<void> {
    this.wakeSignal ??= new Promise((resolve) => (this.wakeUp = resolve));
    return this.wakeSignal;
  }

  /** Starts a worker for every partition that has none: each partition is handled sequentially, in order. */
  ensureWorkers(onCommit: (group: Group, partition: number) => void): void {
    this.topic.partitions.forEach((_, index) => {
      if (this.workers[index] === undefined) {
        this.workers[index] = this.work(index, onCommit).finally(() => (this.workers[index] = undefined));
      }
    });
  }

  private async work(index: number, onCommit: (group: Group, partition: number) => void): Promise<void> {
    const partition = this.topic.partitions[index]!;
    while (this.active) {
      const next = Math.max(this.committed[index]!, partition.base);
      if (next >= partition.end) {
        await this.parked();
        continue;
      }
      // Partitions are assigned to members round-robin, as Kafka's round-robin assignor does.
      const member = this.members[index % this.members.length]!;
      const stored = partition.log[next - partition.base]!;
      const message: IncomingMessage = {
        partition: index,
        offset: String(next),
        key: stored.key,
        value: stored.value,
        headers: stored.headers,
      };
      const delivery = member.dispatcher.dispatch(message, member.abort.signal);
      member.inFlight.add(delivery);
      let outcome;
      try {
        outcome = await delivery;
      } catch {
        outcome = 'interrupted' as const; // dead-lettering failed: leave the message for a later attempt
      } finally {
        member.inFlight.delete(delivery);
      }
      if (outcome === 'interrupted') {
        if (!member.abort.signal.aborted) await this.parked();
        continue;
      }
      this.committed[index] = next + 1;
      onCommit(this, index);
    }
  }

  async stopWorkers(): Promise<void> {
    this.wake();
    await Promise.all(this.workers.filter((w) => w !== undefined));
  }
}

/**
 * The in-process event bus: the embedded default. Topics are partitioned logs in memory with committed
 * positions per consumer group, so it behaves like the Kafka adapter (same conformance suite): keyed
 * partitions, ordered per key, groups sharing partitions, retries, dead letters, graceful close. Nothing
 * survives the process, which is why `publish` by default resolves only once subscribers have handled the
 * message: the transactional outbox keeps the durable copy until then.
 */
export class InMemoryEventBus implements EventBus {
  private readonly topics = new Map<string, Topic>();
  private readonly subscriptions = new Set<InMemorySubscription>();
  private readonly partitionCount: number;
  private readonly acks: 'handled' | 'appended';
  private readonly retention: number;
  private readonly retry: RetryPolicy;
  private readonly metrics: EventMetrics;
  private closed = false;

  constructor(private readonly options: InMemoryEventBusOptions = {}) {
    this.partitionCount = options.partitions ?? 4;
    this.acks = options.acks ?? 'handled';
    this.retention = options.retention ?? 10_000;
    this.retry = resolveRetryPolicy(options.retry);
    this.metrics = eventMetrics(options.metrics);
    if (!Number.isInteger(this.partitionCount) || this.partitionCount < 1) {
      throw new PlatformError('config_invalid', 'partitions must be a positive integer');
    }
  }

  async publish<TType extends string, TData>(
    topic: TopicDefinition<TType, TData>,
    event: EventEnvelope<TType, TData>,
    options?: PublishOptions,
  ): Promise<void> {
    await this.publishMessages([eventMessage(topic, event, options)]);
  }

  async publishMessages(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new PlatformError('unavailable', 'the in-memory event bus is closed');
    for (const message of messages) checkTopicName(message.topic);
    const acks: Promise<void>[] = [];
    for (const message of messages) {
      const waiters = this.append(message);
      if (this.acks === 'handled') acks.push(...waiters);
    }
    await Promise.all(acks);
  }

  async subscribe<TType extends string, TData>(
    topic: TopicDefinition<TType, TData>,
    group: string,
    handler: EventHandler<EventEnvelope<TType, TData>>,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    if (this.closed) throw new PlatformError('unavailable', 'the in-memory event bus is closed');
    checkTopicName(topic.name);
    checkGroupName(group);
    const state = this.topic(topic.name);
    let groupState = state.groups.get(group);
    if (!groupState) {
      groupState = new Group(state, group, options.fromBeginning === false ? 'latest' : 'earliest');
      state.groups.set(group, groupState);
      for (let index = 0; index < state.partitions.length; index++) this.updateLag(groupState, index);
    }
    const dispatcher = new EventDispatcher({
      topic,
      group,
      handler,
      retry: resolveRetryPolicy(this.retry, options.retry),
      // Dead letters only need to be in the log; waiting for their consumers could wait on ourselves.
      deadLetter: async (message) => void this.append(message),
      metrics: this.metrics,
      source: this.options.source ?? 'strata/in-memory-event-bus',
      logger: this.options.logger,
    });
    const member = new Member(dispatcher as unknown as EventDispatcher<string, unknown>);
    groupState.members.push(member);
    groupState.ensureWorkers((g, p) => this.committed(g, p));
    groupState.wake();
    const subscription = new InMemorySubscription(topic.name, group, async () => {
      this.subscriptions.delete(subscription);
      await this.leave(groupState, member);
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = new Topic(name, this.partitionCount);
      this.topics.set(name, topic);
    }
    return topic;
  }

  /** Appends a message; returns one acknowledgement per group that currently has members. */
  private append(message: OutgoingMessage): Promise<void>[] {
    const topic = this.topic(message.topic);
    const index = partitionOf(message.key, topic.partitions.length);
    const partition = topic.partitions[index]!;
    const offset = partition.end;
    partition.log.push({ key: message.key, value: message.value, headers: { ...message.headers } });
    this.metrics.published.inc({ topic: message.topic });
    const acks: Promise<void>[] = [];
    for (const group of topic.groups.values()) {
      this.updateLag(group, index);
      if (!group.active) continue;
      acks.push(
        new Promise<void>((resolve, reject) => group.ackWaiters[index]!.push({ offset, resolve, reject })),
      );
      group.wake();
    }
    this.trim(topic, index);
    return acks;
  }

  private committed(group: Group, index: number): void {
    const position = group.committed[index]!;
    const waiters = group.ackWaiters[index]!;
    while (waiters.length > 0 && waiters[0]!.offset < position) waiters.shift()!.resolve();
    this.updateLag(group, index);
    this.trim(group.topic, index);
  }

  private updateLag(group: Group, index: number): void {
    const partition = group.topic.partitions[index]!;
    this.metrics.consumerLag.set(
      { topic: group.topic.name, group: group.name, partition: String(index) },
      Math.max(0, partition.end - Math.max(group.committed[index]!, partition.base)),
    );
  }

  /** Drops messages every group has consumed, keeping `retention` of them for groups that join later. */
  private trim(topic: Topic, index: number): void {
    const partition = topic.partitions[index]!;
    const consumedByAll = Math.min(
      partition.end,
      ...[...topic.groups.values()].map((g) => g.committed[index]!),
    );
    const keepFrom = Math.min(consumedByAll, partition.end - this.retention);
    if (keepFrom > partition.base) {
      partition.log.splice(0, keepFrom - partition.base);
      partition.base = keepFrom;
    }
  }

  private async leave(group: Group, member: Member): Promise<void> {
    const index = group.members.indexOf(member);
    if (index < 0) return;
    member.abort.abort();
    group.members.splice(index, 1);
    await Promise.allSettled([...member.inFlight]);
    if (!group.active) {
      await group.stopWorkers();
      // Publishers waiting on this group must not count it as handled: the outbox will publish again.
      const error = new PlatformError('unavailable', `consumer group ${group.name} closed before handling`);
      for (const waiters of group.ackWaiters) for (const waiter of waiters.splice(0)) waiter.reject(error);
    } else {
      group.wake();
    }
  }
}

class InMemorySubscription implements Subscription {
  private closing: Promise<void> | undefined;

  constructor(
    readonly topic: string,
    readonly group: string,
    private readonly onClose: () => Promise<void>,
  ) {}

  close(): Promise<void> {
    this.closing ??= this.onClose();
    return this.closing;
  }
}

/** FNV-1a over the key's UTF-8 bytes: stable across processes, so a key always maps to the same partition. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

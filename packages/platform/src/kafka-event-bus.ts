import type * as KafkaJs from 'kafkajs';
import type {
  Kafka,
  Consumer,
  EachBatchPayload,
  IHeaders,
  LogEntry,
  Message,
  PartitionAssigner,
  Producer,
} from 'kafkajs';
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
import { PlatformError, errorMessageOf } from './platform-error';

/** kafkajs, loaded when the first Kafka bus is made, so services on in-process events never load it. */
let kafkajs: typeof KafkaJs | undefined;
function loadKafkaJs(): typeof KafkaJs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (kafkajs ??= require('kafkajs') as typeof KafkaJs);
}

export interface KafkaEventBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** Identifies this service to the brokers, and is the `source` of its dead letters. */
  clientId: string;
  /** Handler retries before dead-lettering (per subscription overridable). */
  retry?: Partial<RetryPolicy>;
  metrics?: MetricsRegistry;
  logger?: Logger;
  /** TLS to the brokers. */
  ssl?: boolean;
  /** SASL/PLAIN or SCRAM credentials. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long a silent member keeps its partitions before the group rebalances them (default 10 s). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /** Partitions a subscription handles at once; within a partition, messages are always sequential. */
  partitionsConsumedConcurrently?: number;
  /** Longest a fetch waits for new messages (default 100 ms); bounds delivery latency on idle partitions. */
  maxWaitTimeMs?: number;
  /** How long `subscribe` waits for the member to join its group (default 60 s). */
  joinTimeoutMs?: number;
  /**
   * How long a group's leader waits, when the group has other members, before it sends the assignment
   * (SyncGroup). Followers send their SyncGroup at once. librdkafka's mock cluster (the integration tests' Kafka)
   * ends the sync round when the leader's request arrives and answers any later follower with INVALID_REQUEST,
   * which kafkajs treats as fatal; Apache Kafka answers late followers from the stored assignment, so there
   * the wait only lengthens a rebalance a little. Default 500 ms; 0 disables it.
   */
  leaderSyncDelayMs?: number;
  /** Producer retries of a failed send before `publish` rejects (kafkajs' exponential retry). */
  producerRetries?: number;
}

/**
 * The Kafka adapter (kafkajs). Publishing waits for all in-sync replicas (`acks: -1`) and keeps one request in
 * flight per broker, so retries cannot reorder a partition; keys go through Kafka's default (murmur2)
 * partitioner, so Java and kafkajs producers agree on partitions. Each subscription is one consumer-group
 * member; offsets are resolved only after a message was handled or dead-lettered and are committed after each
 * batch and on close, so a crash redelivers at most the uncommitted tail (the inbox makes that a no-op).
 *
 * The producer is not idempotent (`enable.idempotence`): librdkafka's mock cluster, used in tests, lacks it;
 * duplicates from producer retries are absorbed by the idempotent consumers. Topics are not created here:
 * production clusters provision them (partitions, replication) with the deployment.
 */
export class KafkaEventBus implements EventBus {
  private readonly kafka: Kafka;
  private producer: Producer;
  private producerReady: Promise<void> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly retry: RetryPolicy;
  private readonly metrics: EventMetrics;
  private closed = false;

  constructor(private readonly options: KafkaEventBusOptions) {
    if (options.brokers.length === 0)
      throw new PlatformError('config_invalid', 'Kafka needs at least one broker');
    this.retry = resolveRetryPolicy(options.retry);
    this.metrics = eventMetrics(options.metrics);
    const { Kafka, logLevel: KafkaLogLevel } = loadKafkaJs();
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      ssl: options.ssl ?? false,
      ...(options.sasl ? { sasl: options.sasl as never } : {}),
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logLevel: options.logger ? KafkaLogLevel.INFO : KafkaLogLevel.NOTHING,
      logCreator: () => (entry) => this.log(entry),
    });
    this.producer = this.createProducer();
  }

  async publish<TType extends string, TData>(
    topic: TopicDefinition<TType, TData>,
    event: EventEnvelope<TType, TData>,
    options?: PublishOptions,
  ): Promise<void> {
    await this.publishMessages([eventMessage(topic, event, options)]);
  }

  async publishMessages(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new PlatformError('unavailable', 'the Kafka event bus is closed');
    if (messages.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const message of messages) {
      checkTopicName(message.topic);
      const list = byTopic.get(message.topic) ?? [];
      list.push({
        key: message.key,
        value: typeof message.value === 'string' ? message.value : Buffer.from(message.value),
        headers: { ...message.headers },
      });
      byTopic.set(message.topic, list);
    }
    try {
      await this.connectProducer();
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
      });
    } catch (error) {
      this.replaceProducer();
      throw new PlatformError(
        'unavailable',
        `Kafka did not acknowledge the publish: ${errorMessageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    for (const [topic, list] of byTopic) this.metrics.published.inc({ topic }, list.length);
  }

  async subscribe<TType extends string, TData>(
    topic: TopicDefinition<TType, TData>,
    group: string,
    handler: EventHandler<EventEnvelope<TType, TData>>,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    if (this.closed) throw new PlatformError('unavailable', 'the Kafka event bus is closed');
    checkTopicName(topic.name);
    checkGroupName(group);
    const dispatcher = new EventDispatcher({
      topic,
      group,
      handler,
      retry: resolveRetryPolicy(this.retry, options.retry),
      deadLetter: (message) => this.publishMessages([message]),
      metrics: this.metrics,
      source: this.options.clientId,
      logger: this.options.logger,
    });
    const sessionTimeout = this.options.sessionTimeoutMs ?? 10_000;
    const subscription = new KafkaSubscription(topic.name, group, (s) => this.subscriptions.delete(s));
    let markJoined: () => void = () => undefined;
    const joined = new Promise<void>((resolve) => (markJoined = resolve));
    // One group member. kafkajs restarts a member itself after a retriable error, and stops it for good after
    // any other (such as the mock cluster's INVALID_REQUEST to a late SyncGroup): the subscription would then
    // consume nothing while its service looked healthy, so it starts a new member instead.
    const startMember = async (): Promise<Consumer> => {
      const consumer = this.kafka.consumer({
        groupId: group,
        sessionTimeout,
        heartbeatInterval: this.options.heartbeatIntervalMs ?? Math.max(100, Math.floor(sessionTimeout / 10)),
        rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 30_000,
        allowAutoTopicCreation: true,
        maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 100,
        partitionAssigners: [leaderWaitsForFollowers(this.options.leaderSyncDelayMs ?? 500)],
      });
      subscription.consumer = consumer;
      consumer.on(consumer.events.GROUP_JOIN, () => markJoined());
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        this.options.logger?.error(
          { topic: topic.name, group, err: payload.error, restart: payload.restart },
          payload.restart
            ? 'Kafka consumer crashed; kafkajs restarts it'
            : 'Kafka consumer crashed; replacing it',
        );
        if (!payload.restart) subscription.replace(consumer, startMember, this.options.logger);
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic.name], fromBeginning: options.fromBeginning ?? true });
        await consumer.run({
          autoCommit: true,
          autoCommitInterval: 1000,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
          eachBatch: (payload) => this.consume(payload, dispatcher, subscription.abort.signal, group),
        });
      } catch (error) {
        await consumer.disconnect().catch(() => undefined);
        throw error;
      }
      return consumer;
    };
    try {
      await startMember();
      await withTimeout(joined, this.options.joinTimeoutMs ?? 60_000, `joining consumer group ${group}`);
    } catch (error) {
      await subscription.close().catch(() => undefined);
      throw error instanceof PlatformError
        ? error
        : new PlatformError('unavailable', `cannot consume ${topic.name}: ${errorMessageOf(error)}`, {
            cause: error,
          });
    }
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    if (this.producerReady) await this.producer.disconnect().catch(() => undefined);
  }

  private async consume(
    { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }: EachBatchPayload,
    dispatcher: Pick<EventDispatcher<string, unknown>, 'dispatch'>,
    signal: AbortSignal,
    group: string,
  ): Promise<void> {
    const lag = { topic: batch.topic, group, partition: String(batch.partition) };
    const highWatermark = BigInt(batch.highWatermark);
    const first = batch.messages[0];
    if (first) this.metrics.consumerLag.set(lag, Number(highWatermark - BigInt(first.offset)));
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || signal.aborted) break;
      const incoming: IncomingMessage = {
        partition: batch.partition,
        offset: message.offset,
        key: message.key === null ? null : message.key.toString('utf8'),
        value: message.value,
        headers: headersOf(message.headers),
      };
      // A dead letter that could not be written throws here: kafkajs then restarts from the last resolved
      // offset, so the message is retried rather than skipped.
      const outcome = await dispatcher.dispatch(incoming, signal, heartbeat);
      if (outcome === 'interrupted') break;
      resolveOffset(message.offset);
      this.metrics.consumerLag.set(lag, Number(highWatermark - BigInt(message.offset) - 1n));
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  private createProducer(): Producer {
    return this.kafka.producer({
      createPartitioner: loadKafkaJs().Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      idempotent: false,
      maxInFlightRequests: 1,
      retry: { retries: this.options.producerRetries ?? 5 },
    });
  }

  /**
   * After a failed send the next publish starts from a fresh producer: a kafkajs producer whose connection
   * handshake timed out (brokers unreachable) can keep reporting "broker not connected" after they return.
   */
  private replaceProducer(): void {
    const failed = this.producer;
    this.producer = this.createProducer();
    this.producerReady = undefined;
    void failed.disconnect().catch(() => undefined);
  }

  private connectProducer(): Promise<void> {
    this.producerReady ??= this.producer.connect().catch((error: unknown) => {
      this.producerReady = undefined; // the next publish tries again
      throw error;
    });
    return this.producerReady;
  }

  private log({ level, log }: LogEntry): void {
    const logger = this.options.logger;
    if (!logger) return;
    const { message, ...rest } = log;
    const KafkaJsLogLevel = loadKafkaJs().logLevel;
    // kafkajs reports routine group and connection events as errors; they are warnings for us.
    if (level === KafkaJsLogLevel.ERROR || level === KafkaJsLogLevel.WARN)
      logger.warn({ kafka: rest }, message);
    else if (level === KafkaJsLogLevel.INFO) logger.debug({ kafka: rest }, message);
    else logger.trace({ kafka: rest }, message);
  }
}

class KafkaSubscription implements Subscription {
  readonly abort = new AbortController();
  /** The current group member; replaced when kafkajs gives one up. */
  consumer: Consumer | undefined;
  private closing: Promise<void> | undefined;
  private replacing: Promise<void> | undefined;

  constructor(
    readonly topic: string,
    readonly group: string,
    private readonly onClosed: (s: KafkaSubscription) => void,
  ) {}

  /** Starts a new member in place of one kafkajs stopped for good, retrying with backoff until one runs. */
  replace(stopped: Consumer, start: () => Promise<Consumer>, logger?: Logger): void {
    if (this.abort.signal.aborted || this.consumer !== stopped || this.replacing) return;
    this.replacing = (async () => {
      await stopped.disconnect().catch(() => undefined);
      for (let attempt = 0; !this.abort.signal.aborted; attempt += 1) {
        await sleep(Math.min(30_000, 1000 * 2 ** attempt), this.abort.signal);
        if (this.abort.signal.aborted) return;
        try {
          await start();
          logger?.info({ topic: this.topic, group: this.group }, 'Kafka consumer replaced');
          return;
        } catch (error) {
          logger?.warn(
            { topic: this.topic, group: this.group, err: error },
            'Kafka consumer not replaced yet',
          );
        }
      }
    })().finally(() => (this.replacing = undefined));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      await this.replacing;
      // disconnect() stops fetching, waits for the batch in progress (which stops after its current message),
      // commits the resolved offsets and leaves the group, so its partitions move on at once.
      await this.consumer?.disconnect();
      this.onClosed(this);
    })();
    return this.closing;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

/**
 * kafkajs' round-robin assignment, computed by a leader that first gives the other members time to send their
 * SyncGroup (see {@link KafkaEventBusOptions.leaderSyncDelayMs}). It keeps the round-robin protocol name, so it
 * interoperates with plain kafkajs members of the same group.
 */
function leaderWaitsForFollowers(delayMs: number): PartitionAssigner {
  return (config) => {
    const roundRobin = loadKafkaJs().PartitionAssigners.roundRobin(config);
    return {
      name: roundRobin.name,
      version: roundRobin.version,
      protocol: (subscription) => roundRobin.protocol(subscription),
      assign: async (group) => {
        if (delayMs > 0 && group.members.length > 1)
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        return roundRobin.assign(group);
      },
    };
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PlatformError('unavailable', `timed out ${what} after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

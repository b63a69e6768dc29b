import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { faultTopic } from './fault-support.testing';
import { integrationEnv } from './integration-env';
import { KafkaEventBus } from './kafka-event-bus';
import type { Logger } from './logger';
import { uniqueSuffix } from './test-support.testing';

/**
 * librdkafka's mock cluster ends a sync round when the group leader's SyncGroup arrives, and answers a follower
 * whose SyncGroup comes later with INVALID_REQUEST (a real broker answers it with its assignment); kafkajs stops
 * that member for good. Here a follower process is paused (SIGSTOP) from the moment it asked to join until the
 * leader has synced, so it is late for certain: the bus must replace the stopped member, which then joins.
 */

const ROOT = path.resolve(__dirname, '../../..');
let leader: KafkaEventBus | undefined;
let follower: ChildProcess | undefined;

afterAll(async () => {
  if (follower && follower.exitCode === null) {
    follower.kill('SIGCONT');
    follower.kill('SIGKILL');
  }
  await leader?.close();
});

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

it('replaces a group member whose late SyncGroup the mock cluster rejected, and the new member joins', async () => {
  const suffix = uniqueSuffix();
  const group = `recovery-${suffix}`;
  const topicType = `test.recovery.${suffix}`;
  const brokers = integrationEnv.kafkaBrokers();

  // The leader, in this process: its log tells when the group starts rebalancing and when it has joined.
  const leaderLog: string[] = [];
  const note = (_fields: unknown, msg?: string) => void leaderLog.push(msg ?? '');
  const logger = { error: note, warn: note, info: note, debug: note, trace: note } as unknown as Logger;
  (logger as unknown as { child: () => Logger }).child = () => logger;
  leader = new KafkaEventBus({ brokers, clientId: `recovery-leader-${suffix}`, logger });
  await leader.subscribe(faultTopic(topicType), group, async () => undefined);
  const joins = () => leaderLog.filter((m) => m === 'Consumer has joined the group').length;
  expect(joins()).toBe(1);

  const lines: { event: string; msg?: string; err?: string }[] = [];
  follower = spawn(
    process.execPath,
    [
      '-r',
      path.join(ROOT, 'scripts/integration/register-ts.cjs'),
      path.join(__dirname, 'kafka-member.testing.ts'),
      JSON.stringify({ brokers, group, topicType, clientId: `recovery-follower-${suffix}` }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let pending = '';
  follower.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const l of complete) if (l.startsWith('{')) lines.push(JSON.parse(l));
  });

  // The follower's JoinGroup has arrived when the leader is told to rejoin: pause the follower there, and
  // resume it once the leader has joined the new generation alone (the mock answered the leader's SyncGroup).
  await until(() => leaderLog.includes('The group is rebalancing, re-joining'), 'the follower to join');
  follower.kill('SIGSTOP');
  await until(() => joins() === 2, 'the leader to sync the new generation');
  follower.kill('SIGCONT');

  // `subscribe` may resolve before the rejected member crashes; the replacement joins a backoff later.
  const seen = (what: string) => lines.some((l) => l.event === what || l.msg === what);
  await until(
    () => (seen('subscribed') && seen('Kafka consumer replaced')) || seen('failed'),
    'the follower',
    90_000,
  );
  const crash = lines.find((l) => l.msg === 'Kafka consumer crashed; replacing it');
  expect(crash?.err).toMatch(/malformed/); // kafkajs' text for INVALID_REQUEST
  expect(lines.map((l) => l.msg ?? l.event)).toEqual(
    expect.arrayContaining(['Kafka consumer replaced', 'subscribed']),
  );
  expect(lines.find((l) => l.event === 'failed')).toBeUndefined();
}, 180_000);

import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTopic, uuidv7 } from '@strata/contracts';

/** Test helpers shared by the platform's unit and integration suites (not part of the build). */

/** Polls `check` until it returns a value other than undefined/false; fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A short random lowercase suffix, so each test gets its own topics, groups, databases and keys. */
export function uniqueSuffix(): string {
  return uuidv7().replaceAll('-', '').slice(-12);
}

export const TestPayloadSchema = z.strictObject({ n: z.int(), note: z.string().optional() });

/** A fresh topic `strata.test.<name>.<suffix>.v1` carrying {@link TestPayloadSchema}. */
export function testTopic(name: string) {
  return defineTopic({
    type: `test.${name}.${uniqueSuffix()}`,
    version: 1,
    data: TestPayloadSchema,
    description: 'test topic',
  });
}

/** A promise with its resolve function, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

import type { AuditEntry } from './audit-log';
import { DenialAggregator } from './denial-aggregator';

describe('DenialAggregator', () => {
  let appended: AuditEntry[];
  let aggregator: DenialAggregator;
  let now: Date;

  const make = (maxGroups?: number) =>
    new DenialAggregator({
      append: async (entry) => {
        appended.push(entry);
      },
      now: () => now,
      ...(maxGroups ? { maxGroups } : {}),
    });

  beforeEach(() => {
    appended = [];
    now = new Date('2026-11-30T12:00:00.000Z');
  });

  afterEach(() => aggregator.close());

  it('writes one record per address, action and reason per window, with the count', async () => {
    aggregator = make();
    for (let i = 0; i < 500; i += 1) {
      aggregator.record({ address: '10.0.0.1', action: 'generate', reason: 'the API key is not valid' });
    }
    aggregator.record({ address: '10.0.0.2', action: 'generate', reason: 'the API key is not valid' });
    now = new Date('2026-11-30T12:00:30.000Z');
    aggregator.record({ address: '10.0.0.1', action: 'generate', reason: 'no API key was presented' });
    expect(appended).toHaveLength(0);
    await aggregator.flush();
    expect(appended).toHaveLength(3);
    expect(appended[0]).toMatchObject({
      recordClass: 'denied',
      action: 'generate',
      outcome: 'denied',
      keyId: null,
      details: {
        aggregated: true,
        address: '10.0.0.1',
        reason: 'the API key is not valid',
        count: 500,
        first_at: '2026-11-30T12:00:00.000Z',
        last_at: '2026-11-30T12:00:00.000Z',
        window_start: '2026-11-30T12:00:00.000Z',
        window_end: '2026-11-30T12:00:30.000Z',
      },
    });
    expect(appended.map((e) => e.details!['count'])).toEqual([500, 1, 1]);
    // A new window starts empty.
    await aggregator.flush();
    expect(appended).toHaveLength(3);
  });

  it('bounds the records per window under a spray of addresses', async () => {
    aggregator = make(10);
    for (let i = 0; i < 10_000; i += 1) {
      aggregator.record({ address: `addr-${i}`, action: 'generate', reason: 'bad key' });
    }
    await aggregator.flush();
    expect(appended).toHaveLength(11);
    const overflow = appended.at(-1)!;
    expect(overflow.details).toMatchObject({ address: 'other', count: 9_990 });
    expect(appended.slice(0, 10).every((e) => e.details!['count'] === 1)).toBe(true);
  });

  it('writes what is pending on close', async () => {
    aggregator = make();
    aggregator.record({ address: 'a', action: 'generate', reason: 'r' });
    await aggregator.close();
    expect(appended).toHaveLength(1);
  });
});

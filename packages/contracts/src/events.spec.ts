import {
  DEAD_LETTER_TYPE,
  EventInvalidError,
  TOPICS,
  assertEventOf,
  createEvent,
  deadLetterTopic,
  decodeEvent,
  defineTopic,
  encodeEvent,
  isValidTopicName,
  newTraceId,
  topicByName,
  uuidv7,
  uuidv7Time,
  type PayloadOf,
  type StrataTopic,
} from './index';
import { z } from 'zod';

const SHA = 'a'.repeat(64);
const MODEL = { name: 'support-assistant', version: '3' };
const WINDOW = { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' };

/** One valid payload per registered topic: the registry and the samples must stay in step. */
const SAMPLES: { [K in keyof typeof TOPICS]: PayloadOf<(typeof TOPICS)[K]> } = {
  ingestRequested: {
    ingestId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
    dataset: 'support-tickets',
    connector: 'crm',
    sourceUri: 'exports/crm/2026-01-01.csv',
    format: 'csv',
    requestedBy: 'key_123',
    options: { redactPii: true, dedup: 'near' },
  },
  datasetPublished: {
    dataset: { namespace: 'strata://lake', name: 'support-tickets' },
    version: 4,
    manifestKey: 'datasets/support-tickets/v4/manifest.json',
    manifestSha256: SHA,
    recordCount: 1200,
    sizeBytes: 1_048_576,
    lineage: {
      runId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
      job: { namespace: 'strata', name: 'ingest' },
      inputs: [{ namespace: 'crm', name: 'tickets' }],
    },
  },
  ingestRequestedV2: {
    requestId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
    input: 'lake:uploads/0b9e8e7c/tickets.csv',
    profile: 'crm',
    steps: ['normalize', { name: 'near-dedup', options: { bands: 20, rows: 13 } }],
    requestedAt: '2026-01-01T00:00:00Z',
    requestedBy: 'key_123',
  },
  datasetPublishedV2: {
    dataset: { namespace: 'strata://lake', name: 'crm@v0123456789abcdef0123' },
    datasetName: 'crm',
    versionId: 'v0123456789abcdef0123',
    sequence: 1,
    parents: [],
    manifestKey: 'versions/v0123456789abcdef0123.json',
    manifestSha256: SHA,
    rows: 1200,
    bytes: 1_048_576,
    lineage: {
      runId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
      job: { namespace: 'strata', name: 'ingest.crm' },
      inputs: [{ namespace: 'strata://lake', name: 'lake:uploads/0b9e8e7c/tickets.csv' }],
    },
  },
  lineageRecorded: {
    runEvent: {
      eventType: 'START',
      eventTime: '2026-01-01T00:00:00Z',
      run: { runId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f' },
      job: { namespace: 'strata', name: 'ingest.crm' },
      inputs: [{ namespace: 'strata://lake', name: 'exports/crm' }],
      outputs: [],
      producer: 'https://strata.dev/data',
      schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    },
  },
  stageRequested: { runId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f', stage: 'extract', index: 0 },
  modelVersionRegistered: {
    model: MODEL,
    source: 'models/support-assistant/3',
    baseModel: 'Xenova/distilgpt2',
    trainedOn: { dataset: { namespace: 'strata://lake', name: 'support-tickets' }, version: 4 },
    metrics: { eval_loss: 2.31 },
  },
  modelVersionPromoted: {
    model: MODEL,
    alias: 'champion',
    previousVersion: '2',
    gate: { metric: 'eval_loss', better: 'lower', candidate: 2.31, champion: 2.5 },
    promotedBy: 'strata/model-worker',
  },
  auditRecorded: {
    sequence: 0,
    actor: { type: 'api_key', id: 'key_123' },
    action: 'generate',
    resource: { type: 'model', id: 'support-assistant' },
    outcome: 'allowed',
    previousHash: '0'.repeat(64),
    hash: SHA,
  },
  feedbackRecorded: {
    feedbackId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
    requestId: 'req-1',
    model: MODEL,
    rating: 'negative',
    comment: 'too long',
    principal: 'key_123',
  },
  feedbackRecordedV2: {
    feedbackId: '0b9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
    generationId: '1c9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
    auditId: '2d9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
    feedbackAuditId: '3e9e8e7c-3a5b-4c1d-9e2f-1a2b3c4d5e6f',
    model: MODEL,
    rating: 'neutral',
    score: 3,
    hasComment: true,
    hasCorrection: false,
    tenant: 'support',
    principal: 'key_123',
  },
  driftDetected: {
    model: MODEL,
    monitor: 'prompt-length',
    statistic: 'psi',
    value: 0.31,
    threshold: 0.2,
    severity: 'warning',
    window: WINDOW,
    baselineWindow: WINDOW,
    sampleSize: 5000,
  },
};

describe('uuidv7', () => {
  it('makes RFC 9562 version-7 ids that sort by creation, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(z.uuidv7().safeParse(ids[0]).success).toBe(true);
  });

  it('encodes its creation time', () => {
    expect(uuidv7Time(uuidv7(1_800_000_000_123))).toBeGreaterThanOrEqual(1_800_000_000_123);
  });

  it('makes W3C trace ids', () => {
    expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('topic registry', () => {
  it('names topics strata.<type>.v<version> and finds them by name', () => {
    expect(TOPICS.datasetPublished.name).toBe('strata.data.dataset.published.v1');
    const names = Object.values(TOPICS).map((t) => t.name);
    expect(names).toEqual([
      'strata.data.ingest.requested.v1',
      'strata.data.dataset.published.v1',
      'strata.data.ingest.requested.v2',
      'strata.data.dataset.published.v2',
      'strata.data.lineage.recorded.v1',
      'strata.data.stage.requested.v1',
      'strata.model.version.registered.v1',
      'strata.model.version.promoted.v1',
      'strata.governance.audit.recorded.v1',
      'strata.model.feedback.recorded.v1',
      'strata.model.feedback.recorded.v2',
      'strata.model.drift.detected.v1',
    ]);
    for (const topic of Object.values(TOPICS)) {
      expect(topicByName(topic.name)).toBe(topic);
      expect(isValidTopicName(topic.name)).toBe(true);
    }
    expect(topicByName('strata.data.dataset.published.v9')).toBeUndefined();
  });

  it.each(Object.keys(SAMPLES) as (keyof typeof TOPICS)[])(
    '%s: a valid payload round-trips through the wire',
    (name) => {
      const topic: StrataTopic = TOPICS[name];
      const event = createEvent(topic as typeof TOPICS.ingestRequested, SAMPLES[name] as never, {
        source: 'strata/test',
        subject: 'subject-1',
      });
      const decoded = decodeEvent(topic, encodeEvent(event));
      expect(decoded).toEqual({ ok: true, event });
      expect(() => assertEventOf(topic, event)).not.toThrow();
    },
  );

  it('versions by topic: v2 of a type is a different topic, and v1 events are poison on it', () => {
    const v2 = defineTopic({
      type: 'data.dataset.published',
      version: 2,
      data: z.strictObject({ name: z.string() }),
      description: 'test',
    });
    expect(v2.name).toBe('strata.data.dataset.published.v2');
    const v1Event = createEvent(TOPICS.datasetPublished, SAMPLES.datasetPublished, { source: 's' });
    const result = decodeEvent(v2, encodeEvent(v1Event));
    expect(result).toEqual({
      ok: false,
      eventId: v1Event.id,
      reason: expect.stringContaining('does not belong on strata.data.dataset.published.v2'),
    });
  });
});

describe('createEvent', () => {
  it('fills id, time and trace id, and keeps the subject', () => {
    const event = createEvent(TOPICS.feedbackRecorded, SAMPLES.feedbackRecorded, {
      source: 'strata/api',
      subject: 'req-1',
    });
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'model.feedback.recorded',
      version: 1,
      occurredAt: expect.any(String),
      source: 'strata/api',
      subject: 'req-1',
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      data: SAMPLES.feedbackRecorded,
    });
  });

  it('refuses a payload that breaks the schema, naming the field', () => {
    const bad = { ...SAMPLES.driftDetected, sampleSize: 0 };
    expect(() => createEvent(TOPICS.driftDetected, bad, { source: 's' })).toThrow(EventInvalidError);
    expect(() => createEvent(TOPICS.driftDetected, bad, { source: 's' })).toThrow(/data\.sampleSize/);
    expect(() =>
      createEvent(
        TOPICS.driftDetected,
        { ...SAMPLES.driftDetected, window: { start: WINDOW.end, end: WINDOW.start } },
        { source: 's' },
      ),
    ).toThrow(/data\.window\.end: start must be before end/);
  });

  it('refuses a bad envelope field', () => {
    expect(() =>
      createEvent(TOPICS.auditRecorded, SAMPLES.auditRecorded, { source: 's', traceId: 'xyz' }),
    ).toThrow(/traceId/);
    expect(() =>
      createEvent(TOPICS.auditRecorded, SAMPLES.auditRecorded, { source: 's', id: 'not-a-uuid' }),
    ).toThrow(/id: must be a UUIDv7/);
  });
});

describe('decodeEvent', () => {
  const topic = TOPICS.auditRecorded;
  const good = () => createEvent(topic, SAMPLES.auditRecorded, { source: 's' });

  it.each([
    ['no value', null, 'message has no value'],
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe, 0x00]), 'not valid UTF-8'],
    ['not JSON', '{"id":', 'not JSON'],
    ['an envelope with an unknown field', JSON.stringify({ ...good(), extra: 1 }), 'invalid envelope'],
    ['an envelope without id', JSON.stringify({ ...good(), id: undefined }), 'invalid envelope: id'],
    [
      'a payload with a wrong field',
      JSON.stringify({ ...good(), data: { ...SAMPLES.auditRecorded, sequence: -1 } }),
      'data.sequence',
    ],
  ])('reports %s as poison, never throwing', (_what, value, reason) => {
    const result = decodeEvent(topic, value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('decodes bytes as well as text', () => {
    const event = good();
    expect(decodeEvent(topic, new TextEncoder().encode(encodeEvent(event)))).toEqual({ ok: true, event });
  });
});

describe('dead letters', () => {
  it('go to <topic>.dlq, which is never dead-lettered again', () => {
    const dlq = deadLetterTopic(TOPICS.datasetPublished);
    expect(dlq.name).toBe('strata.data.dataset.published.v1.dlq');
    expect(dlq.type).toBe(DEAD_LETTER_TYPE);
    expect(isValidTopicName(dlq.name)).toBe(true);
    expect(() => deadLetterTopic(dlq)).toThrow(/already a dead-letter topic/);
  });
});

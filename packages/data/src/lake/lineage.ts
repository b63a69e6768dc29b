import { randomUUID } from 'node:crypto';

/**
 * OpenLineage RunEvents (spec 2-0-2): what a run read and wrote, as START, COMPLETE or FAIL. Strata stores them
 * in the lake beside the versions and publishes them on the bus, so a lineage backend such as Marquez can be fed
 * from either.
 */
export interface LineageDatasetRef {
  namespace: string;
  name: string;
  facets?: Record<string, unknown>;
}

export interface RunEvent {
  eventType: 'START' | 'COMPLETE' | 'FAIL' | 'ABORT';
  eventTime: string;
  run: { runId: string; facets?: Record<string, unknown> };
  job: { namespace: string; name: string; facets?: Record<string, unknown> };
  inputs: LineageDatasetRef[];
  outputs: LineageDatasetRef[];
  producer: string;
  schemaURL: string;
}

export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
export const STRATA_PRODUCER = 'https://strata.dev/data';
/** Custom facets name their schema, as OpenLineage asks. */
const FACET_SCHEMA = 'https://strata.dev/spec/facets/1-0-0';

export function facet(name: string, body: Record<string, unknown>): Record<string, unknown> {
  return { _producer: STRATA_PRODUCER, _schemaURL: `${FACET_SCHEMA}/${name}.json`, ...body };
}

export function runEvent(
  eventType: RunEvent['eventType'],
  fields: Omit<RunEvent, 'eventType' | 'eventTime' | 'producer' | 'schemaURL'> & { eventTime?: string },
): RunEvent {
  return {
    eventType,
    eventTime: fields.eventTime ?? new Date().toISOString(),
    run: fields.run,
    job: fields.job,
    inputs: fields.inputs,
    outputs: fields.outputs,
    producer: STRATA_PRODUCER,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
  };
}

/** Where lineage events go besides the lake: the bus, in the server and the worker. */
export type LineagePublisher = (event: RunEvent) => Promise<void>;

/** A deterministic UUID (version-8 layout) from a name, so a rerun of a request gets the same run id. */
export function nameUuid(hashHex: string): string {
  const h = hashHex.slice(0, 32).split('');
  h[12] = '8';
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

export function newRequestId(): string {
  return randomUUID();
}

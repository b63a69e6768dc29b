import { z } from 'zod';
import { buildEnvelope, type EventEnvelope, type EventMetadata } from './event-envelope';
import {
  DatasetPublishedV1Schema,
  DatasetPublishedV2Schema,
  IngestRequestedV1Schema,
  IngestRequestedV2Schema,
  LineageRecordedV1Schema,
  StageRequestedV1Schema,
} from './data-events';
import { AuditRecordedV1Schema } from './governance-events';
import {
  DriftDetectedV1Schema,
  FeedbackRecordedV1Schema,
  FeedbackRecordedV2Schema,
  ModelVersionPromotedV1Schema,
  ModelVersionRegisteredV1Schema,
} from './model-events';

/**
 * A topic: its wire name, the event type and payload version it carries, and the payload schema.
 * One topic carries exactly one (type, version), so a consumer knows the schema from the topic alone.
 */
export interface TopicDefinition<TType extends string = string, TData = unknown> {
  /** The Kafka topic name, e.g. `strata.data.dataset.published.v1`. */
  readonly name: string;
  readonly type: TType;
  readonly version: number;
  readonly data: z.ZodType<TData>;
  readonly description: string;
}

/** The envelope type a topic carries. */
export type EventOf<T> =
  T extends TopicDefinition<infer TType, infer TData> ? EventEnvelope<TType, TData> : never;

/** The payload type a topic carries. */
export type PayloadOf<T> = T extends TopicDefinition<string, infer TData> ? TData : never;

/** Topic names: lowercase dotted words ending in `.v<version>`, optionally followed by `.dlq`. */
const TOPIC_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*\.v[1-9][0-9]*(\.dlq)?$/;

/**
 * Defines a topic named `strata.<type>.v<version>`. Never change the schema of a defined topic: define the
 * next version beside it, publish both while consumers migrate, then retire the old one.
 */
export function defineTopic<
  const TType extends string,
  const TVersion extends number,
  S extends z.ZodType,
>(spec: {
  type: TType;
  version: TVersion;
  data: S;
  description: string;
}): TopicDefinition<TType, z.output<S>> & { readonly name: `strata.${TType}.v${TVersion}` } {
  const name = `strata.${spec.type}.v${spec.version}` as const;
  if (!TOPIC_NAME.test(name)) throw new Error(`invalid topic name ${name}`);
  if (!Number.isInteger(spec.version) || spec.version < 1) throw new Error(`invalid version ${spec.version}`);
  return {
    name,
    type: spec.type,
    version: spec.version,
    data: spec.data as z.ZodType<z.output<S>>,
    description: spec.description,
  };
}

/** Builds a validated event for `topic`; throws `EventInvalidError` when `data` breaks the topic's schema. */
export function createEvent<TType extends string, TData>(
  topic: TopicDefinition<TType, TData>,
  data: NoInfer<TData>,
  meta: EventMetadata,
): EventEnvelope<TType, TData> {
  return buildEnvelope(topic.type, topic.version, topic.data, data, meta);
}

/** The topics of the operating loop (docs/architecture.md). Names are wire protocol: never rename one. */
export const TOPICS = {
  ingestRequested: defineTopic({
    type: 'data.ingest.requested',
    version: 1,
    data: IngestRequestedV1Schema,
    description: 'An export is ready to be ingested; the data worker runs its pipeline.',
  }),
  datasetPublished: defineTopic({
    type: 'data.dataset.published',
    version: 1,
    data: DatasetPublishedV1Schema,
    description: 'A dataset version (manifest + lineage) is in the lake and may be trained on.',
  }),
  ingestRequestedV2: defineTopic({
    type: 'data.ingest.requested',
    version: 2,
    data: IngestRequestedV2Schema,
    description: 'Run the ingestion pipeline over an input (profile, steps, idempotent request id).',
  }),
  datasetPublishedV2: defineTopic({
    type: 'data.dataset.published',
    version: 2,
    data: DatasetPublishedV2Schema,
    description: 'A content-addressed dataset version (manifest + lineage) is in the lake.',
  }),
  lineageRecorded: defineTopic({
    type: 'data.lineage.recorded',
    version: 1,
    data: LineageRecordedV1Schema,
    description: 'An OpenLineage RunEvent of a data run (START, COMPLETE, FAIL).',
  }),
  stageRequested: defineTopic({
    type: 'data.stage.requested',
    version: 1,
    data: StageRequestedV1Schema,
    description: 'One shard of a data run stage, shared by the data workers of a consumer group.',
  }),
  modelVersionRegistered: defineTopic({
    type: 'model.version.registered',
    version: 1,
    data: ModelVersionRegisteredV1Schema,
    description: 'A fine-tuned model version was evaluated and registered.',
  }),
  modelVersionPromoted: defineTopic({
    type: 'model.version.promoted',
    version: 1,
    data: ModelVersionPromotedV1Schema,
    description: 'A registered version passed the gate and now holds an alias such as champion.',
  }),
  auditRecorded: defineTopic({
    type: 'governance.audit.recorded',
    version: 1,
    data: AuditRecordedV1Schema,
    description: 'An entry was appended to the tamper-evident audit log.',
  }),
  feedbackRecorded: defineTopic({
    type: 'model.feedback.recorded',
    version: 1,
    data: FeedbackRecordedV1Schema,
    description: 'A user rated a generation.',
  }),
  feedbackRecordedV2: defineTopic({
    type: 'model.feedback.recorded',
    version: 2,
    data: FeedbackRecordedV2Schema,
    description:
      'A user rated a generation (thumbs or 1-5), referenced by its generation id and audit record.',
  }),
  driftDetected: defineTopic({
    type: 'model.drift.detected',
    version: 1,
    data: DriftDetectedV1Schema,
    description: 'A drift monitor crossed its threshold for a served model version.',
  }),
} as const;

/** Every topic of {@link TOPICS}. */
export type StrataTopic = (typeof TOPICS)[keyof typeof TOPICS];

/** The registered topic names, e.g. `strata.data.dataset.published.v1`. */
export type TopicName = StrataTopic['name'];

const BY_NAME: ReadonlyMap<string, StrataTopic> = new Map(Object.values(TOPICS).map((t) => [t.name, t]));

/** The registered topic called `name`, or undefined. */
export function topicByName(name: string): StrataTopic | undefined {
  return BY_NAME.get(name);
}

/** True for names that follow the topic naming rule (`<dotted words>.v<n>`, optionally `.dlq`). */
export function isValidTopicName(name: string): boolean {
  return TOPIC_NAME.test(name);
}

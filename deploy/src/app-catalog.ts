import path from 'node:path';
import type { z } from 'zod';
import { generationServiceEnvSchema, modelWorkerServiceEnvSchema } from '@strata/application';
import { TOPICS } from '@strata/contracts';
import { dataWorkerEnvSchema, INGEST_GROUP, STAGE_GROUP } from '@strata/data';
import { DOCKER_DIR } from './paths';

/** A deployable app: a long-running service with an image, manifests, probes and metrics. */
export interface DeployableApp {
  /** Its folder under apps/ (also its Deployment, Service and container name). */
  name: string;
  /** Every environment variable it reads: the zod schema its main validates `process.env` with. */
  envSchema: z.ZodObject;
  /** The overlays (deploy/k8s/overlays/*) that deploy it. */
  overlays: string[];
  /** Environment for running it on a developer machine in the tests (embedded database, starter model). */
  localEnv: Record<string, string>;
  /**
   * The Kafka consumer groups a worker reads in, each with its topic: a worker scales on their lag, so each
   * needs a trigger in its ScaledObject. Empty for services that scale on requests.
   */
  consumerGroups: { group: string; topic: string }[];
  /** Variables of its schema that its manifests leave unset on purpose, each with the reason. */
  unset?: Record<string, string>;
}

/**
 * Every folder under apps/ must appear here, either as a deployable app or with the reason it is not one:
 * the deploy tests fail on an app that is in neither list, so a new app cannot ship without manifests.
 */
export const DEPLOYABLE_APPS: DeployableApp[] = [
  {
    name: 'generation-api',
    envSchema: generationServiceEnvSchema,
    overlays: ['dev', 'prod'],
    localEnv: { MODEL_FALLBACK: 'starter', MODEL_OFFLINE: 'true' },
    consumerGroups: [],
  },
  {
    name: 'data-worker',
    envSchema: dataWorkerEnvSchema,
    overlays: ['dev', 'prod'],
    localEnv: {},
    consumerGroups: [
      { group: INGEST_GROUP, topic: TOPICS.ingestRequestedV2.name },
      { group: STAGE_GROUP, topic: TOPICS.stageRequested.name },
    ],
  },
  {
    name: 'model-worker',
    envSchema: modelWorkerServiceEnvSchema,
    overlays: ['dev', 'prod'],
    localEnv: { MODEL_FALLBACK: 'starter', MODEL_OFFLINE: 'true' },
    // The group name is a literal in the model worker (packages/application/src/model/model-worker.ts).
    consumerGroups: [
      { group: 'model-worker', topic: TOPICS.datasetPublishedV2.name },
      { group: 'model-worker', topic: TOPICS.driftDetected.name },
    ],
    unset: {
      STRATA_ADMIN_KEY:
        'the worker registers no bootstrap admin key; operators use the generation API for keys',
      AUDIT_VERIFY_INTERVAL_SECONDS:
        'the worker does not verify the audit chain periodically; the generation API does, for the shared chain',
      AUDIT_VERIFY_FULL_INTERVAL_HOURS: 'as AUDIT_VERIFY_INTERVAL_SECONDS',
    },
  },
  {
    name: 'standalone',
    envSchema: generationServiceEnvSchema,
    overlays: ['standalone'],
    localEnv: { MODEL_FALLBACK: 'starter', MODEL_OFFLINE: 'true' },
    consumerGroups: [],
  },
];

export const NOT_DEPLOYED: Record<string, string> = {
  cli: 'a command-line tool that operators run against the API; it is not a service',
};

export const OVERLAYS = ['dev', 'prod', 'standalone'];

export function dockerfileOf(app: string): string {
  return path.join(DOCKER_DIR, `${app}.Dockerfile`);
}

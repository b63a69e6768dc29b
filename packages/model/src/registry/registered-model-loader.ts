import path from 'node:path';
import type { Logger, ObjectStore } from '@strata/platform';
import type { ModelConfig } from '../model-config';
import { loadModel, type LoadedModel } from '../model-loader';
import { materializeVersion } from './model-artifacts';
import type { ModelVersion } from './model-registry';

/** The id a registered version is served under: `/`, `/info`, `/v1/models`, audit records and metric labels. */
export function servedModelId(name: string, version: number): string {
  return `${name}/v${version}`;
}

/**
 * Loads a registered version for serving: downloads its artifacts into `MODEL_CACHE_DIR/registry/<name>_v<version>`,
 * verifying every checksum, then loads that folder with transformers.js, never from the Hub. It is served as
 * `<name>/v<version>` with the version as its revision.
 */
export async function loadRegisteredVersion(
  store: ObjectStore,
  version: ModelVersion,
  config: ModelConfig,
  logger: Logger,
): Promise<LoadedModel> {
  const root = path.resolve(config.MODEL_CACHE_DIR);
  // transformers.js reads local models by Hub-style ids of at most two segments.
  const folderId = `registry/${version.name}_v${version.version}`;
  await materializeVersion(store, version, path.join(root, folderId));
  const loaded = await loadModel(
    { ...config, MODEL_ID: folderId, MODEL_REVISION: 'main', MODEL_OFFLINE: true, MODEL_FALLBACK: 'none' },
    logger,
  );
  return { ...loaded, id: servedModelId(version.name, version.version), revision: String(version.version) };
}

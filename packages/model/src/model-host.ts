import type { Logger } from '@strata/platform';
import type { ModelConfig } from './model-config';
import { ModelError } from './model-error';
import { loadModel, type LoadedModel } from './model-loader';
import type { ModelMetrics } from './model-metrics';
import { TextGenerator } from './text-generator';

export type ModelState = 'loading' | 'ready' | 'failed';

/**
 * Owns the served model's lifecycle: loads it once at start-up, and answers "not ready" until then, so an
 * HTTP server can listen (and pass liveness probes) while a large model loads.
 */
export class ModelHost {
  private current: TextGenerator | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly config: ModelConfig,
    private readonly logger: Logger,
    private readonly metrics?: ModelMetrics,
  ) {}

  get state(): ModelState {
    if (this.current) return 'ready';
    return this.failure ? 'failed' : 'loading';
  }

  /** The loaded model, once ready. */
  get loaded(): LoadedModel | undefined {
    return this.current?.loaded;
  }

  /** Loads the configured model. Rejects with a ModelError that says how to fix the deployment. */
  async start(): Promise<LoadedModel> {
    try {
      const loaded = await loadModel(this.config, this.logger);
      this.metrics?.loadSeconds.set({ model: loaded.id }, loaded.loadSeconds);
      this.current = new TextGenerator(loaded, this.config, this.metrics);
      this.logger.info(
        { model: loaded.id, revision: loaded.revision, dtype: loaded.dtype, loadSeconds: loaded.loadSeconds },
        `Model ${loaded.id} loaded`,
      );
      return loaded;
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  /** The generator of the served model; throws `model_not_ready` while it loads. */
  generator(): TextGenerator {
    if (this.current) return this.current;
    throw new ModelError(
      'model_not_ready',
      this.failure ? `the model failed to load: ${this.failure.message}` : 'the model is still loading',
    );
  }

  /** Lets accepted requests finish, then releases the model. */
  async stop(): Promise<void> {
    await this.current?.drain();
    await this.current?.loaded.model.dispose();
  }
}

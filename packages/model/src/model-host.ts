import type { Logger } from '@strata/platform';
import type { GenerationObservation } from './drift/drift-monitor';
import type { ModelConfig } from './model-config';
import { ModelError } from './model-error';
import { loadModel, type LoadedModel } from './model-loader';
import type { ModelMetrics } from './model-metrics';
import { TextGenerator } from './text-generator';

export type ModelState = 'loading' | 'ready' | 'failed';

/**
 * Owns the served model's lifecycle: loads it once at start-up, and answers "not ready" until then, so an
 * HTTP server can listen (and pass liveness probes) while a large model loads. {@link ModelHost.swap} replaces
 * the served model without downtime.
 */
export class ModelHost {
  private current: TextGenerator | undefined;
  private failure: Error | undefined;
  /** Swaps run one at a time, in the order they were asked for. */
  private swaps: Promise<unknown> = Promise.resolve();
  private stopped: Promise<void> | undefined;
  private readonly observers = new Set<(observation: GenerationObservation) => void>();

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

  /**
   * Hot swap: loads the next model beside the served one, routes every new request to it, then lets the old
   * one finish the requests it accepted and releases its memory. A request holds the generator it started
   * with, so none fails because of a swap. If `load` rejects (a corrupt artifact, a model that does not load),
   * the old model keeps serving and the error propagates. Concurrent swaps run one after the other.
   */
  swap(load: () => Promise<LoadedModel>): Promise<LoadedModel> {
    const run = this.swaps.then(async () => {
      const loaded = await load();
      const next = new TextGenerator(loaded, this.config, this.metrics);
      const previous = this.current;
      this.current = next;
      this.failure = undefined;
      this.metrics?.loadSeconds.set({ model: loaded.id }, loaded.loadSeconds);
      this.logger.info(
        { model: loaded.id, revision: loaded.revision, previous: previous?.loaded.id },
        `Now serving ${loaded.id}; draining ${previous?.loaded.id ?? 'nothing'}`,
      );
      if (previous) {
        await previous.drain();
        await previous.loaded.model.dispose();
        this.logger.info({ model: previous.loaded.id }, `Released ${previous.loaded.id}`);
      }
      return loaded;
    });
    this.swaps = run.catch(() => undefined);
    return run;
  }

  /** Calls `listener` with every finished generation the API reports (drift monitoring). Returns an unsubscribe. */
  onGenerated(listener: (observation: GenerationObservation) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  /** Reports a finished generation to the listeners; a failing listener never fails the request. */
  reportGeneration(observation: GenerationObservation): void {
    for (const listener of this.observers) {
      try {
        listener(observation);
      } catch (error) {
        this.logger.warn({ err: error }, 'a generation listener failed');
      }
    }
  }

  /** Lets accepted requests finish, then releases the model. */
  stop(): Promise<void> {
    // Several owners may close one host (each application sharing it closes it on shutdown): the first call
    // releases the model, and later ones wait for that instead of releasing it twice.
    this.stopped ??= (async () => {
      await this.swaps;
      await this.current?.drain();
      await this.current?.loaded.model.dispose();
    })();
    return this.stopped;
  }
}

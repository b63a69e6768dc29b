import { StrataError } from '@strata/contracts';
import {
  LOG_BATCH_LIMITS,
  type CreateModelVersionRequest,
  type CreateRunRequest,
  type LogBatchRequest,
  type MlflowExperiment,
  type MlflowModelVersion,
  type MlflowRegisteredModel,
  type MlflowRun,
  type MlflowRunInfo,
  type MlflowTag,
  type SearchRunsRequest,
  type UpdateRunRequest,
} from './mlflow-types';

/** An error answer from an MLflow server, with MLflow's own `error_code` (e.g. `RESOURCE_DOES_NOT_EXIST`). */
export class MlflowError extends StrataError {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(status === 404 ? 'not_found' : status >= 500 ? 'unavailable' : 'validation_failed', message);
  }
}

export interface MlflowClientOptions {
  /** The tracking server, e.g. `http://127.0.0.1:5000` (MLFLOW_TRACKING_URI). */
  trackingUri: string;
  /** Sent as `Authorization: Bearer …` when set (MLFLOW_TRACKING_TOKEN). */
  token?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * A typed client for the MLflow REST API 2.0: experiments (get-by-name, create), runs (create, log-batch,
 * update, search), registered models (create, get), model versions (create, get) and aliases (set, get,
 * delete). GET requests carry their fields in the query string and the others as a JSON body, as MLflow's own
 * clients send them.
 */
export class MlflowClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: MlflowClientOptions) {
    const uri = new URL(options.trackingUri);
    if (uri.protocol !== 'http:' && uri.protocol !== 'https:') {
      throw new StrataError(
        'config_invalid',
        `MLFLOW_TRACKING_URI must be an http(s) URL, got ${options.trackingUri}`,
        'MLFLOW_TRACKING_URI',
      );
    }
    this.base = `${uri.origin}${uri.pathname.replace(/\/$/, '')}/api/2.0/mlflow`;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async getExperimentByName(name: string): Promise<MlflowExperiment | undefined> {
    try {
      const { experiment } = await this.call<{ experiment: MlflowExperiment }>(
        'GET',
        '/experiments/get-by-name',
        { experiment_name: name },
      );
      return experiment;
    } catch (error) {
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  async createExperiment(name: string, tags: MlflowTag[] = []): Promise<string> {
    const { experiment_id } = await this.call<{ experiment_id: string }>('POST', '/experiments/create', {
      name,
      ...(tags.length > 0 ? { tags } : {}),
    });
    return experiment_id;
  }

  /** The experiment's id, creating it when it does not exist. */
  async ensureExperiment(name: string): Promise<string> {
    return (await this.getExperimentByName(name))?.experiment_id ?? this.createExperiment(name);
  }

  async createRun(request: CreateRunRequest): Promise<MlflowRun> {
    const { run } = await this.call<{ run: MlflowRun }>('POST', '/runs/create', request);
    return run;
  }

  /** Logs metrics, params and tags, split into as many LogBatch calls as MLflow's limits need. */
  async logBatch(request: LogBatchRequest): Promise<void> {
    const metrics = [...(request.metrics ?? [])];
    const params = [...(request.params ?? [])];
    const tags = [...(request.tags ?? [])];
    do {
      const p = params.splice(0, LOG_BATCH_LIMITS.params);
      const t = tags.splice(0, LOG_BATCH_LIMITS.tags);
      const m = metrics.splice(0, LOG_BATCH_LIMITS.total - p.length - t.length);
      await this.call('POST', '/runs/log-batch', {
        run_id: request.run_id,
        ...(m.length > 0 ? { metrics: m } : {}),
        ...(p.length > 0 ? { params: p } : {}),
        ...(t.length > 0 ? { tags: t } : {}),
      });
    } while (metrics.length + params.length + tags.length > 0);
  }

  async updateRun(request: UpdateRunRequest): Promise<MlflowRunInfo> {
    const { run_info } = await this.call<{ run_info: MlflowRunInfo }>('POST', '/runs/update', request);
    return run_info;
  }

  async searchRuns(request: SearchRunsRequest): Promise<{ runs: MlflowRun[]; nextPageToken?: string }> {
    const answer = await this.call<{ runs?: MlflowRun[]; next_page_token?: string }>(
      'POST',
      '/runs/search',
      request,
    );
    return {
      runs: answer.runs ?? [],
      ...(answer.next_page_token ? { nextPageToken: answer.next_page_token } : {}),
    };
  }

  async createRegisteredModel(name: string, description?: string): Promise<MlflowRegisteredModel> {
    const { registered_model } = await this.call<{ registered_model: MlflowRegisteredModel }>(
      'POST',
      '/registered-models/create',
      { name, ...(description ? { description } : {}) },
    );
    return registered_model;
  }

  async getRegisteredModel(name: string): Promise<MlflowRegisteredModel | undefined> {
    try {
      const { registered_model } = await this.call<{ registered_model: MlflowRegisteredModel }>(
        'GET',
        '/registered-models/get',
        { name },
      );
      return registered_model;
    } catch (error) {
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  async createModelVersion(request: CreateModelVersionRequest): Promise<MlflowModelVersion> {
    const { model_version } = await this.call<{ model_version: MlflowModelVersion }>(
      'POST',
      '/model-versions/create',
      request,
    );
    return model_version;
  }

  async getModelVersion(name: string, version: string): Promise<MlflowModelVersion> {
    const { model_version } = await this.call<{ model_version: MlflowModelVersion }>(
      'GET',
      '/model-versions/get',
      { name, version },
    );
    return model_version;
  }

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', '/registered-models/alias', { name, alias, version });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion> {
    const { model_version } = await this.call<{ model_version: MlflowModelVersion }>(
      'GET',
      '/registered-models/alias',
      { name, alias },
    );
    return model_version;
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.call('DELETE', '/registered-models/alias', { name, alias });
  }

  private async call<T = Record<string, never>>(
    method: 'GET' | 'POST' | 'DELETE',
    endpoint: string,
    body: object,
  ): Promise<T> {
    let url = `${this.base}${endpoint}`;
    const init: RequestInit = {
      method,
      headers: {
        accept: 'application/json',
        ...(method === 'GET' ? {} : { 'content-type': 'application/json' }),
        ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      },
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    };
    if (method === 'GET') {
      const query = new URLSearchParams(
        Object.entries(body).map(([key, value]) => [key, String(value)] as [string, string]),
      );
      url += `?${query.toString()}`;
    } else {
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(url, init);
    } catch (error) {
      throw new StrataError(
        'unavailable',
        `MLflow at ${this.options.trackingUri} did not answer ${method} ${endpoint}: ${String(error)}`,
        undefined,
        { cause: error },
      );
    }
    const text = await response.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      if (response.ok) {
        throw new MlflowError(response.status, 'INVALID_RESPONSE', `MLflow ${endpoint} answered non-JSON`);
      }
    }
    if (!response.ok) {
      const { error_code = 'UNKNOWN', message = text.slice(0, 500) } = parsed as {
        error_code?: string;
        message?: string;
      };
      throw new MlflowError(
        response.status,
        error_code,
        `MLflow ${method} ${endpoint}: ${error_code}: ${message}`,
      );
    }
    return parsed as T;
  }
}

import { StrataError } from '@strata/contracts';
import { ModelError } from '../model-error';
import type { LoadedModel } from '../model-loader';
import type { ModelMetrics } from '../model-metrics';
import { transformers, type Tensor } from '../transformers';
import { AsyncChannel } from './async-channel';
import { BatchSoftmax } from './batch-softmax';
import type { GenerationStep, PreparedGeneration } from './generation-request';
import { BatchKvCache } from './kv-cache';
import { Sequence } from './sequence';

/** Limits of the continuous-batching engine (TGI's names in brackets). */
export interface EngineLimits {
  /** Sequences decoded together at most [max_batch_size]. */
  maxBatchSize: number;
  /** Requests waiting for a slot at most; more are refused with `overloaded` [max_concurrent_requests]. */
  maxQueuedRequests: number;
  /** Prompt plus new tokens of all running sequences at most [max_batch_total_tokens]. */
  maxBatchTotalTokens: number;
  /** How long a request may wait for a slot before it fails with `queue_timeout`. */
  queueTimeoutMs: number;
}

interface Waiting {
  sequence: Sequence;
  channel: AsyncChannel<GenerationStep>;
  deadline: number;
}

interface Running extends Waiting {
  /**
   * How many of this sequence's tokens the KV cache holds. Rows are right-aligned in the batch cache, so the
   * columns before them are left padding, masked out.
   */
  cached: number;
}

/** Where a row of the next batch cache comes from. */
interface RowSource {
  row: Running;
  cache: BatchKvCache;
  index: number;
}

/**
 * Continuous batching over a causal LM's ONNX decoder, as TGI and vLLM do on GPUs. Each loop iteration
 * (1) admits waiting requests while the batch has room and prefills them together, then (2) runs one decode step
 * for every running sequence in a single forward pass. Sequences join at the next step and leave as soon as they
 * finish or their client goes away. Each keeps its own KV cache rows, positions, attention mask and seeded
 * sampler, so its tokens do not depend on which other requests share the batch (up to floating-point effects of
 * batch shape, which `bench` measures).
 */
export class GenerationEngine {
  private waiting: Waiting[] = [];
  private running: Running[] = [];
  private cache: BatchKvCache;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly padTokenId: number;

  constructor(
    private readonly loaded: LoadedModel,
    readonly limits: EngineLimits,
    private readonly metrics?: ModelMetrics,
  ) {
    this.padTokenId = [...loaded.eosTokenIds][0] ?? 0;
    this.cache = BatchKvCache.empty(loaded.kvOutputs);
  }

  /** Requests waiting plus running: what an autoscaler should watch. */
  get inFlight(): number {
    return this.waiting.length + this.running.length;
  }

  /** Sequences in the running batch. */
  get batchSize(): number {
    return this.running.length;
  }

  /**
   * Queues a request and returns its steps as they are produced. Throws `overloaded` (with a retry hint) when
   * the queue is full, and `shutting_down` once `drain` was called.
   */
  submit(request: PreparedGeneration, signal?: AbortSignal): AsyncIterable<GenerationStep> {
    if (this.stopping) throw new StrataError('shutting_down', 'the server is shutting down');
    if (this.waiting.length >= this.limits.maxQueuedRequests) {
      this.metrics?.rejected.inc({ reason: 'queue_full' });
      throw new StrataError(
        'overloaded',
        `the generation queue is full (${this.limits.maxQueuedRequests} requests waiting); retry later`,
        undefined,
        { retryAfterSeconds: 1 },
      );
    }
    const budget = request.promptIds.length + request.maxNewTokens;
    if (budget > this.limits.maxBatchTotalTokens) {
      throw new ModelError(
        'validation_failed',
        `inputs: prompt (${request.promptIds.length} tokens) + max_new_tokens (${request.maxNewTokens}) exceeds ` +
          `the batch token budget of ${this.limits.maxBatchTotalTokens}`,
        'parameters.max_new_tokens',
      );
    }
    const channel = new AsyncChannel<GenerationStep>();
    const sequence = new Sequence(request, this.loaded, signal);
    this.waiting.push({ sequence, channel, deadline: sequence.enqueuedAt + this.limits.queueTimeoutMs });
    this.updateGauges();
    this.kick();
    return channel;
  }

  /** Refuses new requests and resolves once every accepted one has finished. */
  async drain(): Promise<void> {
    this.stopping = true;
    while (this.loop) await this.loop;
  }

  private kick(): void {
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
      if (this.inFlight > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    while (this.waiting.length > 0 || this.running.length > 0) {
      this.dropAbandoned();
      const admitted = this.admit();
      if (admitted.length > 0) await this.guard(admitted, () => this.prefill(admitted));
      if (this.running.length > 0) await this.guard(this.running, () => this.decode());
      this.updateGauges();
    }
  }

  /** Runs a forward pass; if it throws, fails the sequences involved and drops their cache rows. */
  private async guard(rows: readonly Waiting[], step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      const failure =
        error instanceof StrataError
          ? error
          : new ModelError(
              'generation_failed',
              `the model's forward pass failed: ${String(error)}`,
              undefined,
              {
                cause: error,
              },
            );
      const failed = new Set(rows);
      for (const row of rows) row.channel.fail(failure);
      this.keep(this.running.filter((row) => !failed.has(row)));
    }
  }

  /** Fails queued requests past their deadline and removes cancelled ones, wherever they are. */
  private dropAbandoned(): void {
    const now = performance.now();
    this.waiting = this.waiting.filter((entry) => {
      if (entry.sequence.signal?.aborted) {
        entry.channel.fail(entry.sequence.signal.reason);
        return false;
      }
      if (now <= entry.deadline) return true;
      this.metrics?.rejected.inc({ reason: 'queue_timeout' });
      entry.channel.fail(
        new StrataError(
          'queue_timeout',
          `the request waited ${this.limits.queueTimeoutMs} ms for a free slot; the server is overloaded`,
          undefined,
          { retryAfterSeconds: 1 },
        ),
      );
      return false;
    });
    const cancelled = this.running.filter((row) => row.sequence.signal?.aborted);
    if (cancelled.length === 0) return;
    for (const row of cancelled) row.channel.fail(row.sequence.signal!.reason);
    this.keep(this.running.filter((row) => !cancelled.includes(row)));
  }

  /** Takes waiting requests, oldest first, while the batch has a slot and the token budget allows. */
  private admit(): Waiting[] {
    let budget = this.running.reduce((sum, row) => sum + row.sequence.tokenBudget, 0);
    const admitted: Waiting[] = [];
    while (this.waiting.length > 0 && this.running.length + admitted.length < this.limits.maxBatchSize) {
      const next = this.waiting[0]!;
      if (budget + next.sequence.tokenBudget > this.limits.maxBatchTotalTokens) break;
      budget += next.sequence.tokenBudget;
      admitted.push(this.waiting.shift()!);
      this.metrics?.queueSeconds.observe((performance.now() - next.sequence.enqueuedAt) / 1000);
    }
    return admitted;
  }

  /** Runs the prompts of newly admitted requests as one left-padded batch, then merges them into the batch. */
  private async prefill(admitted: Waiting[]): Promise<void> {
    const length = Math.max(...admitted.map((entry) => entry.sequence.request.promptIds.length));
    const ids = new BigInt64Array(admitted.length * length).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(admitted.length * length);
    const positions = new BigInt64Array(admitted.length * length);
    admitted.forEach(({ sequence }, row) => {
      const prompt = sequence.request.promptIds;
      const pad = length - prompt.length;
      prompt.forEach((id, i) => {
        ids[row * length + pad + i] = BigInt(id);
        mask[row * length + pad + i] = 1n;
        positions[row * length + pad + i] = BigInt(i);
      });
      this.metrics?.promptTokens.inc({ model: this.loaded.id }, prompt.length);
    });
    const empty = BatchKvCache.empty(this.loaded.kvOutputs);
    const outputs = await this.forward('prefill', admitted.length, length, ids, mask, positions, empty);
    const logits = outputs['logits']!;
    // Every position's logits from a standard decoder, the last one's from a KV-delta decoder.
    const [, logitPositions = length, vocab = 0] = logits.dims;
    const data = logits.data as Float32Array;
    const prefilled = BatchKvCache.fromPrefill(this.loaded.kvOutputs, outputs, length);
    const rows = admitted.map((_, index) => {
      const start = (index * logitPositions + logitPositions - 1) * vocab;
      return data.subarray(start, start + vocab);
    });
    const distributions = await this.distributions(admitted, rows);
    const joining: RowSource[] = [];
    admitted.forEach((entry, index) => {
      if (!this.emit(entry, rows[index]!, distributions[index])) return;
      joining.push({
        row: { ...entry, cached: entry.sequence.request.promptIds.length },
        cache: prefilled,
        index,
      });
    });
    const joined = this.cache.joined(
      joining.map(({ row, cache, index }) => ({ cache, row: index, tokens: row.cached })),
    );
    if (joined) {
      this.cache = joined;
      this.running = [...this.running, ...joining.map(({ row }) => row)];
    } else {
      this.rebuild([...this.running.map((row, index) => ({ row, cache: this.cache, index })), ...joining]);
    }
  }

  /** One decode step for every running sequence, in a single forward pass. */
  private async decode(): Promise<void> {
    const batch = this.running;
    const { length, capacity } = this.cache;
    // The mask covers the past's columns (used, then spare) and the new token's.
    const width = capacity + 1;
    const ids = BigInt64Array.from(batch, (row) => BigInt(row.sequence.lastToken));
    const positions = BigInt64Array.from(batch, (row) => BigInt(row.sequence.nextPosition));
    const mask = new BigInt64Array(batch.length * width);
    batch.forEach((row, r) => {
      mask.fill(1n, r * width + length - row.cached, r * width + length);
      mask[r * width + capacity] = 1n;
    });
    const outputs = await this.forward('decode', batch.length, 1, ids, mask, positions, this.cache);
    const logits = outputs['logits']!;
    const vocab = logits.dims[2]!;
    const data = logits.data as Float32Array;
    this.cache = this.cache.append(outputs);
    for (const row of batch) row.cached += 1;
    const rows = batch.map((_, r) => data.subarray(r * vocab, (r + 1) * vocab));
    const distributions = await this.distributions(batch, rows);
    const still = batch.filter((row, r) => this.emit(row, rows[r]!, distributions[r]));
    if (still.length !== batch.length) this.keep(still);
  }

  /**
   * The whole-vocabulary distributions that the entries' next choices need (sampling without top-k, or a
   * greedy choice that reports its logprob), computed in one onnxruntime run for all of them; undefined for
   * an entry that needs none. Rows already laid out back to back without a penalty are passed as they are.
   */
  private async distributions(
    entries: readonly Waiting[],
    rows: readonly Float32Array[],
  ): Promise<(Float32Array | undefined)[]> {
    const vocabulary = rows[0]?.length ?? 0;
    const wanted = entries.flatMap((entry, i) => (entry.sequence.wantsDistribution(vocabulary) ? [i] : []));
    if (wanted.length === 0) return [];
    const softmax = await BatchSoftmax.shared();
    const temperatures = Float32Array.from(wanted, (i) => entries[i]!.sequence.temperature);
    const first = rows[wanted[0]!]!;
    const inPlace = wanted.every(
      (i, n) =>
        !entries[i]!.sequence.penalised &&
        rows[i]!.buffer === first.buffer &&
        rows[i]!.byteOffset === first.byteOffset + n * vocabulary * Float32Array.BYTES_PER_ELEMENT,
    );
    let input: Float32Array;
    if (inPlace) {
      input = new Float32Array(first.buffer, first.byteOffset, wanted.length * vocabulary);
    } else {
      input = new Float32Array(wanted.length * vocabulary);
      wanted.forEach((i, n) => {
        const row = input.subarray(n * vocabulary, (n + 1) * vocabulary);
        row.set(rows[i]!);
        entries[i]!.sequence.penalise(row);
      });
    }
    const probabilities = await softmax.run(input, temperatures, vocabulary);
    const result: (Float32Array | undefined)[] = [];
    wanted.forEach((i, n) => (result[i] = probabilities.subarray(n * vocabulary, (n + 1) * vocabulary)));
    return result;
  }

  /** Hands a row of logits to its sequence and publishes the step. Returns whether the sequence goes on. */
  private emit(entry: Waiting, logits: Float32Array, distribution: Float32Array | undefined): boolean {
    const { sequence, channel } = entry;
    const now = performance.now();
    const step = sequence.advance(logits, distribution);
    const model = { model: this.loaded.id };
    if (sequence.generatedCount === 1)
      this.metrics?.timeToFirstToken.observe(model, (now - sequence.enqueuedAt) / 1000);
    else this.metrics?.interTokenLatency.observe(model, (now - sequence.lastTokenAt) / 1000);
    sequence.lastTokenAt = now;
    this.metrics?.generatedTokens.inc(model);
    channel.push(step);
    if (!step.final) return true;
    this.metrics?.requestSeconds.observe(model, (now - sequence.enqueuedAt) / 1000);
    channel.close();
    return false;
  }

  /** Keeps these rows of the running batch (others finished, failed or were cancelled), in their order. */
  private keep(rows: readonly Running[]): void {
    this.cache = this.cache.select(rows.map((row) => this.running.indexOf(row)));
    this.running = [...rows];
  }

  /**
   * Makes the running batch out of these rows: their cache rows are copied into one cache, right-aligned and
   * only as long as the longest row, so padding that every row had is dropped.
   */
  private rebuild(sources: readonly RowSource[]): void {
    this.cache = BatchKvCache.assemble(
      this.loaded.kvOutputs,
      sources.map(({ row, cache, index }) => ({ cache, row: index, tokens: row.cached })),
    );
    this.running = sources.map(({ row }) => row);
  }

  private async forward(
    phase: 'prefill' | 'decode',
    batch: number,
    width: number,
    ids: BigInt64Array,
    mask: BigInt64Array,
    positions: BigInt64Array,
    cache: BatchKvCache,
  ): Promise<Record<string, Tensor>> {
    const stop = this.metrics?.forwardSeconds.startTimer({ phase });
    const outputs = (await this.loaded.model.forward({
      input_ids: new transformers.Tensor('int64', ids, [batch, width]),
      attention_mask: new transformers.Tensor('int64', mask, [batch, mask.length / batch]),
      position_ids: new transformers.Tensor('int64', positions, [batch, width]),
      ...(cache.isEmpty ? {} : { past_key_values: cache.tensors }),
    })) as Record<string, Tensor>;
    stop?.();
    return outputs;
  }

  private updateGauges(): void {
    this.metrics?.queueSize.set(this.waiting.length);
    this.metrics?.batchSize.set(this.running.length);
    this.metrics?.inFlight.set(this.inFlight);
  }
}

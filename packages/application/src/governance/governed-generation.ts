import { randomUUID } from 'node:crypto';
import type { GenerateParameters, GeneratedToken } from '@strata/contracts';
import { StrataError } from '@strata/contracts';
import { StreamingOutputGuard, type Caller, type GovernanceService } from '@strata/governance';
import type { GenerationStep, ModelHost, PreparedGeneration, TextGenerator } from '@strata/model';

/** The response header that names a generation, on every generation route. */
export const GENERATION_ID_HEADER = 'x-strata-generation-id';

export interface GovernedRequest {
  /** The route, recorded as the audit action's context (`/generate`, `/v1/chat/completions`, …). */
  route: string;
  prompt: string;
  parameters: Partial<GenerateParameters>;
  /** The data subject the prompt is about (an end user), for GDPR erasure; defaults to the key. */
  subjectId?: string | undefined;
  signal?: AbortSignal;
  /** Called with the prepared request, before generation starts (endpoints map limit errors here). */
  prepare?: (prepare: () => PreparedGeneration) => PreparedGeneration;
}

export interface GovernedGeneration {
  /**
   * The generation's id: sent to the client (the `x-strata-generation-id` header, OpenAI's `id`), kept in its
   * audit record, and the key `POST /feedback` takes.
   */
  generationId: string;
  generator: TextGenerator;
  prepared: PreparedGeneration;
  /** Steps whose text went through the output guardrails. Ends with the audit record written. */
  steps: AsyncIterable<GenerationStep>;
}

/**
 * Runs one generation under governance, in the order an auditor expects: policy decision (model allowlist,
 * max_new_tokens cap), rate limits, input guardrails, generation, output guardrails (streamed text is released
 * only once checked), then the audit record (redacted prompt and answer, parameters, guardrail actions,
 * latency, tokens) and the token charge. Every path, failures and cancellations included, is audited.
 */
export async function governedGeneration(
  governance: GovernanceService,
  host: ModelHost,
  caller: Caller,
  request: GovernedRequest,
): Promise<GovernedGeneration> {
  const generationId = randomUUID();
  let generator = host.generator();
  const maxNewTokens = request.parameters.max_new_tokens ?? generator.config.MAX_NEW_TOKENS;
  await governance.authorize(caller, 'generate', { model: generator.loaded.id, maxNewTokens });
  await governance.admit(caller, request.route);
  const input = await governance.guardInput(caller, request.prompt, request.route, generator.loaded.id);
  // A hot swap may have replaced the model during the checks above: take the one serving now, and prepare and
  // submit with no await in between, so the request joins a generator that is still accepting.
  generator = host.generator();
  const model = generator.loaded.id;
  const prepare = () => generator.prepare(input.text, request.parameters);
  const prepared = request.prepare ? request.prepare(prepare) : prepare();
  const started = performance.now();
  const upstream = generator.stream(prepared, request.signal);

  async function* steps(): AsyncGenerator<GenerationStep> {
    const guard = new StreamingOutputGuard(caller.guardrails);
    let text = '';
    const logprobs: number[] = [];
    let generated = 0;
    let outcome = 'failed';
    let finishReason: string | undefined;
    let failure: string | undefined;
    // Steps wait here until the guard has released all of their text, then leave in order, each carrying its
    // own token's text (what the guard released for it, when masking changed nothing).
    const held: Array<{ step: GenerationStep; end: number }> = [];
    let raw = '';
    let unassigned = '';
    const releasedSteps = (all: boolean): GenerationStep[] => {
      let n = 0;
      while (n < held.length && (all || held[n]!.end <= guard.releasedLength)) n++;
      if (n === 0) return [];
      const batch = held.splice(0, n);
      // The released text may reach into the next token (the space before the word being written): that part
      // stays for the next step, unless the guardrails changed it.
      let own = unassigned;
      const beyond = all ? '' : raw.slice(batch.at(-1)!.end, guard.releasedLength);
      if (unassigned.endsWith(beyond)) own = unassigned.slice(0, unassigned.length - beyond.length);
      unassigned = unassigned.slice(own.length);
      return withOwnTexts(
        batch.map(({ step }) => step),
        own,
      );
    };
    try {
      for await (const step of upstream) {
        generated += 1;
        logprobs.push(step.token.logprob);
        let delta = guard.push(step.textDelta);
        if (step.final) delta += guard.finish();
        text += delta;
        unassigned += delta;
        raw += step.textDelta;
        held.push({ step, end: raw.length });
        const ready = releasedSteps(step.final !== undefined);
        if (!step.final) {
          yield* ready;
          continue;
        }
        const last = ready.pop()!;
        yield* ready;
        const lastDelta = last.textDelta + unassigned;
        finishReason = step.finishReason;
        outcome = 'allowed';
        const masked = guard.actions.some((action) => action.mode === 'mask');
        const generatedText = prepared.returnFullText ? prepared.prompt + text : text;
        const details = step.final.details && {
          ...step.final.details,
          // Token texts would reveal what the output guardrails masked in the text.
          tokens: masked ? step.final.details.tokens.map(blankText) : step.final.details.tokens,
        };
        yield {
          ...step,
          textDelta: lastDelta,
          final: { generated_text: generatedText, ...(details ? { details } : {}) },
        };
      }
    } catch (error) {
      outcome = error instanceof StrataError && error.code === 'cancelled' ? 'cancelled' : 'failed';
      if (error instanceof StrataError && error.code === 'guardrail_blocked') outcome = 'blocked';
      failure = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      governance.metrics.outputGuard(guard);
      const promptTokens = prepared.promptIds.length;
      await governance.record({
        recordClass: 'generation',
        action: 'generate',
        outcome,
        keyId: caller.principal.keyId,
        tenant: caller.principal.tenant,
        model,
        subjectId: request.subjectId ?? null,
        details: {
          generation_id: generationId,
          route: request.route,
          model_revision: generator.loaded.revision,
          parameters: request.parameters,
          seed: prepared.seed ?? null,
          decision: 'allowed',
          guardrails: { input: input.actions, output: guard.actions },
          latency_ms: Math.round(performance.now() - started),
          prompt_tokens: promptTokens,
          completion_tokens: generated,
          finish_reason: finishReason ?? null,
          ...(failure ? { error: failure } : {}),
        },
        personal: { input: governance.redactForAudit(input.text), output: governance.redactForAudit(text) },
      });
      await governance.limiter.charge(caller.principal, promptTokens + generated);
      if (outcome === 'allowed') {
        host.reportGeneration({
          model,
          promptIds: prepared.promptIds,
          promptText: input.text,
          outputText: text,
          outputLogprobs: logprobs,
          flagged: input.actions.length > 0 || guard.actions.length > 0,
        });
      }
    }
  }

  return { generationId, generator, prepared, steps: steps() };
}

/**
 * Gives each step the part of the released `text` that is its own: steps at either end whose text the
 * guardrails left unchanged keep it, and the first of the steps between carries what the guardrails made of
 * theirs (a mask over a name written in several tokens), the others nothing.
 */
function withOwnTexts(steps: readonly GenerationStep[], text: string): GenerationStep[] {
  const texts = steps.map((step) => step.textDelta);
  let from = 0;
  let start = 0;
  while (from < texts.length && text.startsWith(texts[from]!, start)) start += texts[from++]!.length;
  let to = texts.length;
  let end = text.length;
  while (to > from && end - texts[to - 1]!.length >= start && text.endsWith(texts[to - 1]!, end)) {
    end -= texts[--to]!.length;
  }
  if (from === to && start < end) {
    // Every step matched, with text left over between them: a neighbouring step carries it.
    if (to < texts.length) end += texts[to++]!.length;
    else start -= texts[--from]!.length;
  }
  return steps.map((step, i) => ({
    ...step,
    textDelta: i < from || i >= to ? texts[i]! : i === from ? text.slice(start, end) : '',
  }));
}

const blankText = (token: GeneratedToken): GeneratedToken => ({ ...token, text: '' });

/** The data subject a request names: `x-strata-subject`, or OpenAI's `user` field. */
export function subjectOf(
  headers: Record<string, string | string[] | undefined>,
  user?: string,
): string | undefined {
  const header = headers['x-strata-subject'];
  const value = (Array.isArray(header) ? header[0] : header) ?? user;
  return value?.trim() || undefined;
}

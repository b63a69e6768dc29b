import {
  DEFAULT_GUARDRAIL_POLICY,
  compileGuardrailPolicy,
  parseGuardrailPolicy,
  type Caller,
  type GovernanceService,
} from '@strata/governance';
import type { GenerationStep, ModelHost } from '@strata/model';
import { governedGeneration } from './governed-generation';

/*
 * The order in which engine tokens come in and governed steps go out, with the default guardrail policy. The
 * engine is a generator that logs each token as it produces it; it produces the next one only when the governed
 * stream asks for it, so the log shows exactly how many tokens each step waited for.
 */

const guardrails = compileGuardrailPolicy(parseGuardrailPolicy(DEFAULT_GUARDRAIL_POLICY));
const caller = { principal: { keyId: 'key-1', tenant: 't' }, guardrails } as unknown as Caller;

/** The governance calls a generation makes, with the real guardrails; records are kept for inspection. */
function governance(records: unknown[]): GovernanceService {
  return {
    authorize: async () => {},
    admit: async () => {},
    guardInput: async (_caller: Caller, text: string) => guardrails.apply(text, 'input'),
    metrics: { outputGuard: () => {} },
    record: async (entry: unknown) => records.push(entry),
    limiter: { charge: async () => {} },
    redactForAudit: (text: string) => text,
  } as unknown as GovernanceService;
}

function host(tokens: string[], log: string[]): ModelHost {
  const generator = {
    config: { MAX_NEW_TOKENS: 16 },
    loaded: { id: 'model', revision: 'main' },
    prepare: (prompt: string) => ({ prompt, promptIds: [1, 2, 3], returnFullText: false }),
    async *stream(): AsyncGenerator<GenerationStep> {
      for (const [i, text] of tokens.entries()) {
        log.push(`engine ${JSON.stringify(text)}`);
        const last = i === tokens.length - 1;
        yield {
          token: { id: i, text, logprob: -1, special: false },
          textDelta: text,
          ...(last
            ? {
                finishReason: 'length' as const,
                final: { generated_text: tokens.join(''), details: undefined as never },
              }
            : {}),
        };
      }
    },
  };
  return { generator: () => generator, reportGeneration: () => {} } as unknown as ModelHost;
}

async function stepTexts(tokens: string[], log: string[] = []): Promise<string[]> {
  const { steps } = await governedGeneration(governance([]), host(tokens, log), caller, {
    route: '/v1/chat/completions',
    prompt: 'write something',
    parameters: {},
  });
  const texts: string[] = [];
  for await (const step of steps) {
    log.push(`client ${JSON.stringify(step.textDelta)}`);
    texts.push(step.textDelta);
  }
  return texts;
}

async function run(tokens: string[]): Promise<string[]> {
  const log: string[] = [];
  await stepTexts(tokens, log);
  return log;
}

describe('governedGeneration: streamed steps under the default output guardrails', () => {
  it('lets each lower-case token out as soon as the next one starts: the first after the second token', async () => {
    expect(await run([' the', ' cat', ' sat', ' down'])).toEqual([
      'engine " the"',
      'engine " cat"',
      'client " the"',
      'engine " sat"',
      'client " cat"',
      'engine " down"',
      'client " sat"',
      'client " down"',
    ]);
  });

  it('holds a name pair until the word after it shows it has ended, then lets it out masked', async () => {
    expect(await run(['hi', ' Anna', ' Schmidt', ' said', ' so', ' again'])).toEqual([
      'engine "hi"',
      'engine " Anna"',
      'client "hi"',
      'engine " Schmidt"',
      'engine " said"',
      // The masked text goes out with the first of the name's tokens; the others carry nothing of it.
      'client " <PERSON>"',
      'client ""',
      'engine " so"',
      'client " said"',
      'engine " again"',
      'client " so"',
      'client " again"',
    ]);
  });

  it('lets capitalised words that cannot begin a name out at once', async () => {
    expect(await run([' The', ' Thousands', ' Thousands', ' fell'])).toEqual([
      'engine " The"',
      'engine " Thousands"',
      'client " The"',
      'engine " Thousands"',
      'client " Thousands"',
      'engine " fell"',
      'client " Thousands"',
      'client " fell"',
    ]);
  });

  it('gives every token one step, with its own text where the guardrails changed nothing', async () => {
    const vocabulary = [
      ' the',
      ' cat',
      ' Anna',
      ' Schmidt',
      ' Thousands',
      ' Dr',
      '.',
      ' 4111',
      ' 1111',
      ' x',
      ',',
      "'s",
    ];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let run = 0; run < 100; run++) {
      const tokens = Array.from({ length: 2 + Math.floor(random() * 10) }, () => {
        return vocabulary[Math.floor(random() * vocabulary.length)]!;
      });
      const texts = await stepTexts(tokens);
      const guarded = guardrails.apply(tokens.join(''), 'output').text;
      expect({ tokens, text: texts.join('') }).toEqual({ tokens, text: guarded });
      expect(texts).toHaveLength(tokens.length);
      if (guarded === tokens.join('')) expect(texts).toEqual(tokens);
    }
  });
});

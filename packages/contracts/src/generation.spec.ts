import { GenerateRequestSchema, MAX_STOP_SEQUENCES } from './generation';

const parse = (body: unknown) => GenerateRequestSchema.safeParse(body);
const firstIssue = (body: unknown) => {
  const result = parse(body);
  if (result.success) throw new Error(`expected ${JSON.stringify(body)} to be rejected`);
  const issue = result.error.issues[0]!;
  return { path: issue.path.join('.'), message: issue.message, code: issue.code };
};

describe('GenerateRequestSchema (TGI /generate)', () => {
  it('accepts a bare prompt and a full parameter set', () => {
    expect(parse({ inputs: 'Hello' }).success).toBe(true);
    const result = parse({
      inputs: 'Hello',
      parameters: {
        do_sample: true,
        temperature: 0.7,
        top_k: 50,
        top_p: 0.9,
        typical_p: 0.95,
        repetition_penalty: 1.2,
        max_new_tokens: 20,
        stop: ['\n'],
        seed: 7,
        details: true,
        return_full_text: false,
        truncate: 100,
      },
    });
    expect(result.success).toBe(true);
  });

  it('treats null parameters as unset, as TGI clients send them', () => {
    const result = parse({ inputs: 'Hi', parameters: { temperature: null, seed: null, best_of: null } });
    expect(result.success && result.data.parameters).toEqual(
      expect.objectContaining({ temperature: undefined, seed: undefined }),
    );
  });

  it.each([
    [{}, 'inputs'],
    [{ inputs: '' }, 'inputs'],
    [{ inputs: '   \n\t' }, 'inputs'],
    [{ inputs: 42 }, 'inputs'],
    [{ inputs: ['a'] }, 'inputs'],
    [{ inputs: 'a\u0000b' }, 'inputs'],
    [{ inputs: 'a\uD800b' }, 'inputs'],
    [{ inputs: 'x', parameters: { max_new_tokens: 0 } }, 'parameters.max_new_tokens'],
    [{ inputs: 'x', parameters: { max_new_tokens: -5 } }, 'parameters.max_new_tokens'],
    [{ inputs: 'x', parameters: { max_new_tokens: 2.5 } }, 'parameters.max_new_tokens'],
    [{ inputs: 'x', parameters: { max_new_tokens: '10' } }, 'parameters.max_new_tokens'],
    [{ inputs: 'x', parameters: { temperature: 0 } }, 'parameters.temperature'],
    [{ inputs: 'x', parameters: { temperature: -1, do_sample: true } }, 'parameters.temperature'],
    [{ inputs: 'x', parameters: { top_p: 0 } }, 'parameters.top_p'],
    [{ inputs: 'x', parameters: { top_p: 1.5 } }, 'parameters.top_p'],
    [{ inputs: 'x', parameters: { top_k: 0 } }, 'parameters.top_k'],
    [{ inputs: 'x', parameters: { do_sample: 'yes' } }, 'parameters.do_sample'],
    [{ inputs: 'x', parameters: { seed: -1 } }, 'parameters.seed'],
    [{ inputs: 'x', parameters: { stop: Array(MAX_STOP_SEQUENCES + 1).fill('.') } }, 'parameters.stop'],
    [{ inputs: 'x', parameters: { best_of: 2 } }, 'parameters.best_of'],
    [{ inputs: 'x', parameters: { grammar: { type: 'json' } } }, 'parameters.grammar'],
    [{ inputs: 'x', parameters: 'fast' }, 'parameters'],
  ])('rejects %j at %s', (body, path) => {
    expect(firstIssue(body).path).toBe(path);
  });

  it('rejects unknown fields by name instead of ignoring them', () => {
    const issue = firstIssue({ inputs: 'x', parameters: { temprature: 0.5 } });
    expect(issue.code).toBe('unrecognized_keys');
    expect(issue.message).toContain('temprature');
  });

  it('accepts right-to-left text and emoji', () => {
    expect(parse({ inputs: 'مرحبا بالعالم 👋🏽 שלום' }).success).toBe(true);
  });
});

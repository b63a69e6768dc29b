import { describe, expect, it } from '@jest/globals';
import { StrataError } from '@strata/contracts';
import { GuardrailError } from './guardrail-error';
import { parseGuardrailPolicy } from './guardrail-policy';

function parseError(input: unknown): GuardrailError {
  try {
    parseGuardrailPolicy(input);
  } catch (error) {
    if (error instanceof GuardrailError) return error;
    throw error;
  }
  throw new Error('expected the policy to be rejected');
}

describe('parseGuardrailPolicy', () => {
  it('accepts the empty policy', () => {
    expect(parseGuardrailPolicy({})).toEqual({ version: 1 });
  });

  it('fills in defaults', () => {
    const policy = parseGuardrailPolicy({
      pii: { rules: [{ entity_types: ['EMAIL_ADDRESS'], mode: 'mask' }] },
      blocklist: { terms: ['falcon'] },
      prompt_injection: {},
      length: { input: { max_chars: 100 } },
    });
    expect(policy).toEqual({
      version: 1,
      pii: {
        rules: [{ entity_types: ['EMAIL_ADDRESS'], mode: 'mask', phases: ['input', 'output'] }],
        person_names: [],
        default_person_names: true,
        score_threshold: 0.5,
      },
      blocklist: { terms: ['falcon'], patterns: [], mode: 'block', phases: ['input', 'output'] },
      prompt_injection: { mode: 'block', threshold: 0.5, phases: ['input'] },
      length: { input: { max_chars: 100, mode: 'block' } },
    });
  });

  it('survives a JSON round trip unchanged', () => {
    const policy = parseGuardrailPolicy({
      pii: {
        rules: [{ entity_types: ['US_SSN'], mode: 'block', phases: ['input'] }],
        phone_regions: ['DE', 'FR'],
      },
    });
    expect(parseGuardrailPolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
  });

  it('names the bad field in a validation_failed error', () => {
    const error = parseError({ pii: { rules: [{ entity_types: ['SSN'], mode: 'mask' }] } });
    expect(error).toBeInstanceOf(StrataError);
    expect(error.code).toBe('validation_failed');
    expect(error.field).toBe('pii.rules.0.entity_types.0');
    expect(error.message).toMatch(/^guardrail policy field pii\.rules\.0\.entity_types\.0: /);
  });

  it.each([
    [{ unknown: true }, ''],
    [{ version: 2 }, 'version'],
    [{ pii: { rules: [{ entity_types: ['US_SSN'], mode: 'redact' }] } }, 'pii.rules.0.mode'],
    [{ pii: { rules: [{ entity_types: [], mode: 'mask' }] } }, 'pii.rules.0.entity_types'],
    [{ pii: { rules: [{ entity_types: ['US_SSN'], mode: 'mask', phases: [] }] } }, 'pii.rules.0.phases'],
    [
      { pii: { rules: [{ entity_types: ['US_SSN'], mode: 'mask', phases: ['input', 'input'] }] } },
      'pii.rules.0.phases',
    ],
    [{ pii: { rules: [], phone_regions: ['XX'] } }, 'pii.phone_regions.0'],
    [{ pii: { rules: [], phone_regions: ['de'] } }, 'pii.phone_regions.0'],
    [{ pii: { rules: [], score_threshold: 1.5 } }, 'pii.score_threshold'],
    [{ blocklist: { patterns: ['('] } }, 'blocklist.patterns.0'],
    [{ blocklist: { patterns: ['x*'] } }, 'blocklist.patterns.0'],
    [{ prompt_injection: { threshold: 0 } }, 'prompt_injection.threshold'],
    [{ length: { input: { max_chars: 0 } } }, 'length.input.max_chars'],
    [{ length: { output: { max_chars: 1.5 } } }, 'length.output.max_chars'],
  ])('rejects %j at %j', (input, field) => {
    const error = parseError(input);
    expect(error.field ?? '').toBe(field);
  });

  it('rejects an entity type with two rules in one phase, but allows different phases', () => {
    const error = parseError({
      pii: {
        rules: [
          { entity_types: ['EMAIL_ADDRESS'], mode: 'mask' },
          { entity_types: ['EMAIL_ADDRESS'], mode: 'block', phases: ['input'] },
        ],
      },
    });
    expect(error.field).toBe('pii.rules.1.entity_types');
    expect(error.message).toMatch(/EMAIL_ADDRESS already has a rule for the input phase/);
    expect(() =>
      parseGuardrailPolicy({
        pii: {
          rules: [
            { entity_types: ['EMAIL_ADDRESS'], mode: 'block', phases: ['input'] },
            { entity_types: ['EMAIL_ADDRESS'], mode: 'mask', phases: ['output'] },
          ],
        },
      }),
    ).not.toThrow();
  });
});

import { findWireTextViolation, MAX_IDENTIFIER_LENGTH, wireTextProblem } from './text';

describe('the wire text rule', () => {
  it('refuses NUL, lone surrogates and over-long text, and accepts the rest of Unicode', () => {
    expect(wireTextProblem('a\u0000b', 10)).toBe('must not contain NUL characters');
    expect(wireTextProblem('a\uD800', 10)).toBe('must be valid Unicode (it contains a lone surrogate)');
    expect(wireTextProblem('abcdef', 5)).toBe('must be at most 5 characters long');
    expect(wireTextProblem('José 😀 \u00a0', 10)).toBeUndefined();
  });

  it('finds the first violation in nested values and names where it is', () => {
    const body = {
      model: 'm',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'user', content: 'x\u0000' },
      ],
    };
    expect(findWireTextViolation(body, '', 1000)).toEqual({
      where: 'messages.1.content',
      problem: 'must not contain NUL characters',
    });
    expect(findWireTextViolation({ ok: ['fine', 3, null, true] }, '', 1000)).toBeUndefined();
  });

  it('checks field names without echoing them, against the identifier bound', () => {
    expect(findWireTextViolation({ 'bad\u0000key': 1 }, 'body', 1000)).toEqual({
      where: 'body',
      problem: 'a field name must not contain NUL characters',
    });
    expect(findWireTextViolation({ ['k'.repeat(MAX_IDENTIFIER_LENGTH + 1)]: 1 }, '', 1000)?.problem).toBe(
      `a field name must be at most ${MAX_IDENTIFIER_LENGTH} characters long`,
    );
  });
});

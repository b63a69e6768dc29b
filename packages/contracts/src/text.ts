/** Text checks shared by every entry point that accepts a prompt. */

/** Describes why `text` cannot be a prompt, or returns undefined when it can. */
export function promptProblem(text: string): string | undefined {
  if (text.trim().length === 0) return 'must not be empty or whitespace only';
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  // A UTF-16 surrogate half without its partner is not valid Unicode.
  if (!text.isWellFormed()) return 'must be valid Unicode (it contains a lone surrogate)';
  return undefined;
}

/** Longest identifier-like string accepted anywhere on the wire: path and query parameters, names, headers. */
export const MAX_IDENTIFIER_LENGTH = 256;

/**
 * The one rule for every string that crosses the API boundary, whatever its field: no NUL (PostgreSQL cannot store
 * it in text), no lone surrogate (not Unicode; it cannot be encoded as UTF-8), and at most `maxLength` UTF-16 code
 * units. Returns why `text` breaks the rule, or undefined.
 */
export function wireTextProblem(text: string, maxLength: number): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  if (!text.isWellFormed()) return 'must be valid Unicode (it contains a lone surrogate)';
  if (text.length > maxLength) return `must be at most ${maxLength} characters long`;
  return undefined;
}

/** Where a value breaks the wire text rule: a dotted path (`messages.0.content`) and the reason. */
export interface WireTextViolation {
  where: string;
  problem: string;
}

/**
 * Walks a parsed JSON value (object keys included) and returns the first string that breaks the wire text rule.
 * Keys are identifiers (`MAX_IDENTIFIER_LENGTH`); string values may be as long as `maxValueLength`.
 */
export function findWireTextViolation(
  value: unknown,
  where: string,
  maxValueLength: number,
): WireTextViolation | undefined {
  if (typeof value === 'string') {
    const problem = wireTextProblem(value, maxValueLength);
    return problem ? { where, problem } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [key, child] of entries) {
    const keyProblem = wireTextProblem(key, MAX_IDENTIFIER_LENGTH);
    // The bad name itself is not echoed back: it is what cannot be shown.
    if (keyProblem) return { where: where || 'body', problem: `a field name ${keyProblem}` };
    const path = where ? `${where}.${key}` : key;
    const found = findWireTextViolation(child, path, maxValueLength);
    if (found) return found;
  }
  return undefined;
}

/** Text checks shared by every entry point that accepts a prompt. */

/** Describes why `text` cannot be a prompt, or returns undefined when it can. */
export function promptProblem(text: string): string | undefined {
  if (text.trim().length === 0) return 'must not be empty or whitespace only';
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  // A UTF-16 surrogate half without its partner is not valid Unicode.
  if (!text.isWellFormed()) return 'must be valid Unicode (it contains a lone surrogate)';
  return undefined;
}

import type { CompiledGuardrails, GuardrailAction, GuardrailBlock } from './guardrails';
import { GovernanceError } from './governance-error';

/**
 * Released text given to the recognizers as context before the text being decided: phone numbers look for
 * context words up to 40 characters (four words) before a number.
 */
const CONTEXT_CHARS = 48;
/** Words held back for blocklist patterns, which may span words in ways a term list does not reveal. */
const PATTERN_WORDS = 4;
/** Tokens made only of these characters can sit inside a phone number: `+1 (555) 123-4567`. */
const SEPARATORS_ONLY = /^[-+().,/:]+$/;
const HAS_DIGIT = /\p{N}/u;
const HAS_UPPER = /\p{Lu}/u;
/** Characters no recognizer's finding contains (names, numbers, addresses and IP addresses do not). */
const NEVER_IN_ENTITY = /^[,;!?"*=<>[\]{}|\\^`~$&#]$/u;
const STARTS_UPPER_LETTER = /^\p{Lu}/u;

/**
 * Output guardrails over a token stream. Text is released as soon as it is final: only a tail that could
 * still become or complete an entity is held back, namely
 * - the word being written (an email address, URL or number in progress is one word),
 * - before it, the words that could belong to a multi-word entity still in progress: a number written in groups
 *   (card, phone, IBAN and ID numbers) from its first group on, with separators such as `(` before it; and a
 *   run of capitalised words (a name) while the word after it could still continue it, from the first word
 *   that could begin a name by the PERSON recognizer's tables (a title or a given name). A capitalised word
 *   followed by a lower-case word, or one that cannot begin a name, is final,
 * - the last words when they begin a multi-word blocklist term (`Project` for `Project Falcon`) or a listed
 *   person name (`anna` for `Anna Schmidt`: lists match in any case), and the last four words when the
 *   blocklist has patterns, which may span words in ways a term list does not reveal.
 *
 * Before text is released, the guardrails run over it with some released text before it as context, and over
 * it together with the held tail. It is released only when both agree on it (no finding straddles the cut);
 * otherwise it waits for more text. Whatever is still held when the stream ends is guarded and released then.
 */
export class StreamingOutputGuard {
  private raw = '';
  private released = 0;
  private readonly fired: GuardrailAction[] = [];
  private blockedBy: GuardrailBlock | undefined;
  /** The first words (one or more, lower case, space-joined) of every multi-word blocklist term or listed name. */
  private readonly termStarts = new Set<string>();
  private readonly termWords: number;
  private readonly patternWords: number;
  /** A policy without output rules changes no text: everything leaves as it comes. */
  private readonly passThrough: boolean;
  /**
   * Whether punctuation that no recognizer includes is final even at the start of the word being written:
   * not when blocklist terms or patterns, injection phrases or listed names (which may hold any character)
   * are matched in the output.
   */
  private readonly punctuationFinal: boolean;

  constructor(private readonly guardrails: CompiledGuardrails) {
    this.passThrough = !guardrails.hasRules('output');
    const { blocklist: listed, prompt_injection: injection, pii } = guardrails.policy;
    this.punctuationFinal =
      !(listed?.phases.includes('output') ?? false) &&
      !(injection?.phases.includes('output') ?? false) &&
      (pii?.person_names ?? []).length === 0;
    const blocklist = guardrails.policy.blocklist;
    let longest = 0;
    // Listed person names match case-insensitively, so "anna" may begin "Anna Schmidt" as "Project" may
    // begin the blocked term "Project Falcon".
    for (const term of [...(blocklist?.terms ?? []), ...(guardrails.policy.pii?.person_names ?? [])]) {
      const words = term.trim().toLowerCase().split(/\s+/);
      longest = Math.max(longest, words.length - 1);
      for (let n = 1; n < words.length; n++) this.termStarts.add(words.slice(0, n).join(' '));
    }
    this.termWords = longest;
    this.patternWords = (blocklist?.patterns ?? []).length > 0 ? PATTERN_WORDS : 0;
  }

  /** How many characters of the raw (unguarded) text have been released, guarded, so far. */
  get releasedLength(): number {
    return this.released;
  }

  /** Text that may be sent now (possibly empty). Throws `guardrail_blocked` when a block rule fires. */
  push(delta: string): string {
    this.raw += delta;
    if (this.passThrough) {
      this.released = this.raw.length;
      return delta;
    }
    const cut = this.safeCut();
    if (cut <= this.released) return '';
    return this.release(cut, true);
  }

  /** The rest of the text, guarded. */
  finish(): string {
    return this.raw.length > this.released ? this.release(this.raw.length, false) : '';
  }

  /** The rules that fired on released text, merged by rule and entity type. */
  get actions(): GuardrailAction[] {
    return merge(this.fired);
  }

  /** The rule that blocked the stream, once one has. */
  get blocked(): GuardrailBlock | undefined {
    return this.blockedBy;
  }

  /**
   * Guards the raw text up to `cut` and releases it, unless a finding straddles the cut (when `tailFollows`)
   * or the released context would read differently (a finding straddles the context's start): then nothing.
   */
  private release(cut: number, tailFollows: boolean): string {
    const contextStart = wordStartAtOrBefore(this.raw, Math.max(0, this.released - CONTEXT_CHARS));
    const context = this.guardrails.apply(this.raw.slice(contextStart, this.released), 'output');
    const decided = this.guardrails.apply(this.raw.slice(contextStart, cut), 'output');
    // A tail that is one word after a space cannot hold the rest of a finding that began before the cut:
    // the words an entity spans are held above. Only a longer tail is checked together with the text.
    const checkTail = tailFollows && /\s/.test(this.raw.slice(cut));
    const straddles =
      !decided.text.startsWith(context.text) ||
      (checkTail &&
        !this.guardrails.apply(this.raw.slice(contextStart), 'output').text.startsWith(decided.text));
    if (straddles && tailFollows) return '';
    if (straddles) return this.releaseAlone(cut);
    if (decided.blocked) throw this.block(decided.blocked);
    this.released = cut;
    this.fired.push(...subtract(decided.actions, context.actions));
    return decided.text.slice(context.text.length);
  }

  /** The end of the stream, when the context cannot be separated: the rest is guarded on its own. */
  private releaseAlone(cut: number): string {
    const rest = this.guardrails.apply(this.raw.slice(this.released, cut), 'output');
    if (rest.blocked) throw this.block(rest.blocked);
    this.released = cut;
    this.fired.push(...rest.actions);
    return rest.text;
  }

  private block(blocked: GuardrailBlock): GovernanceError {
    this.blockedBy = blocked;
    return blockedError(blocked.message);
  }

  /** Where the held tail starts: everything before it is final as far as the recognizers can tell. */
  private safeCut(): number {
    const text = this.raw;
    let cut = text.length;
    // The word being written: an email address, URL or number in progress is one word.
    while (cut > this.released && !/\s/.test(text[cut - 1]!)) cut--;
    const writing = text.slice(cut);
    // The words before it that could belong to an entity spanning words: digit, capitalised and separator words.
    const chain: Word[] = [];
    for (let word = this.wordBefore(cut); word && entityLike(word.text); word = this.wordBefore(word.start)) {
      chain.unshift(word);
    }
    const held = Math.min(numberStart(chain, writing), this.nameStart(chain, writing));
    if (held < cut) cut = held;
    else if (this.punctuationFinal) {
      // From the word's start: part of it may have been released already (`:::` of a longer run of colons).
      const wordStart = wordStartAtOrBefore(text, cut);
      cut = Math.max(cut, wordStart + finalPunctuation(text.slice(wordStart)));
    }
    // Words that begin a blocklist term, or a pattern's window.
    const words: Word[] = [];
    for (let at = cut; words.length < Math.max(this.termWords, this.patternWords);) {
      const word = this.wordBefore(at);
      if (!word) break;
      words.unshift(word);
      at = word.start;
    }
    if (this.patternWords > 0 && words.length > 0) {
      cut = words[Math.max(0, words.length - this.patternWords)]!.start;
    }
    for (let n = Math.min(this.termWords, words.length); n > 0; n--) {
      const run = words.slice(words.length - n);
      const joined = run.map((word) => word.text.toLowerCase()).join(' ');
      if (this.termStarts.has(joined)) {
        cut = Math.min(cut, run[0]!.start);
        break;
      }
    }
    return cut;
  }

  /**
   * Where a person's name may still be in progress: capitalised words form a name only as a run, one space
   * apart (see {@link DefaultPersonRecognizer}). Only the last run can still grow, and only while the word after
   * it is unknown or capitalised; within it, a name can begin only at a word the recognizer's tables allow
   * (a title or a given name), and the words before that one are final.
   */
  private nameStart(chain: readonly Word[], writing: string): number {
    if (writing !== '' && !STARTS_UPPER_LETTER.test(writing)) return Infinity;
    let first = chain.length;
    while (first > 0 && HAS_UPPER.test(chain[first - 1]!.text)) first--;
    for (let i = first; i < chain.length; i++) {
      if (this.guardrails.mayBeginPersonName(chain[i]!.text, 'output')) return chain[i]!.start;
    }
    return Infinity;
  }

  /** The unreleased whitespace-delimited word that ends before `at` (skipping whitespace), if any. */
  private wordBefore(at: number): Word | undefined {
    const text = this.raw;
    let end = at;
    while (end > this.released && /\s/.test(text[end - 1]!)) end--;
    let start = end;
    while (start > this.released && !/\s/.test(text[start - 1]!)) start--;
    return start === end ? undefined : { start, text: text.slice(start, end) };
  }
}

interface Word {
  start: number;
  text: string;
}

function entityLike(word: string): boolean {
  return HAS_DIGIT.test(word) || HAS_UPPER.test(word) || SEPARATORS_ONLY.test(word);
}

/**
 * Where a number may still be in progress: card, phone, IBAN and ID numbers are written in groups, so from the
 * first word with a digit on (IBAN groups may be letters: `GB82 WEST 1234`), with separator words before it
 * (`+`, `(`). Separator words at the end are held while the next word is unknown or may be a group.
 */
function numberStart(chain: readonly Word[], writing: string): number {
  let first = chain.findIndex((word) => HAS_DIGIT.test(word.text));
  if (first < 0) {
    const groupMayFollow = writing === '' || HAS_DIGIT.test(writing) || SEPARATORS_ONLY.test(writing);
    if (!groupMayFollow) return Infinity;
    first = chain.length;
  }
  while (first > 0 && SEPARATORS_ONLY.test(chain[first - 1]!.text)) first--;
  return first < chain.length ? chain[first]!.start : Infinity;
}

/**
 * How many characters at the start of a word being written are final whatever follows: punctuation that no
 * recognizer includes in a finding, and a run of three colons or more, which the IPv6 recognizer takes whole
 * with what follows and rejects (an address has one `::` at most). `:::::` may be a model's answer; `::1` is
 * held.
 */
function finalPunctuation(writing: string): number {
  let n = 0;
  while (n < writing.length) {
    if (NEVER_IN_ENTITY.test(writing[n]!)) n++;
    else if (writing.startsWith(':::', n)) while (writing[n] === ':') n++;
    else break;
  }
  return n;
}

function blockedError(message: string): GovernanceError {
  return new GovernanceError('guardrail_blocked', message, { field: 'output' });
}

/** The start of the word that holds `index` (or `index` itself at a word start or in whitespace). */
function wordStartAtOrBefore(text: string, index: number): number {
  let start = index;
  while (start > 0 && !/\s/.test(text[start - 1]!)) start--;
  return start;
}

const actionKey = (action: GuardrailAction) => `${action.rule}:${action.entity_type ?? ''}`;

function merge(actions: readonly GuardrailAction[]): GuardrailAction[] {
  const merged = new Map<string, GuardrailAction>();
  for (const action of actions) {
    const seen = merged.get(actionKey(action));
    merged.set(actionKey(action), seen ? { ...seen, count: seen.count + action.count } : { ...action });
  }
  return [...merged.values()];
}

/** The actions of `all` less those of `already` (findings in the context, counted when it was released). */
function subtract(all: readonly GuardrailAction[], already: readonly GuardrailAction[]): GuardrailAction[] {
  const before = new Map(merge(already).map((action) => [actionKey(action), action.count]));
  return merge(all)
    .map((action) => ({ ...action, count: action.count - (before.get(actionKey(action)) ?? 0) }))
    .filter((action) => action.count > 0);
}

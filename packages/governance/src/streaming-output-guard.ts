import type { CompiledGuardrails, GuardrailAction } from './guardrails';
import { GovernanceError } from './governance-error';

/** Characters held back from a stream, so an entity still being generated is never sent half unmasked. */
const HOLD_BACK = 64;
/** Text is released in chunks of at least this many characters, so the guardrails run every few tokens only. */
const CHUNK = 32;

/**
 * Output guardrails over a token stream. Text is released in chunks that end at least {@link HOLD_BACK}
 * characters before the newest text, and only at a clean boundary: where guarding the text before and after
 * the boundary separately gives the same result as guarding it whole, so no finding straddles the cut.
 * Whatever is still held when the stream ends is guarded and released then.
 */
export class StreamingOutputGuard {
  private raw = '';
  private released = 0;
  private readonly fired: GuardrailAction[] = [];

  constructor(private readonly guardrails: CompiledGuardrails) {}

  /** Text that may be sent now (possibly empty). Throws `guardrail_blocked` when a block rule fires. */
  push(delta: string): string {
    this.raw += delta;
    const cut = this.raw.length - HOLD_BACK;
    if (cut - this.released < CHUNK) return '';
    const whole = this.check(this.raw.slice(this.released));
    const left = this.guardrails.apply(this.raw.slice(this.released, cut), 'output');
    const right = this.guardrails.apply(this.raw.slice(cut), 'output');
    if (left.text + right.text !== whole.text) return '';
    this.released = cut;
    this.fired.push(...left.actions);
    return left.text;
  }

  /** The rest of the text, guarded. */
  finish(): string {
    const rest = this.check(this.raw.slice(this.released));
    this.released = this.raw.length;
    this.fired.push(...rest.actions);
    return rest.text;
  }

  /** The rules that fired on released text, merged by rule and entity type. */
  get actions(): GuardrailAction[] {
    const merged = new Map<string, GuardrailAction>();
    for (const action of this.fired) {
      const key = `${action.rule}:${action.entity_type ?? ''}`;
      const seen = merged.get(key);
      merged.set(key, seen ? { ...seen, count: seen.count + action.count } : { ...action });
    }
    return [...merged.values()];
  }

  private check(text: string) {
    const result = this.guardrails.apply(text, 'output');
    if (result.blocked) {
      throw new GovernanceError('guardrail_blocked', result.blocked.message, {
        field: 'output',
      });
    }
    return result;
  }
}

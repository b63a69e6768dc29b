import type { PreTrainedTokenizer } from './transformers';

/**
 * Turns a growing list of token ids into text, a piece per token, without re-decoding the whole list each step.
 * Byte-level BPE tokens can end mid-character, so each step decodes a short window of recent ids and releases
 * text only once it no longer ends in a replacement character (the scheme TGI and vLLM use).
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  private released = '';

  constructor(private readonly tokenizer: PreTrainedTokenizer) {}

  /** All the text released so far. */
  get text(): string {
    return this.released;
  }

  /** Adds a token and returns the text it completes (often the token's own text, sometimes empty). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.decode(this.prefixOffset, this.readOffset);
    const after = this.decode(this.prefixOffset, this.ids.length);
    if (after.length <= before.length || after.endsWith('\uFFFD')) return '';
    const delta = after.slice(before.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.released += delta;
    return delta;
  }

  /** Releases whatever is held back, replacement characters included: call when the sequence ends. */
  flush(): string {
    const rest = this.decode(this.prefixOffset, this.ids.length).slice(
      this.decode(this.prefixOffset, this.readOffset).length,
    );
    this.prefixOffset = this.readOffset = this.ids.length;
    this.released += rest;
    return rest;
  }

  private decode(from: number, to: number): string {
    if (from >= to) return '';
    return this.tokenizer.decode(this.ids.slice(from, to), { skip_special_tokens: true });
  }
}

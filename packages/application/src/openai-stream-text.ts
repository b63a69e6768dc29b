/**
 * OpenAI's endpoints leave the stop sequence out of the text, while the engine (following TGI) keeps it. When
 * streaming, text that could be the start of a stop sequence is held back until it is clearly not one, so no
 * part of a stop sequence ever reaches the client.
 */
export class StopSequenceFilter {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Text that can be sent now. */
  push(delta: string): string {
    const text = this.held + delta;
    const keep = this.longestStopPrefixAtEnd(text);
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** What is left at the end of generation; `stopped` when a stop sequence ended it. */
  finish(stopped: boolean): string {
    const text = this.held;
    this.held = '';
    if (!stopped) return text;
    const stop = this.stops.find((s) => text.endsWith(s));
    return stop === undefined ? text : text.slice(0, text.length - stop.length);
  }

  /** Removes the stop sequence the complete text ends with (non-streaming answers). */
  static strip(text: string, stops: readonly string[]): string {
    const stop = stops.find((s) => text.endsWith(s));
    return stop === undefined ? text : text.slice(0, text.length - stop.length);
  }

  private longestStopPrefixAtEnd(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}

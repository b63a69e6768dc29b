import { isDigitAt, isUnspacedScriptAt, isWordCharAt } from './text-context';

/** A window of consecutive digit groups inside a run: a candidate card number or SSN. */
export interface DigitWindow {
  start: number;
  end: number;
  /** The digits alone. */
  digits: string;
  /** Digits per group, e.g. [3, 2, 4] for `123-45-6789`. */
  groupLengths: number[];
  /** The separator used inside the window: `''` for one unbroken group, `' '`, `'-'`, or `'mixed'`. */
  separator: string;
}

// Groups of digits joined by one space or dash: a linear pattern (the separator is mandatory between
// groups), so no input makes it backtrack.
const DIGIT_RUN = /\d+(?:[ -]\d+)*/g;

/**
 * True when a number may start at `start`: not inside a word, a decimal, a version, a date, a range or a
 * signed number. A comma may precede it (CSV fields); thousands groups are too short to matter.
 */
export function numberMayStartAt(text: string, start: number): boolean {
  if (start === 0) return true;
  if (isWordCharAt(text, start - 1)) return isUnspacedScriptAt(text, start - 1);
  const before = text[start - 1] ?? '';
  return !'.-/+'.includes(before);
}

/** True when a number may end at `end`: not followed by a word character, or by `.`, `/` or `-` and a digit. */
export function numberMayEndAt(text: string, end: number): boolean {
  if (end >= text.length) return true;
  if (isWordCharAt(text, end)) return isUnspacedScriptAt(text, end);
  return !('./-'.includes(text[end] ?? '') && isDigitAt(text, end + 1));
}

/**
 * Every window of a digit run with `minDigits` to `maxDigits` digits that could be a whole number on its
 * own, longest first for each start. A window may begin or end inside a run only at a space: `4111 1111
 * 1111 1111 12/27` offers the card without the expiry month, while `123-45-6789-01` is one identifier and
 * offers no shorter window. `accept` sees windows in that order; once it accepts one, the search goes on
 * after it. Bounding the window keeps the scan linear in the run however many groups it has.
 */
export function scanDigitWindows(
  text: string,
  digitRange: { min: number; max: number },
  accept: (window: DigitWindow) => boolean,
): void {
  for (const match of text.matchAll(DIGIT_RUN)) {
    const runStart = match.index;
    const runEnd = runStart + match[0].length;
    const starts: number[] = [];
    const ends: number[] = [];
    const separators: string[] = [];
    let groupStart = runStart;
    for (let index = runStart; index <= runEnd; index++) {
      if (index === runEnd || !isDigitAt(text, index)) {
        starts.push(groupStart);
        ends.push(index);
        if (index < runEnd) separators.push(text[index] ?? '');
        groupStart = index + 1;
      }
    }
    const groupCount = starts.length;
    // digitsBefore[g]: digits in groups 0..g-1, so a window's digit count is a subtraction.
    const digitsBefore: number[] = [0];
    for (let group = 0; group < groupCount; group++) {
      digitsBefore.push((digitsBefore[group] ?? 0) + (ends[group] ?? 0) - (starts[group] ?? 0));
    }
    let first = 0;
    while (first < groupCount) {
      let accepted = -1;
      const windowMayStart = first === 0 ? numberMayStartAt(text, runStart) : separators[first - 1] === ' ';
      if (windowMayStart) {
        const before = digitsBefore[first] ?? 0;
        let last = first;
        while (last + 1 < groupCount && (digitsBefore[last + 2] ?? 0) - before <= digitRange.max) last++;
        for (; last >= first; last--) {
          const count = (digitsBefore[last + 1] ?? 0) - before;
          if (count < digitRange.min) break;
          if (count > digitRange.max) continue;
          const windowMayEnd =
            last === groupCount - 1 ? numberMayEndAt(text, runEnd) : separators[last] === ' ';
          if (!windowMayEnd) continue;
          const window = windowAt(text, starts, ends, separators, first, last);
          if (accept(window)) {
            accepted = last;
            break;
          }
        }
      }
      first = accepted === -1 ? first + 1 : accepted + 1;
    }
  }
}

function windowAt(
  text: string,
  starts: readonly number[],
  ends: readonly number[],
  separators: readonly string[],
  first: number,
  last: number,
): DigitWindow {
  const inner = separators.slice(first, last);
  const separator = inner.length === 0 ? '' : inner.every((s) => s === inner[0]) ? (inner[0] ?? '') : 'mixed';
  const groupLengths: number[] = [];
  let digits = '';
  for (let group = first; group <= last; group++) {
    groupLengths.push((ends[group] ?? 0) - (starts[group] ?? 0));
    digits += text.slice(starts[group], ends[group]);
  }
  return { start: starts[first] ?? 0, end: ends[last] ?? 0, digits, groupLengths, separator };
}

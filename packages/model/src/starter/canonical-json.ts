/**
 * JSON text whose bytes depend only on the value, never on how an object happened to be built.
 *
 * `JSON.stringify` keeps insertion order, except that integer-like keys ("0", "10") always come first in
 * numeric order. Sorting every plain object's keys (by UTF-16 code unit, like Python's `sort_keys=True`)
 * removes both effects. A `Map` is the escape hatch for the one place order carries meaning to a reader:
 * it is written in its own insertion order (the tokenizer vocabulary, listed by token id).
 */

/** A value that {@link canonicalJson} can write. */
export type CanonicalJsonValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalJsonValue[]
  | ReadonlyMap<string, CanonicalJsonValue>
  | { readonly [key: string]: CanonicalJsonValue | undefined };

/**
 * Serialises `value` with sorted object keys, two-space indentation (one array item per line, which keeps
 * diffs readable) and a final newline. Keys whose value is `undefined` are left out, as `JSON.stringify` does.
 *
 * @throws RangeError for a non-finite number, which JSON cannot represent.
 */
export function canonicalJson(value: CanonicalJsonValue): string {
  const parts: string[] = [];
  write(value, '', parts);
  parts.push('\n');
  return parts.join('');
}

function write(value: CanonicalJsonValue, indent: string, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new RangeError(`cannot write ${value} as JSON`);
    out.push(JSON.stringify(value));
    return;
  }
  // Arrays and objects differ only in brackets and in whether each item has a key.
  const array = isArray(value);
  const entries: Array<readonly [string | undefined, CanonicalJsonValue]> = [];
  if (array) {
    for (const item of value) entries.push([undefined, item]);
  } else if (value instanceof Map) {
    for (const [key, item] of value as ReadonlyMap<string, CanonicalJsonValue>) entries.push([key, item]);
  } else {
    const record = value as { readonly [key: string]: CanonicalJsonValue | undefined };
    for (const key of Object.keys(record).sort(compareCodeUnits)) {
      const item = record[key];
      if (item !== undefined) entries.push([key, item]);
    }
  }
  const [open, close] = array ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    out.push(open + close);
    return;
  }
  const inner = `${indent}  `;
  out.push(`${open}\n`);
  entries.forEach(([key, item], i) => {
    out.push(key === undefined ? inner : `${inner}${JSON.stringify(key)}: `);
    write(item, inner, out);
    out.push(i < entries.length - 1 ? ',\n' : '\n');
  });
  out.push(`${indent}${close}`);
}

function isArray(value: CanonicalJsonValue): value is readonly CanonicalJsonValue[] {
  return Array.isArray(value);
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

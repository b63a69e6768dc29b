import type { InputFile } from './input-files';
import {
  DEFAULT_MAX_RECORD_BYTES,
  hasReplacementCharacter,
  rowError,
  type ReadItem,
  type ReadOptions,
} from './read-items';

/**
 * Streams a JSON file whose top level is an array of objects, one element at a time: a small scanner tracks
 * strings and nesting to cut the array into elements, and each element is parsed on its own. A bad element is
 * a row error; a file that is not an array, or ends before its closing `]`, ends with a file error.
 */
export async function* readJsonArray(file: InputFile, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const decoder = new TextDecoder('utf-8');
  let state: 'before' | 'between' | 'element' | 'after' = 'before';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let size = 0;
  let tooLarge = false;
  let index = 0;
  let first = true;
  let sawAny = false;

  const finish = (): ReadItem | undefined => {
    index++;
    const at = `${file.name} element ${index}`;
    if (tooLarge)
      return rowError('record_too_large', file.name, `${at} is over ${max} bytes; skipped`, index);
    const text = parts.join('');
    if (hasReplacementCharacter(text)) {
      return rowError('invalid_encoding', file.name, `${at} is not UTF-8 (latin-1 saved as UTF-8?)`, index);
    }
    try {
      const value: unknown = JSON.parse(text);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return rowError('not_an_object', file.name, `${at} is not a JSON object`, index);
      }
      return { kind: 'record', row: index, record: value as Record<string, unknown> };
    } catch (error) {
      return rowError('invalid_json', file.name, `${at}: ${(error as Error).message}`, index);
    }
  };

  for await (const chunk of await file.open()) {
    let text = decoder.decode(chunk as Buffer, { stream: true });
    if (text.length > 0) sawAny = true;
    if (first && text.length > 0) {
      text = text.replace(/^\uFEFF/, '');
      first = false;
    }
    // An element that began in an earlier chunk goes on from this chunk's start.
    let elementStart = state === 'element' ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (state === 'before' || state === 'after' || state === 'between') {
        if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t') continue;
        if (state === 'before') {
          if (ch !== '[') {
            yield rowError(
              'not_a_json_array',
              file.name,
              `${file.name} is not a JSON array (starts with ${JSON.stringify(ch)})`,
            );
            return;
          }
          state = 'between';
          continue;
        }
        if (state === 'after') {
          yield rowError(
            'invalid_json',
            file.name,
            `${file.name}: unexpected ${JSON.stringify(ch)} after the array`,
          );
          return;
        }
        if (ch === ',') continue;
        if (ch === ']') {
          state = 'after';
          continue;
        }
        state = 'element';
        parts = [];
        size = 0;
        tooLarge = false;
        depth = 0;
        elementStart = i;
      }
      // Inside an element.
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']' || ch === ',') {
        if (ch !== ',') depth--;
        const endsElement = (ch === ',' && depth === 0) || depth < 0;
        const closesArray = depth < 0;
        if (endsElement || (depth === 0 && ch !== ',')) {
          const end = endsElement ? i : i + 1;
          if (!tooLarge) parts.push(text.slice(elementStart, end));
          if (endsElement || depth === 0) {
            const item = finish();
            if (item) yield item;
            state = closesArray ? 'after' : 'between';
            elementStart = -1;
            depth = 0;
          }
        }
      }
    }
    if (state === 'element') {
      const rest = text.slice(elementStart);
      size += rest.length;
      if (size > max) {
        tooLarge = true;
        parts = [];
      } else if (!tooLarge) parts.push(rest);
    }
  }
  if (!sawAny) {
    yield rowError('empty_file', file.name, `${file.name} is empty`);
    return;
  }
  if ((state as string) !== 'after') {
    yield rowError('truncated_json', file.name, `${file.name} ends before the array's closing "]"`);
  }
}

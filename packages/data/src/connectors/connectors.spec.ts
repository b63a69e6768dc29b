import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listInputFiles } from './input-files';
import { readFile } from './read-file';
import type { ReadItem } from './read-items';
import { sniffDelimiter } from './csv-reader';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-connectors-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function readAll(name: string, content: string | Buffer, maxRecordBytes?: number): Promise<ReadItem[]> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  const [input] = await listInputFiles(file);
  const items: ReadItem[] = [];
  for await (const item of readFile(input!, maxRecordBytes ? { maxRecordBytes } : {})) items.push(item);
  return items;
}

const records = (items: ReadItem[]) => items.flatMap((i) => (i.kind === 'record' ? [i.record] : []));
const errors = (items: ReadItem[]) => items.flatMap((i) => (i.kind === 'error' ? [i.error.code] : []));

describe('CSV', () => {
  it('reads quoted delimiters, quotes and newlines, and strips a BOM from the header', async () => {
    const items = await readAll(
      'a.csv',
      '\uFEFFid,text\r\n1,"hello, ""world""\r\nsecond line"\r\n2,plain\r\n',
    );
    expect(records(items)).toEqual([
      { id: '1', text: 'hello, "world"\r\nsecond line' },
      { id: '2', text: 'plain' },
    ]);
    expect(errors(items)).toEqual([]);
  });

  it('sniffs semicolons and tabs', async () => {
    expect(sniffDelimiter('id;text;n\n1;"a;b";2\n')).toBe(';');
    expect(sniffDelimiter('id\ttext\n1\thello, world\n')).toBe('\t');
    const items = await readAll('semi.csv', 'id;text\n1;"a, b"\n');
    expect(records(items)).toEqual([{ id: '1', text: 'a, b' }]);
  });

  it('skips a ragged row with an error and keeps the rest', async () => {
    const items = await readAll('ragged.csv', 'id,text\n1,ok\n2,too,many\n3,fine\n');
    expect(records(items).map((r) => r['id'])).toEqual(['1', '3']);
    expect(errors(items)).toEqual(['csv_ragged_row']);
  });

  it('reports an unbalanced quote after the good rows', async () => {
    const items = await readAll('quote.csv', 'id,text\n1,ok\n2,"never closed\n3,lost\n');
    expect(records(items).map((r) => r['id'])).toEqual(['1']);
    expect(errors(items)).toEqual(['csv_unbalanced_quote']);
  });

  it('flags latin-1 bytes passed as UTF-8 per row', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('id,text\n1,caf'),
      Buffer.from([0xe9]),
      Buffer.from('\n2,cafe\n'),
    ]);
    const items = await readAll('latin.csv', latin1);
    expect(records(items).map((r) => r['id'])).toEqual(['2']);
    expect(errors(items)).toEqual(['invalid_encoding']);
  });

  it('reports an empty file', async () => {
    expect(errors(await readAll('empty.csv', ''))).toEqual(['empty_file']);
  });

  it('stops a record over the size limit without holding it', async () => {
    const items = await readAll('big.csv', `id,text\n1,ok\n2,${'x'.repeat(200_000)}\n`, 1000);
    expect(records(items).map((r) => r['id'])).toEqual(['1']);
    expect(errors(items)).toEqual(['record_too_large']);
  });
});

describe('JSON Lines', () => {
  it('reads objects, skips blank lines and reports bad lines by number', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('{"id":"x","text":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}'),
    ]);
    const content = Buffer.concat([
      Buffer.from('\uFEFF{"id":"1","text":"a"}\n\n{"id": broken}\n[1,2]\n'),
      latin1,
      Buffer.from(`\n{"id":"${'y'.repeat(5000)}"}\n{"id":"2","text":"b"}`),
    ]);
    const items = await readAll('a.jsonl', content, 1000);
    expect(records(items)).toEqual([
      { id: '1', text: 'a' },
      { id: '2', text: 'b' },
    ]);
    expect(items.flatMap((i) => (i.kind === 'error' ? [[i.error.code, i.error.row]] : []))).toEqual([
      ['invalid_json', 3],
      ['not_an_object', 4],
      ['invalid_encoding', 5],
      ['record_too_large', 6],
    ]);
  });
});

describe('JSON arrays', () => {
  it('streams elements, with nested values, strings with brackets, and bad elements', async () => {
    const items = await readAll(
      'a.json',
      ' [ {"id":"1","text":"a ] , { b","tags":[1,{"x":"}"}]}, 7 ,{"id":"2","text":"\\"q\\""} ]\n',
    );
    expect(records(items)).toEqual([
      { id: '1', text: 'a ] , { b', tags: [1, { x: '}' }] },
      { id: '2', text: '"q"' },
    ]);
    expect(errors(items)).toEqual(['not_an_object']);
  });

  it('reports a truncated array and a file that is not an array', async () => {
    expect(errors(await readAll('trunc.json', '[{"id":"1"},{"id":'))).toEqual(['truncated_json']);
    expect(records(await readAll('trunc2.json', '[{"id":"1"},{"id":'))).toEqual([{ id: '1' }]);
    expect(errors(await readAll('obj.json', '{"id":"1"}'))).toEqual(['not_a_json_array']);
  });
});

describe('Parquet', () => {
  it('reads row groups and reports a truncated file', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: ['a', 'b', 'c'], type: 'STRING' },
        { name: 'n', data: [1, 2, 3], type: 'DOUBLE' },
      ],
      rowGroupSize: 2,
    });
    const bytes = Buffer.from(new Uint8Array(buffer));
    const items = await readAll('a.parquet', bytes);
    expect(records(items)).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
      { id: 'c', n: 3 },
    ]);
    expect(errors(await readAll('cut.parquet', bytes.subarray(0, bytes.length - 10)))).toEqual([
      'invalid_parquet',
    ]);
  });
});

describe('inputs', () => {
  it('lists a folder sorted, skipping hidden and underscore files, and names unknown formats', async () => {
    const folder = path.join(dir, 'folder');
    await rm(folder, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(folder, 'sub'), { recursive: true }));
    await writeFile(path.join(folder, 'b.jsonl'), '{}\n');
    await writeFile(path.join(folder, 'sub', 'a.csv'), 'id\n1\n');
    await writeFile(path.join(folder, '_planted.json'), '{}');
    await writeFile(path.join(folder, '.hidden'), '');
    await writeFile(path.join(folder, 'notes.txt'), 'x');
    const files = await listInputFiles(folder);
    expect(files.map((f) => [f.name, f.format])).toEqual([
      ['b.jsonl', 'jsonl'],
      ['notes.txt', undefined],
      ['sub/a.csv', 'csv'],
    ]);
    const items: ReadItem[] = [];
    for await (const item of readFile(files[1]!)) items.push(item);
    expect(errors(items)).toEqual(['unsupported_format']);
    await expect(listInputFiles(path.join(dir, 'nope'))).rejects.toThrow(/does not exist/);
  });
});

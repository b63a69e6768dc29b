import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutputFileError, writeFileAtomically } from './atomic-file';

const folder = () => mkdtempSync(path.join(os.tmpdir(), 'strata-cli-atomic-'));
const bytes = (text: string) => new TextEncoder().encode(text);

describe('writeFileAtomically', () => {
  it('writes the content, readable by the owner only, and leaves no temp file', async () => {
    const dir = folder();
    const target = path.join(dir, 'export.jsonl');
    const result = await writeFileAtomically(target, async (write) => {
      await write(bytes('{"seq":1}\n'));
      await write(bytes('{"seq":2}\n'));
      return 2;
    });
    expect(result).toBe(2);
    expect(readFileSync(target, 'utf8')).toBe('{"seq":1}\n{"seq":2}\n');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['export.jsonl']);
  });

  it('leaves an existing file untouched, and no temp file, when filling fails part way', async () => {
    const dir = folder();
    const target = path.join(dir, 'export.jsonl');
    writeFileSync(target, 'previous export\n');
    const failure = new Error('the connection broke');
    await expect(
      writeFileAtomically(target, async (write) => {
        await write(bytes('{"seq":1}\n'));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(readFileSync(target, 'utf8')).toBe('previous export\n');
    expect(readdirSync(dir)).toEqual(['export.jsonl']);
  });

  it('names the file when the file system refuses', async () => {
    const target = path.join(folder(), 'missing-folder', 'export.jsonl');
    const error = await writeFileAtomically(target, async () => 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputFileError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot create ${target}: ENOENT`));
  });
});

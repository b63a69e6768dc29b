import { copyJsonLines, IncompleteExportError } from './audit.command';

async function* chunks(...parts: string[]) {
  for (const part of parts) yield new TextEncoder().encode(part);
}

describe('copyJsonLines', () => {
  it('copies every byte and counts records across chunk boundaries', async () => {
    const out: string[] = [];
    const count = await copyJsonLines(
      chunks('{"seq":1}\n{"se', 'q":2}\n', '', '{"seq":3}\n'),
      async (chunk) => {
        out.push(Buffer.from(chunk).toString());
      },
    );
    expect(count).toBe(3);
    expect(out.join('')).toBe('{"seq":1}\n{"seq":2}\n{"seq":3}\n');
  });

  it('counts an empty export as zero records', async () => {
    expect(await copyJsonLines(chunks(), async () => undefined)).toBe(0);
  });

  it('refuses a stream cut off in the middle of a record', async () => {
    const copying = copyJsonLines(chunks('{"seq":1}\n{"seq":2'), async () => undefined);
    await expect(copying).rejects.toThrow(IncompleteExportError);
    await expect(copyJsonLines(chunks('{"seq":1}\n{"seq":2'), async () => undefined)).rejects.toThrow(
      'the export ended in the middle of record 2',
    );
  });
});

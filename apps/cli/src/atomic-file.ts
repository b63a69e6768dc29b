import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** The output file could not be written; nothing was left behind. */
export class OutputFileError extends Error {
  override readonly name = 'OutputFileError';
}

/**
 * Writes `target` all or nothing: the content goes to a temp file beside it (same file system, so the rename
 * is atomic), is flushed to disk, and only then renamed over `target`. When `fill` or any file operation fails,
 * the temp file is removed and `target` is left as it was, so a half-written export never looks like a whole
 * one. The file is created with `mode` (default 0600: audit exports carry personal data).
 *
 * @param fill writes the content through the `write` it is given; its errors are rethrown unchanged.
 * @throws OutputFileError when the file system refuses (missing folder, permissions, full disk).
 */
export async function writeFileAtomically<T>(
  target: string,
  fill: (write: (chunk: Uint8Array) => Promise<void>) => Promise<T>,
  mode = 0o600,
): Promise<T> {
  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const fileSystem = async <R>(what: string, operation: () => Promise<R>): Promise<R> => {
    try {
      return await operation();
    } catch (error) {
      throw new OutputFileError(`cannot ${what} ${target}: ${(error as Error).message}`);
    }
  };
  const handle: FileHandle = await fileSystem('create', () => open(temp, 'wx', mode));
  let closed = false;
  try {
    const result = await fill((chunk) =>
      fileSystem('write', async () => {
        for (let offset = 0; offset < chunk.byteLength;) {
          offset += (await handle.write(chunk, offset, chunk.byteLength - offset)).bytesWritten;
        }
      }),
    );
    await fileSystem('flush', () => handle.sync());
    closed = true;
    await fileSystem('close', () => handle.close());
    await fileSystem('replace', () => rename(temp, target));
    return result;
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `data` to `filePath` so that a reader sees either the old file or the complete new one, never a
 * partial write: the bytes go to a temporary file in the same folder (a rename is only atomic within one
 * file system), are flushed to disk, and the temporary file is then renamed over the target.
 * Parent folders are created as needed. The temporary file is removed if anything fails.
 */
export async function writeFileAtomic(filePath: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(filePath);
  await fs.mkdir(dir, { recursive: true });
  // pid + random suffix: two processes (or two calls in one process) never share a temporary file.
  const tmpPath = path.join(
    dir,
    `.${path.basename(filePath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await fs.writeFile(tmpPath, data, { flush: true });
    await fs.rename(tmpPath, filePath);
  } catch (error: unknown) {
    await fs.rm(tmpPath, { force: true }).catch(() => undefined);
    throw error;
  }
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import { startGenerationService } from './start-generation-service';
import { ADMIN_HEADERS, starterServiceEnv } from './testing/starter-service-env';

/** One writer per data directory: a second service on the same directory is refused before it opens anything. */
describe('the data-directory lock of a generation service', () => {
  it('refuses a second service on the same data directory, naming it and the holder', async () => {
    const env = await starterServiceEnv();
    const dataDir = env['STRATA_DATA_DIR']!;
    const first = await startGenerationService({ service: 'first', env });
    try {
      const lockFile = path.join(dataDir, 'strata.lock');
      expect(existsSync(lockFile)).toBe(true);
      const second = startGenerationService({ service: 'second', env: { ...env, PORT: '0' } });
      await expect(second).rejects.toThrow(`data directory ${dataDir} is in use by process ${process.pid}`);
      // The first one is untouched and still serving from its database.
      const response = await fetch(`${first.url}/admin/keys`, { headers: ADMIN_HEADERS });
      expect(response.status).toBe(200);
    } finally {
      await first.close();
    }
    // Closed: the lock is released, and the next service starts on the same directory.
    expect(existsSync(path.join(dataDir, 'strata.lock'))).toBe(false);
    const next = await startGenerationService({ service: 'next', env });
    await next.close();
  });

  it('releases the lock and closes the database when start-up fails later on', async () => {
    const env = await starterServiceEnv();
    const blocker = await startGenerationService({ service: 'blocker', env: await starterServiceEnv() });
    try {
      const port = new URL(blocker.url).port;
      // The port is taken: listen fails after the lock, database and governance were opened.
      await expect(startGenerationService({ service: 'clash', env: { ...env, PORT: port } })).rejects.toThrow(
        /EADDRINUSE|address already in use/,
      );
      expect(existsSync(path.join(env['STRATA_DATA_DIR']!, 'strata.lock'))).toBe(false);
      // Everything was closed: the same directory opens again at once.
      const again = await startGenerationService({ service: 'again', env });
      await again.close();
    } finally {
      await blocker.close();
    }
  });
});

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { DEPLOYABLE_APPS, dockerfileOf } from './app-catalog';
import { startApp } from './app-process';
import { clearLayerCache, replayDockerfile, snapshot, type EmulatedImage } from './image-build.testing';

/**
 * The image bug this catches: a runtime dependency missing from the pruned production tree. Each app's
 * Dockerfile is replayed (install, build, `pnpm deploy --prod`) in a temporary folder, and the pruned tree is
 * started with the image's CMD, ENV and USER, without write access to the app folder that a read-only root
 * filesystem would deny. The images share their build stage up to `pnpm deploy`, and the replay reuses it as
 * Docker's layer cache would, so the workspace is installed and built once.
 */
afterAll(clearLayerCache);

describe.each(DEPLOYABLE_APPS)('$name image, replayed from its Dockerfile', (app) => {
  let image: EmulatedImage | undefined;
  afterAll(() => {
    if (image) rmSync(path.dirname(image.root), { recursive: true, force: true });
  });

  it('starts from the pruned production tree, answers its readiness probe and HEALTHCHECK, and writes only to its volumes', async () => {
    image = replayDockerfile(dockerfileOf(app.name), (line) =>
      process.stderr.write(`[${app.name}] ${line}\n`),
    );
    const appDir = image.hostPath(image.workdir);
    const before = snapshot(appDir);
    // As root (CI), run as the image's USER; its volumes belong to that user, the app folder does not.
    const user = process.getuid?.() === 0 ? image.user : undefined;
    const running = await startApp({
      command: image.cmd,
      cwd: appDir,
      env: { ...image.env, ...app.localEnv, LOG_LEVEL: 'warn' },
      timeoutMs: 120_000,
      ...(user ? { user } : {}),
    });
    try {
      const port = new URL(running.url).port;
      const health = spawnSync(image.healthcheck[0]!, image.healthcheck.slice(1), {
        env: { ...process.env, PORT: port },
        encoding: 'utf8',
      });
      expect({ status: health.status, stderr: health.stderr }).toEqual({ status: 0, stderr: '' });
      const live = await fetch(`${running.url}/health/live`);
      expect(live.status).toBe(200);
    } finally {
      await running.stop();
    }
    expect(snapshot(appDir)).toBe(before);
  }, 900_000);
});

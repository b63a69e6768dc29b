import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execForm, parseCopy, parseDockerfile, parseEnv, type DockerStage } from './dockerfile';
import { REPO_ROOT } from './paths';

/**
 * Docker's layer cache, emulated: after each RUN, a hard-linked copy of the stage's folder, keyed by the base
 * image, the build context and every instruction so far. A later Dockerfile with the same prefix starts from
 * that copy, as `docker build` starts from the cached layer. It lives as long as this process.
 */
const layerCache = new Map<string, string>();
let layerCacheDir: string | undefined;

/** Removes the cached layers. */
export function clearLayerCache(): void {
  if (layerCacheDir) rmSync(layerCacheDir, { recursive: true, force: true });
  layerCacheDir = undefined;
  layerCache.clear();
}

/** What `.dockerignore` keeps out of the build context (deploy/docker/<app>.Dockerfile.dockerignore). */
const IGNORED = new Set(['node_modules', 'dist', '.turbo', '.strata', '.git']);

/** An image as a folder: image paths live under `root`, with the runtime stage's settings. */
export interface EmulatedImage {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: { uid: number; gid: number } | undefined;
  cmd: string[];
  healthcheck: string[];
  /** Maps an absolute path inside the image to the folder on this machine. */
  hostPath(imagePath: string): string;
}

/** Rewrites the absolute image paths in a shell command to their folders under `root`. */
function rooted(command: string, root: string): string {
  return command.replace(/(^|[\s=:])\/(?=[\w.])/g, `$1${root}/`);
}

/**
 * Replays a Dockerfile without a Docker engine: each stage's COPY and RUN in a temporary folder that stands
 * for the image's root, with the build context filtered as `.dockerignore` says. The one RUN that installs
 * pnpm globally is replaced by a `pnpm` on PATH that runs the same pinned version through npx. Returns the
 * last stage as a folder plus its ENV, WORKDIR, USER, CMD and HEALTHCHECK.
 */
export function replayDockerfile(
  file: string,
  log: (line: string) => void = () => {},
  context: string = REPO_ROOT,
): EmulatedImage {
  const stages = parseDockerfile(file);
  const base = mkdtempSync(path.join(os.tmpdir(), 'strata-image-'));
  chmodSync(base, 0o755);
  const roots = new Map<DockerStage, string>();
  let last: EmulatedImage | undefined;
  for (const [index, stage] of stages.entries()) {
    const root = path.join(base, stage.name ?? `stage-${index}`);
    roots.set(stage, root);
    const keys: string[] = [];
    let key = JSON.stringify([context, stage.from]);
    for (const instruction of stage.instructions)
      keys.push((key = `${key}\n${instruction.keyword} ${instruction.args}`));
    // The longest prefix of this stage that an earlier build left in the cache (a stage that copies from
    // another stage is not cached: its input is not in the key).
    let cachedThrough = -1;
    if (!stage.instructions.some((i) => i.keyword === 'COPY' && parseCopy(i.args).from !== undefined))
      keys.forEach((k, i) => {
        if (layerCache.has(k)) cachedThrough = i;
      });
    if (cachedThrough >= 0) {
      log(
        `using the cached layers up to: ${stage.instructions[cachedThrough]!.keyword} ${stage.instructions[cachedThrough]!.args}`,
      );
      execFileSync('cp', ['-al', layerCache.get(keys[cachedThrough]!)!, root]);
    } else {
      mkdirSync(root, { recursive: true });
    }
    const bin = path.join(root, '.emulator-bin');
    mkdirSync(bin, { recursive: true });
    let workdir = '/';
    let user: EmulatedImage['user'];
    let cmd: string[] = [];
    let healthcheck: string[] = [];
    const env: Record<string, string> = {};
    for (const [position, instruction] of stage.instructions.entries()) {
      const at = path.join(root, workdir);
      // Replayed from the cache: only the settings that live outside the filesystem are read again.
      if (position <= cachedThrough && (instruction.keyword === 'COPY' || instruction.keyword === 'RUN'))
        continue;
      switch (instruction.keyword) {
        case 'ENV':
          Object.assign(env, parseEnv(instruction.args));
          break;
        case 'WORKDIR':
          workdir = path.posix.resolve(workdir, instruction.args);
          mkdirSync(path.join(root, workdir), { recursive: true });
          break;
        case 'USER': {
          const [uid, gid] = instruction.args.split(':').map(Number);
          user = { uid: uid!, gid: gid ?? uid! };
          break;
        }
        case 'COPY': {
          const copy = parseCopy(instruction.args);
          const fromStage = copy.from === undefined ? undefined : stages.find((s) => s.name === copy.from);
          const sourceRoot = fromStage ? roots.get(fromStage)! : context;
          for (const source of copy.sources) {
            const target = copy.destination.endsWith('/')
              ? path.join(
                  root,
                  path.posix.resolve(workdir, copy.destination),
                  source.endsWith('/') ? '' : path.basename(source),
                )
              : path.join(root, path.posix.resolve(workdir, copy.destination));
            cpSync(path.join(sourceRoot, source), target, {
              recursive: true,
              verbatimSymlinks: true,
              filter: (from) =>
                fromStage !== undefined ||
                (!IGNORED.has(path.basename(from)) && !from.endsWith('.tsbuildinfo')),
            });
          }
          break;
        }
        case 'RUN': {
          const pnpmInstall = /^npm install --global pnpm@(\S+)$/.exec(instruction.args);
          if (pnpmInstall) {
            writeFileSync(path.join(bin, 'pnpm'), `#!/bin/sh\nexec npx --yes pnpm@${pnpmInstall[1]} "$@"\n`, {
              mode: 0o755,
            });
            break;
          }
          const command = rooted(instruction.args, root);
          const started = Date.now();
          const result = spawnSync('sh', ['-c', command], {
            cwd: at,
            env: { ...process.env, ...env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          });
          log(`RUN ${instruction.args} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
          if (result.status !== 0)
            throw new Error(
              `${path.basename(file)}:${instruction.line}: RUN ${instruction.args} failed (${result.status}):\n` +
                `${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
            );
          if (!stage.instructions.some((i) => i.keyword === 'COPY' && parseCopy(i.args).from !== undefined)) {
            layerCacheDir ??= mkdtempSync(path.join(os.tmpdir(), 'strata-image-layers-'));
            const layer = path.join(layerCacheDir, String(layerCache.size));
            execFileSync('cp', ['-al', root, layer]);
            layerCache.set(keys[position]!, layer);
          }
          break;
        }
        case 'CMD':
          cmd = execForm(instruction.args);
          break;
        case 'HEALTHCHECK':
          healthcheck = execForm(instruction.args);
          break;
        default:
          break;
      }
    }
    last = {
      root,
      workdir,
      env: Object.fromEntries(Object.entries(env).map(([key, value]) => [key, rooted(value, root)])),
      user,
      cmd,
      healthcheck,
      hostPath: (imagePath) => path.join(root, imagePath),
    };
  }
  if (!last) throw new Error(`${file} has no stage`);
  return last;
}

/** Every file under `dir` with its size and modification time, to prove a run wrote nothing there. */
export function snapshot(dir: string): string {
  return execFileSync('find', [dir, '-printf', '%p %s %T@\n'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
    .split('\n')
    .sort()
    .join('\n');
}

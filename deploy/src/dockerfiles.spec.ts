import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEPLOYABLE_APPS, dockerfileOf } from './app-catalog';
import { execForm, parseCopy, parseDockerfile } from './dockerfile';
import { REPO_ROOT } from './paths';

describe.each(DEPLOYABLE_APPS.map((app) => app.name))('%s.Dockerfile', (name) => {
  const stages = () => parseDockerfile(dockerfileOf(name));
  const runtime = () => stages().at(-1)!;
  const instructions = (keyword: string) => runtime().instructions.filter((i) => i.keyword === keyword);

  it('pins every base image by digest or exact version tag', () => {
    for (const stage of stages()) expect(stage.from).toMatch(/@sha256:[0-9a-f]{64}$|:\d+\.\d+\.\d+[-\w.]*$/);
  });

  it('copies only files and folders that exist in the build context', () => {
    const missing: string[] = [];
    for (const stage of stages())
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
        const { from, sources } = parseCopy(copy.args);
        if (from !== undefined) {
          expect(stages().some((s) => s.name === from)).toBe(true);
          continue;
        }
        for (const source of sources) if (!existsSync(path.join(REPO_ROOT, source))) missing.push(source);
      }
    expect(missing).toEqual([]);
  });

  it('copies its own app and builds a pruned production tree with pnpm deploy', () => {
    const build = stages()[0]!;
    const copied = build.instructions
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => parseCopy(i.args).sources);
    expect(copied.some((source) => source === 'apps/' || source === `apps/${name}/`)).toBe(true);
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'apps', name, 'package.json'), 'utf8')) as {
      name: string;
    };
    expect(runs.some((run) => run.includes(`--filter ${pkg.name} deploy --prod`))).toBe(true);
  });

  it('runs as a non-root user with its writable folders as volumes', () => {
    const user = instructions('USER').at(-1)?.args ?? 'root';
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    const volumes = instructions('VOLUME').flatMap((i) => JSON.parse(i.args) as string[]);
    const app = DEPLOYABLE_APPS.find((candidate) => candidate.name === name)!;
    const loadsModels = 'MODEL_CACHE_DIR' in app.envSchema.shape;
    expect(volumes.sort()).toEqual(
      ['/var/lib/strata', ...(loadsModels ? ['/var/cache/strata/models'] : [])].sort(),
    );
  });

  it('starts the file its package declares and checks readiness in a HEALTHCHECK', () => {
    const cmd = execForm(instructions('CMD').at(-1)!.args);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'apps', name, 'package.json'), 'utf8')) as {
      main: string;
    };
    expect(cmd).toEqual(['node', path.normalize(pkg.main)]);
    const healthcheck = instructions('HEALTHCHECK').at(-1)?.args ?? '';
    expect(healthcheck).toContain('/health/ready');
  });
});

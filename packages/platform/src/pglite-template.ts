import { existsSync, renameSync, rmSync } from 'node:fs';
import { PGLITE_TEMPLATE_DIR, PGliteDatabase } from './pglite-database';

/**
 * Makes {@link PGLITE_TEMPLATE_DIR}: runs PGlite's `initdb` once, at build time, so that new embedded
 * databases start from a copy. An existing template is kept unless `force` is set; a clean build
 * (`dist` removed) remakes it.
 */
export async function buildPGliteTemplate(target = PGLITE_TEMPLATE_DIR, force = false): Promise<boolean> {
  if (!force && existsSync(`${target}/PG_VERSION`)) return false;
  const staging = `${target}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const database = await PGliteDatabase.open({ dataDir: staging }, '');
  await database.close();
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return true;
}

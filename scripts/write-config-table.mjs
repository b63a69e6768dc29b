// Rewrites the README's configuration table from the zod schemas (`configurationTable()` of
// @strata/application), between the configuration-table markers, and formats the README with prettier.
// Run it through `pnpm docs:config`, which builds the packages first.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as prettier from 'prettier';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');
const { configurationTable } = require(path.join(root, 'packages/application/dist/index.js'));
const readmePath = path.join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- configuration-table:start -->';
const end = '<!-- configuration-table:end -->';
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} section`);
const updated = `${readme.slice(0, from + start.length)}\n\n${configurationTable()}\n\n${readme.slice(to)}`;
const formatted = await prettier.format(updated, {
  ...(await prettier.resolveConfig(readmePath)),
  filepath: readmePath,
});
writeFileSync(readmePath, formatted);
console.log('README.md: configuration table written');

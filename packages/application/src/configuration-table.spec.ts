import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIGURATION_NOTES, configurationRows } from './configuration-table';
import { generationServiceEnvSchema } from './start-generation-service';

const README = path.resolve(__dirname, '../../../README.md');

/** The README table's rows, cells trimmed, without the header and separator rows. */
function readmeRows(): string[][] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('<!-- configuration-table:start -->');
  const end = text.indexOf('<!-- configuration-table:end -->');
  expect([start >= 0, end > start]).toEqual([true, true]);
  return text
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

describe("the README's configuration table", () => {
  it('explains every variable the service schema reads', () => {
    const missing = Object.keys(generationServiceEnvSchema.shape).filter(
      (name) => !CONFIGURATION_NOTES[name],
    );
    expect(missing).toEqual([]);
  });

  it('matches the schemas, variable by variable (run `pnpm docs:config` to rewrite it)', () => {
    expect(readmeRows()).toEqual(configurationRows());
  });
});

// Prints one closing line for the workspace's jest runs: "tests: N passed, N failed, N skipped".
// `--reset` clears the previous run's counts first. Exits non-zero if any test failed or none ran.
const fs = require('node:fs');
const path = require('node:path');

const RESULTS_DIR = path.resolve(__dirname, '../.strata/test-results');
const kind = process.argv.includes('--integration') ? 'integration' : 'unit';

if (process.argv.includes('--reset')) {
  for (const file of fs.existsSync(RESULTS_DIR) ? fs.readdirSync(RESULTS_DIR) : []) {
    if (file.startsWith(`${kind}--`)) fs.rmSync(path.join(RESULTS_DIR, file));
  }
  process.exit(0);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const files = fs.existsSync(RESULTS_DIR)
  ? fs.readdirSync(RESULTS_DIR).filter((f) => f.startsWith(`${kind}--`))
  : [];
for (const file of files) {
  const counts = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, file), 'utf8'));
  for (const key of Object.keys(totals)) totals[key] += counts[key];
}
const label = kind === 'integration' ? 'integration' : 'tests';
process.stdout.write(
  `\n${label}: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`,
);
process.exit(totals.failed > 0 || totals.passed === 0 ? 1 : 0);

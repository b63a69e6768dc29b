// Jest reporter that records how many tests a package ran, so `scripts/test-summary.js` can print one total
// line for the whole workspace after turbo has run every package's suite.
const fs = require('node:fs');
const path = require('node:path');

const RESULTS_DIR = path.resolve(__dirname, '../.strata/test-results');

class CountReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const name = path.relative(path.resolve(__dirname, '..'), this.rootDir).replaceAll(path.sep, '__');
    const kind = process.env.STRATA_TEST_KIND === 'integration' ? 'integration' : 'unit';
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    fs.writeFileSync(path.join(RESULTS_DIR, `${kind}--${name}.json`), JSON.stringify(counts));
  }
}

module.exports = CountReporter;

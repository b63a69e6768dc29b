// Shared jest settings: unit tests are *.spec.ts beside the code; *.int.spec.ts run only in test:integration.
const integration = process.env.STRATA_TEST_KIND === 'integration';
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: require.resolve('./jest.environment.js'),
  roots: ['<rootDir>/src'],
  testMatch: integration ? ['**/*.int.spec.ts'] : ['**/*.spec.ts'],
  testPathIgnorePatterns: integration ? ['/node_modules/'] : ['/node_modules/', '\\.int\\.spec\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  testTimeout: 60_000,
  reporters: ['default', require.resolve('./scripts/jest-count-reporter.js')],
};

// `npm run test:slow`: what `npm test` leaves out or runs small. The tests of tests/slow/ (the benchmark
// harness, the soak), and the property tests and the fault soak again, at sizes that take minutes.
const base = require('./jest.config');
const { CLUSTER_TESTS, clusterTestsLeftOut } = require('./tests/redis-server');

// Read by tests/boundary-properties.test.ts and tests/fault-soak.test.ts, in the workers jest starts.
process.env.FORKPOOL_PROPERTY_RUNS ??= '1000';
process.env.FORKPOOL_PROPERTY_SEED ??= 'random';
process.env.FORKPOOL_FAULT_SOAK_TASKS ??= '20000';

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/tests'],
  testMatch: ['<rootDir>/tests/slow/**/*.test.ts', '<rootDir>/tests/boundary-properties.test.ts', '<rootDir>/tests/fault-soak.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...(clusterTestsLeftOut() ? CLUSTER_TESTS : [])],
  globalSetup: '<rootDir>/tests/slow-global-setup.js',
};

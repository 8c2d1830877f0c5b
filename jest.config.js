const { CLUSTER_TESTS, clusterTestsLeftOut } = require('./tests/redis-server');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // The benchmark harness and the soak take minutes: `npm run test:slow` runs them (jest.slow.config.js).
  // Without redis-server, the cluster tests are left out (tests/global-setup.js says so).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/tests/slow/', ...(clusterTestsLeftOut() ? CLUSTER_TESTS : [])],
  transform: {
    // allowJs lets ts-jest turn the ESM-only dependencies into CommonJS for jest's module runtime.
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(serialize-error|p-defer|non-error)/)'],
  // Children run the compiled child script: build it once before the suite (and pack it for tests/consumers).
  globalSetup: '<rootDir>/tests/global-setup.js',
  testTimeout: 30000,
  maxWorkers: 2,
};

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // allowJs lets ts-jest turn the ESM-only dependencies into CommonJS for jest's module runtime.
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(serialize-error|p-defer|non-error)/)'],
  // Children run the compiled child script: build it once before the suite.
  globalSetup: '<rootDir>/tests/global-setup.js',
  testTimeout: 30000,
  maxWorkers: 2,
};

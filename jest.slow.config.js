// `npm run test:slow`: the tests of tests/slow/ (the benchmark harness, the soak), which `npm test` leaves out.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/tests/slow'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/tests/build-dist.js',
};

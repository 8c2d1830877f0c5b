/**
 * `npm test` fails a passing run that prints noise (scripts/quiet-test.cjs): a green run is quiet.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { noise } = require('../scripts/quiet-test.cjs') as { noise: (output: string) => string[] };

test("a passing run's summary is not noise", () => {
  expect(noise('PASS tests/apply.test.ts (5.2 s)\n\nTest Suites: 1 passed, 1 total\nTests:       3 passed, 3 total\n')).toEqual([]);
});

test('a stack trace a child printed is noise', () => {
  const output = 'PASS tests/hostile.test.ts\nRangeError: thrown by a timer the task left behind\n    at Timeout._onTimeout (/x/tests/fixtures/hostile-tasks.js:64:19)\n    at listOnTimeout (node:internal/timers:581:17)\n';
  expect(noise(output)).toHaveLength(2);
  expect(noise(output)[0]).toContain('thrown by a timer');
});

test("Node's warnings and jest's deprecations are noise", () => {
  expect(noise("(node:4462) [JEST-01] DeprecationWarning: 'blocks' property was accessed\n")).toHaveLength(1);
  expect(noise('(node:23272) Warning: To load an ES module, set "type": "module"\n')).toHaveLength(1);
});

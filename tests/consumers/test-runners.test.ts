/**
 * forkpool inside a consumer's own test suite, with the runner's default configuration: jest with ts-jest,
 * jest with babel-jest (plain JavaScript), vitest. Each suite runs a pool: an inline task, a task module and
 * a task's error coming back as itself.
 */
import { type RunResult, useConsumerProjects } from './consumer-project';

jest.setTimeout(120_000);

const project = useConsumerProjects();

/** The consumer's test body, the same in every runner: `Pool` is in scope, and the runner's test/expect. */
const SUITE_BODY = `
test('a pool runs tasks and brings their errors back', async () => {
  const pool = new Pool({ processes: 2, module: require.resolve('./tasks.js') });
  try {
    expect(await pool.apply((x) => x + 1, [41])).toBe(42);
    expect(await pool.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
    const error = await pool.apply('fail', ['no']).catch((e) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('no');
  } finally {
    pool.close();
    await pool.join();
  }
});
`;

const TASKS = `exports.square = (x) => x * x;
exports.fail = (message) => { throw new RangeError(message); };
`;

function expectPassed(result: RunResult, summary: RegExp): void {
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.code !== 0 || !summary.test(output)) {
    throw new Error(`The consumer's suite did not pass (exit code ${result.code}):\n${output}`);
  }
}

test('jest with ts-jest, configured as `ts-jest config:init` writes it', async () => {
  // Before the package bundled its ES-module-only dependencies: "Must use import to load ES Module".
  const consumer = project({
    tools: ['jest', 'ts-jest', 'typescript', '@types/jest', '@types/node'],
    files: {
      'jest.config.js': `/** @type {import('ts-jest').JestConfigWithTsJest} **/
module.exports = {
  testEnvironment: "node",
  transform: {
    "^.+\\.tsx?$": ["ts-jest",{}],
  },
};
`,
      'tsconfig.json': JSON.stringify({
        compilerOptions: { target: 'es2022', module: 'commonjs', strict: true, esModuleInterop: true, types: ['node', 'jest'] },
      }),
      'tasks.js': TASKS,
      'pool.spec.ts': `import { Pool } from 'forkpool';\n${SUITE_BODY.replace('(x) => x + 1', '(x: number) => x + 1').replace('(e) => e', '(e: any) => e')}`,
    },
  });
  expectPassed(await consumer.tool('jest', []), /Tests:\s+1 passed, 1 total/);
});

test('jest with its default babel-jest, in plain JavaScript', async () => {
  const consumer = project({
    tools: ['jest'],
    files: { 'tasks.js': TASKS, 'pool.test.js': `const { Pool } = require('forkpool');\n${SUITE_BODY}` },
  });
  expectPassed(await consumer.tool('jest', []), /Tests:\s+1 passed, 1 total/);
});

test('vitest in an ES module project, with no configuration', async () => {
  const consumer = project({
    type: 'module',
    tools: ['vitest'],
    files: {
      'tasks.js': TASKS.replace('exports.square =', 'export const square =').replace('exports.fail =', 'export const fail ='),
      'pool.test.ts': `import { test, expect } from 'vitest';
import { createRequire } from 'node:module';
import { Pool } from 'forkpool';
const require = createRequire(import.meta.url);
${SUITE_BODY}`,
    },
  });
  expectPassed(await consumer.tool('vitest', ['run']), /Tests\s+1 passed/);
});

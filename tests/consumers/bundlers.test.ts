/**
 * The README's bundling recipes, taken from the README itself: a small app bundled with esbuild and with
 * webpack, its dist/ then run from a directory with no node_modules anywhere around it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lastJson, useConsumerProjects, type RunResult } from './consumer-project';

jest.setTimeout(120_000);

const project = useConsumerProjects();

/** The fenced code blocks of the README's section `title`. */
function readmeBlocks(title: string): string[] {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`README has no section "${title}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```\w*\n([\s\S]*?)```/g)].map(([, code]) => code);
}

const BLOCKS = readmeBlocks('Bundling (esbuild, webpack)');
function block(firstLine: RegExp): string {
  const found = BLOCKS.find((code) => firstLine.test(code.split('\n', 1)[0]));
  if (found === undefined) throw new Error(`No README bundling block starts like ${firstLine}`);
  return found;
}

/** The README's app, then what the test has it do with its pool. */
const APP = `${block(/^\/\/ src\/app\.js$/)}
(async () => {
  const squares = await pool.map('square', [1, 2, 3]);
  const inline = await pool.apply((x) => x + 1, [41]);
  const error = await pool.apply('fail', ['boom']).catch((e) => e);
  pool.close();
  await pool.join();
  console.log(JSON.stringify({ squares, inline, error: { name: error.name, message: error.message, code: error.code } }));
})();
`;

const TASKS = `export function square(x) {
  return x * x;
}

export function fail(message) {
  throw Object.assign(new TypeError(message), { code: 'E_TASK' });
}
`;

const EXPECTED = { squares: [1, 4, 9], inline: 42, error: { name: 'TypeError', message: 'boom', code: 'E_TASK' } };

function expectSucceeded(result: RunResult, what: string): void {
  if (result.code !== 0) throw new Error(`${what} failed (exit code ${result.code}):\n${result.stdout}\n${result.stderr}`);
}

test('esbuild: the bundle and the copied child script run with no node_modules', async () => {
  // Children used to look for the child script beside the bundle, and the child script required
  // serialize-error at run time: a task's ordinary error became a BrokenPoolError.
  const consumer = project({ tools: ['esbuild'], files: { 'src/app.js': APP, 'src/tasks.js': TASKS } });
  expectSucceeded(await consumer.sh(block(/^esbuild /)), 'The README esbuild commands');
  expect(lastJson(await consumer.nodeAlone('dist', ['app.js']))).toEqual(EXPECTED);
});

test('esbuild: without the copy, new Pool() says which child script it did not find', async () => {
  const consumer = project({ tools: ['esbuild'], files: { 'src/app.js': APP, 'src/tasks.js': TASKS } });
  const [bundle] = block(/^esbuild /).split('\n');
  expectSucceeded(await consumer.sh(bundle), 'esbuild');
  const result = await consumer.nodeAlone('dist', ['-e', "try { require('./app.js') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }"]);
  const { code, message } = lastJson<{ code: string; message: string }>(result);
  expect(code).toBe('ERR_POOL_NO_CHILD_SCRIPT');
  expect(message).toMatch(/forkpool-child\.cjs does not exist/);
});

test('webpack with copy-webpack-plugin: the bundle and the copied child script run with no node_modules', async () => {
  const consumer = project({
    tools: ['webpack', 'webpack-cli', 'copy-webpack-plugin'],
    files: { 'webpack.config.js': block(/^\/\/ webpack\.config\.js$/), 'src/app.js': APP, 'src/tasks.js': TASKS },
  });
  expectSucceeded(await consumer.tool('webpack', []), 'webpack');
  expect(lastJson(await consumer.nodeAlone('dist', ['app.js']))).toEqual(EXPECTED);
});

/**
 * The package as `npm install` leaves it in a consumer's project: nothing installed beside it, the files it
 * ships, its manifest, and plain `node` programs that use it with require(esm) off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { INSTALLED } from './consumer-cache';
import { lastJson, useConsumerProjects } from './consumer-project';

jest.setTimeout(60_000);

const project = useConsumerProjects();
const PACKAGE = path.join(INSTALLED, 'forkpool');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => fs.statSync(path.join(dir, file)).isFile());
}

test('installing forkpool installs nothing else', () => {
  // It used to bring serialize-error, p-defer, non-error, type-fest and tagged-tag (1.2 MB of types).
  expect(fs.readdirSync(INSTALLED).filter((name) => !name.startsWith('.'))).toEqual(['forkpool']);
});

test('the package ships its build, its license texts and its changelog, and no source maps', () => {
  const shipped = files(PACKAGE).sort();
  expect(shipped).toEqual(
    expect.arrayContaining([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'dist/THIRD-PARTY-LICENSES.txt',
      'dist/child.cjs',
      'dist/index.cjs',
      'dist/index.mjs',
      'dist/types/index.d.ts',
      'package.json',
    ]),
  );
  expect(shipped.filter((file) => file.endsWith('.map'))).toEqual([]);
  // The build only: no sources, tests, benchmarks or examples.
  expect(shipped.filter((file) => !/^(dist\/|[A-Z-]+(\.md|\.txt)?$|package\.json$)/.test(file))).toEqual([]);
  const notices = fs.readFileSync(path.join(PACKAGE, 'dist', 'THIRD-PARTY-LICENSES.txt'), 'utf8');
  for (const bundled of ['serialize-error', 'p-defer', 'non-error']) expect(notices).toContain(bundled);
});

test('its manifest: no dependencies, no install-time scripts, and where it comes from', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));
  expect(manifest.dependencies).toBeUndefined();
  // A git install would run prepare; npm warns consumers about install scripts.
  for (const script of ['prepare', 'preinstall', 'install', 'postinstall']) expect(manifest.scripts?.[script]).toBeUndefined();
  expect(manifest).toMatchObject({ license: 'MIT', type: 'commonjs' });
  for (const field of ['repository', 'homepage', 'bugs', 'engines']) expect(manifest[field]).toBeDefined();
  expect(manifest.exports['./child']).toBe('./dist/child.cjs');
  // forkpool/cluster's dependencies are the application's to install, when it uses the cluster.
  expect(manifest.peerDependencies).toEqual({ bullmq: expect.stringMatching(/^\^6/), ioredis: expect.any(String) });
  expect(manifest.peerDependenciesMeta).toEqual({ bullmq: { optional: true }, ioredis: { optional: true } });
  expect(manifest.bin).toEqual({ forkpool: 'dist/forkpool.cjs' });
});

describe('forkpool/cluster without bullmq and ioredis installed', () => {
  const missing = { code: 'ERR_POOL_CLUSTER_DEPENDENCY', message: expect.stringMatching(/needs the packages bullmq \(6\.x\) and ioredis.*npm install bullmq@6 ioredis/) };

  test('require and import fail, saying what to install; forkpool itself works', async () => {
    const consumer = project({
      type: 'module',
      files: {
        'app.js': `import { createRequire } from 'node:module';
import { Pool } from 'forkpool';
const failure = (error) => ({ code: error.code, message: error.message });
const required = (() => { try { createRequire(import.meta.url)('forkpool/cluster'); } catch (error) { return failure(error); } })();
const imported = await import('forkpool/cluster').then(() => undefined, failure);
console.log(JSON.stringify({ required, imported, pool: typeof Pool }));`,
      },
    });
    expect(lastJson(await consumer.node(['app.js']))).toEqual({ required: missing, imported: missing, pool: 'function' });
  });

  test('the forkpool command prints its help, and its worker says what to install', async () => {
    const consumer = project({ files: {} });
    // The command's file in the project's copy of the package (node_modules/.bin links to the cache's copy,
    // inside this repository, where bullmq is installed).
    const bin = 'node_modules/forkpool/dist/forkpool.cjs';
    const help = await consumer.node([bin, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: forkpool worker --redis <url>/);
    const worker = await consumer.node([bin, 'worker', '--redis', 'redis://127.0.0.1:1']);
    expect(worker.code).toBe(1);
    expect(worker.stderr).toMatch(/npm install bullmq@6 ioredis/);
  });
});

// Node 20.19+, 21 and 22.0 to 22.11 cannot require() an ES module (20.19 and 22.12+ when told not to).
describe('a plain node program with require(esm) off', () => {
  const flags = ['--no-experimental-require-module'];
  const body = `
    const pool = new Pool({ processes: 1 });
    const value = await pool.apply((x) => x * 2, [21]);
    const error = await pool.apply(() => { throw new TypeError('typed'); }).catch((e) => e);
    pool.close();
    await pool.join();
    console.log(JSON.stringify({ value, typeError: error instanceof TypeError, message: error.message }));`;

  test('CommonJS: require("forkpool")', async () => {
    const consumer = project({ files: { 'app.js': `const { Pool } = require('forkpool');\n(async () => {${body}\n})();` } });
    expect(lastJson(await consumer.node([...flags, 'app.js']))).toEqual({ value: 42, typeError: true, message: 'typed' });
  });

  test('an ES module: import { Pool } from "forkpool"', async () => {
    const consumer = project({ type: 'module', files: { 'app.js': `import { Pool } from 'forkpool';\n${body}` } });
    expect(lastJson(await consumer.node([...flags, 'app.js']))).toEqual({ value: 42, typeError: true, message: 'typed' });
  });
});

test('SharedMemory shares pages through the binary the package ships: nothing was compiled at install', async () => {
  // The install ran no script (the manifest test above): the binary in dist/native is the one that loads.
  const consumer = project({
    files: {
      'app.js': `const { Pool, SharedMemory } = require('forkpool');
(async () => {
  const block = SharedMemory.create(4096);
  const pool = new Pool({ processes: 1 });
  await pool.apply((b) => { new Uint8Array(b.buffer)[7] = 42; }, [block]);
  pool.close();
  await pool.join();
  console.log(JSON.stringify({ shared: block.shared, written: new Uint8Array(block.buffer)[7] }));
  block.close();
})();`,
    },
  });
  expect(lastJson(await consumer.node(['app.js']))).toEqual({ shared: true, written: 42 });
  expect(files(path.join(PACKAGE, 'dist', 'native'))).toEqual(['forkpool-linux-x64.node']);
});

test('an app that imports forkpool and also requires it through a CommonJS dependency loads one copy', async () => {
  const consumer = project({
    type: 'module',
    files: {
      // A CommonJS dependency of the app that uses forkpool itself.
      'node_modules/cjs-dependency/package.json': JSON.stringify({ name: 'cjs-dependency', version: '1.0.0', main: 'index.js' }),
      'node_modules/cjs-dependency/index.js': `const forkpool = require('forkpool');
exports.forkpool = forkpool;`,
      'app.js': `import * as forkpool from 'forkpool';
import { emit } from 'forkpool/task';
import dependency from 'cjs-dependency';
import { createRequire } from 'node:module';
const required = createRequire(import.meta.url)('forkpool');
const pool = new dependency.forkpool.Pool({ processes: 1 });
pool.terminate();
await pool.join();
const stateError = await pool.apply(() => 1).catch((error) => error);
console.log(JSON.stringify({
  samePool: forkpool.Pool === required.Pool && forkpool.Pool === dependency.forkpool.Pool,
  sameErrors: forkpool.PoolStateError === required.PoolStateError,
  instanceOfAcross: pool instanceof forkpool.Pool && stateError instanceof forkpool.PoolStateError,
  sameTask: emit === createRequire(import.meta.url)('forkpool/task').emit,
  names: Object.keys(forkpool).sort().join() === Object.keys(required).filter((name) => name !== 'default').sort().join(),
}));`,
    },
  });
  expect(lastJson(await consumer.node(['app.js']))).toEqual({ samePool: true, sameErrors: true, instanceOfAcross: true, sameTask: true, names: true });
});

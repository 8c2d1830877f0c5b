/**
 * The package as a user installs it: `require('forkpool')` and `import('forkpool')` through the exports map
 * (which points at the build in dist/), also with require(esm) off, `forkpool/child`, and the type
 * declarations that come with it. (tests/consumers/ installs the packed tarball into real projects.)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..');

/** Everything API.md lists as a value export. */
const VALUE_EXPORTS = [
  'ALL_COMPLETED',
  'AsyncResult',
  'BrokenPoolError',
  'CancelledError',
  'FIRST_COMPLETED',
  'FIRST_EXCEPTION',
  'Future',
  'Pool',
  'PoolStateError',
  'ProcessPoolExecutor',
  'SharedMemory',
  'ThreadPool',
  'ThreadPoolExecutor',
  'TimeoutError',
  'asCompleted',
  'transfer',
  'wait',
];

let project: string;

beforeAll(() => {
  // A project with forkpool installed, as npm would link a local dependency.
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-package-'));
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(project, 'node_modules', 'forkpool'), 'dir');
});

afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

/** Run a script of the project with Node options `flags`; its stdout, parsed as JSON. */
function run(name: string, source: string, flags: string[] = []): Record<string, unknown> {
  fs.writeFileSync(path.join(project, name), source);
  const stdout = execFileSync(process.execPath, [...flags, name], { cwd: project, encoding: 'utf8', timeout: 20000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** Script body shared by both module systems: run one task, and list what the package exports. */
const USE_POOL = `
  const pool = new forkpool.Pool({ processes: 1 });
  const value = await pool.apply((x) => x + 1, [41]);
  pool.close();
  await pool.join();
  console.log(JSON.stringify({ value, exports: Object.keys(forkpool).sort(), stateError: new forkpool.PoolStateError('x').name }));
`;

test("require('forkpool') loads the package and runs a pool", () => {
  const result = run('use-require.cjs', `(async () => { const forkpool = require('forkpool'); ${USE_POOL} })();`);
  expect(result.value).toBe(42);
  expect(result.exports).toEqual(expect.arrayContaining(VALUE_EXPORTS));
  expect(result.stateError).toBe('PoolStateError');
});

test("import('forkpool') from CommonJS loads the package", () => {
  const result = run('import-from-cjs.cjs', `(async () => { const forkpool = await import('forkpool'); ${USE_POOL} })();`);
  expect(result.value).toBe(42);
  expect(result.exports).toEqual(expect.arrayContaining(VALUE_EXPORTS));
});

test("an ES module imports forkpool's named exports statically and dynamically", () => {
  // A static named import fails at link time if Node cannot see the name among the exports.
  const result = run(
    'use-import.mjs',
    `import { ${VALUE_EXPORTS.join(', ')} } from 'forkpool';
    const forkpool = await import('forkpool');
    if (forkpool.Pool !== Pool) throw new Error('static and dynamic imports differ');
    ${USE_POOL}`,
  );
  expect(result.value).toBe(42);
  expect(result.exports).toEqual(expect.arrayContaining(VALUE_EXPORTS));
});

test('import gives the ES module build and require the CommonJS one', () => {
  const result = run(
    'resolve.mjs',
    `import { createRequire } from 'node:module';
    console.log(JSON.stringify({ imported: import.meta.resolve('forkpool'), required: createRequire(import.meta.url).resolve('forkpool') }));`,
  );
  expect(result.imported).toMatch(/\/dist\/index\.mjs$/);
  expect(result.required).toMatch(/\/dist\/index\.cjs$/);
});

// Node 20.19+, 21 and 22.0 to 22.11 cannot require() an ES module, and the package once required its
// ES-module-only dependencies (p-defer, serialize-error): "Must use import to load ES Module".
describe('with require(esm) off', () => {
  const flags = ['--no-experimental-require-module'];

  test("require('forkpool') runs a pool", () => {
    const result = run('require-esm-off.cjs', `(async () => { const forkpool = require('forkpool'); ${USE_POOL} })();`, flags);
    expect(result.value).toBe(42);
  });

  test("import('forkpool') runs a pool, and a task's error comes back as itself", () => {
    const result = run(
      'require-esm-off.mjs',
      `import * as forkpool from 'forkpool';
      const pool = new forkpool.Pool({ processes: 1 });
      const error = await pool.apply(() => { throw new RangeError('no'); }).catch((e) => e);
      ${USE_POOL.replace('const pool = new forkpool.Pool({ processes: 1 });', '')}`.replace(
        'JSON.stringify({ value,',
        "JSON.stringify({ value, errorName: error.name, isRangeError: error instanceof RangeError,",
      ),
      flags,
    );
    expect(result.value).toBe(42);
    expect(result).toMatchObject({ errorName: 'RangeError', isRangeError: true });
  });
});

test("require.resolve('forkpool/thread') is the script a ThreadPool's threads run", () => {
  const result = run(
    'thread-script.cjs',
    `const { ThreadPool } = require('forkpool');
    const pool = new ThreadPool({ processes: 1 });
    pool.apply(() => require('node:worker_threads').isMainThread).then(async (main) => {
      pool.close();
      await pool.join();
      console.log(JSON.stringify({ resolved: require.resolve('forkpool/thread'), main }));
    });`,
  );
  expect(result).toEqual({ resolved: path.join(ROOT, 'dist', 'thread.cjs'), main: false });
});

test("neither import nor require of forkpool loads bullmq or ioredis, forkpool/cluster's optional peers", () => {
  const loaded = `Object.keys(require.cache).filter((file) => /node_modules\\/(bullmq|ioredis)\\//.test(file)).length`;
  const required = run('no-peers.cjs', `const forkpool = require('forkpool'); ${USE_POOL.replace('{ value,', `{ peers: ${loaded}, value,`)}`.replace(/^/, '(async () => {') + '})();');
  expect(required).toMatchObject({ value: 42, peers: 0 });
  const imported = run(
    'no-peers.mjs',
    `import * as forkpool from 'forkpool';
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    ${USE_POOL.replace('{ value,', `{ peers: ${loaded}, value,`)}`,
  );
  expect(imported).toMatchObject({ value: 42, peers: 0 });
});

test('forkpool/cluster, imported or required, is one copy whose classes are those of forkpool', () => {
  const result = run(
    'cluster.mjs',
    `import * as cluster from 'forkpool/cluster';
    import * as forkpool from 'forkpool';
    import { createRequire } from 'node:module';
    const required = createRequire(import.meta.url)('forkpool/cluster');
    console.log(JSON.stringify({
      names: Object.keys(cluster).sort(),
      same: cluster.ClusterPool === required.ClusterPool && cluster.HostLostError === required.HostLostError,
      broken: new cluster.HostLostError('x', { host: 'h' }, 0) instanceof forkpool.BrokenPoolError,
      backend: new cluster.BackendError('x') instanceof forkpool.BrokenPoolError,
      pool: cluster.ClusterPool.prototype instanceof forkpool.BasePool,
      executor: cluster.ClusterExecutor.prototype instanceof forkpool.BaseExecutor,
    }));`,
  );
  expect(result).toEqual({
    names: ['BackendError', 'ClusterExecutor', 'ClusterPool', 'Host', 'HostLostError', 'runHost'],
    same: true,
    broken: true,
    backend: true,
    pool: true,
    executor: true,
  });
});

test("require.resolve('forkpool/child') is the child script the pools run", () => {
  const result = run(
    'child-script.cjs',
    `const { Pool } = require('forkpool');
    const pool = new Pool({ processes: 1 });
    pool.apply(() => process.argv[1]).then(async (ran) => {
      pool.close();
      await pool.join();
      console.log(JSON.stringify({ resolved: require.resolve('forkpool/child'), ran }));
    });`,
  );
  // require.resolve() follows the link to the repository.
  expect(result.resolved).toBe(path.join(ROOT, 'dist', 'child.cjs'));
  expect(fs.realpathSync(result.ran as string)).toBe(result.resolved);
});

test("require('forkpool/package.json') is allowed by the exports map", () => {
  const result = run('manifest.cjs', `console.log(JSON.stringify(require('forkpool/package.json')));`);
  expect(result.name).toBe('forkpool');
});

test('the package ships type declarations with the public types, and nothing internal', () => {
  const types = path.join(ROOT, 'dist', 'types');
  const text = fs.readFileSync(path.join(types, 'index.d.ts'), 'utf8');
  for (const name of ['Pool', 'AsyncResult', 'PoolOptions', 'TaskRef', 'TaskOptions', 'ChunkOptions', 'BrokenPoolError']) {
    expect(text).toMatch(new RegExp(`\\b${name}\\b`));
  }
  const all = fs
    .readdirSync(types, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.d.ts'))
    .map((file) => fs.readFileSync(path.join(types, file), 'utf8'))
    .join('\n');
  // The engine and what it is made of, and the constructors only the pool calls (@internal).
  for (const internal of ['Engine', 'ChildHandle', 'ProgressPage', 'TaskQueue', 'class Task', 'TaskSpec', 'MESSAGE_TAG', 'resolvePoolOptions']) {
    expect(all).not.toContain(internal);
  }
  expect(all).not.toMatch(/constructor\(engine/i);
  // Nothing but the declarations themselves and Node's types. (The doc comments' examples import forkpool.)
  const code = all.replace(/\/\*[\s\S]*?\*\//g, '');
  expect([...code.matchAll(/from '([^']+)'/g)].map(([, from]) => from).filter((from) => !from.startsWith('.') && !from.startsWith('node:'))).toEqual([]);
});

test("a TypeScript user's code type-checks against the declarations found through the exports map", () => {
  const consumer = (extension: string) => {
    const file = path.join(project, `consumer.${extension}`);
    fs.writeFileSync(
      file,
      `import { Pool, PoolStateError, TimeoutError, type PoolOptions, type TaskRef } from 'forkpool';
      const options: PoolOptions = { processes: 2, maxTasksPerChild: 10, serialization: 'json' };
      const task: TaskRef = (x: number) => x * 2;
      export async function main(): Promise<number> {
        await using pool = new Pool(options);
        const doubled: number = await pool.apply((x: number) => x * 2, [21]);
        const all: number[] = await pool.map((x: number) => x + 1, [1, 2]);
        const error: Error = new PoolStateError('misuse');
        void [task, all, error, TimeoutError];
        // @ts-expect-error the declarations keep the inline function's argument types
        await pool.apply((x: number) => x, ['not a number']);
        return doubled;
      }
      ${extension === 'mts' ? "// @ts-expect-error the ES module build has named exports only, as Node sees it\nimport forkpool from 'forkpool';\nvoid forkpool;" : ''}
      `,
    );
    return file;
  };
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    strict: true,
    noEmit: true,
    // The package's own declarations are checked too: none may point at something it does not ship.
    skipLibCheck: false,
  };
  // A .cts file resolves through the "require" condition, an .mts file through "import" (whose
  // declarations are an ES module: no default export).
  const program = ts.createProgram([consumer('cts'), consumer('mts')], options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
  // The types came from the package's build, not from its sources.
  const built = [path.join(ROOT, 'dist', 'types', 'index.d.ts'), path.join(project, 'node_modules', 'forkpool', 'dist', 'types', 'index.d.ts')];
  expect(program.getSourceFiles().some((file) => built.includes(path.resolve(file.fileName)))).toBe(true);
}, 60000);

/**
 * The package as a user installs it: `require('forkpool')` and `import('forkpool')` through the exports map
 * (which points at the build in dist/), and the type declarations that come with it.
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
  'TimeoutError',
  'asCompleted',
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

/** Run a script of the project; its stdout, parsed as JSON. */
function run(name: string, source: string): Record<string, unknown> {
  fs.writeFileSync(path.join(project, name), source);
  const stdout = execFileSync(process.execPath, [name], { cwd: project, encoding: 'utf8', timeout: 20000 });
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

test("require('forkpool/package.json') is allowed by the exports map", () => {
  const result = run('manifest.cjs', `console.log(JSON.stringify(require('forkpool/package.json')));`);
  expect(result.name).toBe('forkpool');
});

test('the package ships type declarations with the public types', () => {
  const declarations = path.join(ROOT, 'dist', 'src', 'index.d.ts');
  expect(fs.existsSync(declarations)).toBe(true);
  const text = fs.readFileSync(declarations, 'utf8');
  for (const name of ['Pool', 'AsyncResult', 'PoolOptions', 'TaskRef', 'TaskOptions', 'ChunkOptions', 'BrokenPoolError']) {
    expect(text).toMatch(new RegExp(`\\b${name}\\b`));
  }
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
    skipLibCheck: true,
  };
  // A .cts file resolves through the "require" condition, an .mts file through "import".
  const program = ts.createProgram([consumer('cts'), consumer('mts')], options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
  // The types came from the package's build, not from its sources.
  const built = [path.join(ROOT, 'dist', 'src', 'index.d.ts'), path.join(project, 'node_modules', 'forkpool', 'dist', 'src', 'index.d.ts')];
  expect(program.getSourceFiles().some((file) => built.includes(path.resolve(file.fileName)))).toBe(true);
}, 60000);

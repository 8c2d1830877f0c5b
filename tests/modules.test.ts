/**
 * Where task functions come from: ESM and CommonJS modules of every extension, TypeScript modules, and
 * self-contained functions shipped as source; and how a task that cannot be found fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fixture, usePools, useScratchDir, waitFor } from './helpers';

const makePool = usePools({ processes: 1 });
const scratch = useScratchDir('forkpool-modules-');

/** Pids that loaded a load-marker module, one line each. */
function loads(marker: string): number[] {
  return fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

describe('task modules', () => {
  test('an ES module (.mjs) is loaded as ESM', async () => {
    const pool = makePool({ module: fixture('esm-tasks.mjs') });
    await expect(pool.apply('cube', [3])).resolves.toBe(27);
    // import.meta exists only in a module loaded as ESM.
    await expect(pool.apply('moduleUrl')).resolves.toBe(pathToFileURL(fixture('esm-tasks.mjs')).href);
  });

  test('an ES module with top-level await is loaded', async () => {
    const pool = makePool({ module: fixture('esm-tla.mjs') });
    await expect(pool.apply('answer', [2])).resolves.toBe(42);
  });

  test('a CommonJS module (.cjs) is loaded', async () => {
    const pool = makePool({ module: fixture('cjs-tasks.cjs') });
    await expect(pool.apply('twice', [8])).resolves.toBe(16);
    await expect(pool.apply('fileName')).resolves.toBe(fixture('cjs-tasks.cjs'));
  });

  test('a CommonJS .js module is loaded', async () => {
    const pool = makePool({ module: fixture('tasks.js') });
    await expect(pool.apply('square', [11])).resolves.toBe(121);
  });

  test('an ESM .js module (package type "module") is loaded', async () => {
    const pool = makePool({ module: fixture('esm-package/tasks.js') });
    await expect(pool.apply('negate', [5])).resolves.toBe(-5);
    await expect(pool.apply('isEsm')).resolves.toBe(true);
  });

  // Nothing here loads TypeScript but the ts-node this repository installs, which the child registers.
  test('a TypeScript module (.ts) is loaded', async () => {
    const pool = makePool({ module: fixture('ts-tasks.ts') });
    await expect(pool.apply('norm1', [{ x: 3, y: -4 }])).resolves.toBe(7);
    await expect(pool.apply({ module: fixture('ts-tasks.ts') }, ['label'])).resolves.toBe('typed label');
  });

  test('a TypeScript ES module (.mts) is loaded as ESM', async () => {
    const pool = makePool({ module: fixture('ts-esm-tasks.mts') });
    await expect(pool.apply('half', [9])).resolves.toBe(4.5);
    await expect(pool.apply('moduleUrl')).resolves.toBe(pathToFileURL(fixture('ts-esm-tasks.mts')).href);
  });

  test('a TypeScript CommonJS module (.cts) is loaded as CommonJS', async () => {
    const pool = makePool({ module: fixture('ts-cjs-tasks.cts') });
    await expect(pool.apply('double', [4])).resolves.toBe(8);
    await expect(pool.apply('fileName')).resolves.toBe(fixture('ts-cjs-tasks.cts'));
  });

  test('`module.exports = fn` is the default export', async () => {
    const pool = makePool();
    await expect(pool.apply({ module: fixture('default-export.js') }, ['hi'])).resolves.toBe('HI!');
    await expect(pool.apply({ module: fixture('default-export.js'), name: 'default' }, ['yo'])).resolves.toBe('YO!');
  });

  test('a file: URL names a module too, as a string or as a URL', async () => {
    const pool = makePool({ module: pathToFileURL(fixture('cjs-tasks.cjs')).href });
    await expect(pool.apply('twice', [5])).resolves.toBe(10);
    const byUrl = makePool({ module: pathToFileURL(fixture('cjs-tasks.cjs')) });
    await expect(byUrl.apply('twice', [6])).resolves.toBe(12);
    await expect(byUrl.apply({ module: pathToFileURL(fixture('esm-tasks.mjs')), name: 'moduleUrl' })).resolves.toBe(
      pathToFileURL(fixture('esm-tasks.mjs')).href,
    );
  });

  test('a URL that is not a file is refused, saying so', async () => {
    expect(() => makePool({ module: new URL('https://example.com/tasks.js') })).toThrow(/https:\/\/example\.com\/tasks\.js is not a file: URL/);
    await expect(makePool().apply({ module: new URL('data:text/javascript,x'), name: 'x' })).rejects.toThrow(TypeError);
  });
});

describe('the default module', () => {
  test('is loaded by every child as it starts, before any task of it runs', async () => {
    const marker = path.join(scratch(), 'loads');
    const pool = makePool({ processes: 2, module: fixture('load-marker.js'), env: { ...process.env, FORKPOOL_LOAD_MARKER: marker } });
    await waitFor(() => loads(marker).length === 2, 10_000, 'both children to load the module');
    expect(loads(marker).sort()).toEqual([...pool.pids].sort());
    // Its tasks then find it loaded: no child loads it twice.
    await pool.map('pid', [1, 2, 3, 4], { chunksize: 1 });
    expect(loads(marker)).toHaveLength(2);
  });

  test('that fails to load fails the tasks that use it, each trying afresh; other tasks run', async () => {
    const marker = path.join(scratch(), 'loads');
    const pool = makePool({ module: fixture('fails-to-load.js'), env: { ...process.env, FORKPOOL_LOAD_MARKER: marker } });
    await expect(pool.apply(() => 'inline tasks run')).resolves.toBe('inline tasks run');
    // The failed early load is reported by the first task that needs the module, not run again for it.
    await expect(pool.apply('anything')).rejects.toThrow('fails-to-load.js cannot be loaded');
    expect(loads(marker)).toHaveLength(1);
    // A later task loads it again, as it would have without the early load (the file may have been fixed).
    await expect(pool.apply('anything')).rejects.toThrow(SyntaxError);
    expect(loads(marker)).toHaveLength(2);
    expect(pool.broken).toBe(false);
  });
});

describe('inline functions', () => {
  test('an arrow function runs in the child', async () => {
    const pool = makePool();
    await expect(pool.apply((a: number, b: number) => a * b, [6, 7])).resolves.toBe(42);
    await expect(pool.apply(() => process.pid)).resolves.not.toBe(process.pid);
  });

  test('a function expression runs in the child', async () => {
    const pool = makePool();
    const fn = function (text: string) {
      return text.split('').reverse().join('');
    };
    await expect(pool.apply(fn, ['abc'])).resolves.toBe('cba');
    await expect(pool.apply(function named(x: number) { return x - 1; }, [1])).resolves.toBe(0);
  });

  test('an async function is awaited in the child', async () => {
    const pool = makePool();
    const fn = async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return x + 0.5;
    };
    await expect(pool.apply(fn, [1])).resolves.toBe(1.5);
  });

  test('a method written in shorthand (source `name(x) { ... }`) runs in the child', async () => {
    const pool = makePool();
    const tasks = {
      triple(x: number) {
        return x * 3;
      },
      async later(x: number) {
        return x + 100;
      },
    };
    await expect(pool.apply(tasks.triple, [5])).resolves.toBe(15);
    await expect(pool.apply(tasks.later, [1])).resolves.toBe(101);
  });

  test('an inline function may require() modules inside its body', async () => {
    const pool = makePool();
    const fn = () => require('node:os').EOL;
    await expect(pool.apply(fn)).resolves.toBe(require('node:os').EOL);
  });

  test('using an outer variable fails with an error naming that variable, and the pool goes on', async () => {
    const pool = makePool();
    const outerFactor = 3;
    const error = await pool.apply((x: number) => x * outerFactor, [2]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReferenceError);
    expect((error as Error).message).toMatch(/outerFactor/);
    // Every error the pool raises has a code to branch on.
    expect((error as { code?: string }).code).toBe('ERR_POOL_OUTER_VARIABLE');
    await expect(pool.apply((x: number) => x * 3, [2])).resolves.toBe(6);
  });

  test('a native or bound function is refused, naming it', async () => {
    const pool = makePool();
    const error = await pool.apply(Math.max, [1, 2]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/max/);
    expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('tasks that cannot be found', () => {
  test('an unknown export name fails that task naming it, and the pool goes on', async () => {
    const pool = makePool({ module: fixture('tasks.js') });
    const error = await pool.apply('noSuchTask').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/noSuchTask/);
    await expect(pool.apply('square', [4])).resolves.toBe(16);
    expect(pool.broken).toBe(false);
  });

  test('an unknown name in { module, name } fails the same way', async () => {
    const pool = makePool();
    const error = await pool.apply({ module: fixture('cjs-tasks.cjs'), name: 'thrice' }, [1]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/thrice/);
    await expect(pool.apply({ module: fixture('cjs-tasks.cjs'), name: 'twice' }, [1])).resolves.toBe(2);
  });

  test('a module without a default export fails a { module } ref, naming `default`', async () => {
    const pool = makePool();
    const error = await pool.apply({ module: fixture('cjs-tasks.cjs') }, [1]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/default/);
  });

  test('a missing module fails that task naming the path, and the pool goes on', async () => {
    const pool = makePool();
    const missing = fixture('does-not-exist.js');
    const error = await pool.apply({ module: missing, name: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(missing);
    await expect(pool.apply(() => 'still fine')).resolves.toBe('still fine');
    expect(pool.broken).toBe(false);
  });
});

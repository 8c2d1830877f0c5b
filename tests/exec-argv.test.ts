import { childEnv, inheritedExecArgv } from '../src/options';

describe('the Node options children inherit', () => {
  test('keep the options that say how to run', () => {
    expect(inheritedExecArgv(['--max-old-space-size=64', '--enable-source-maps', '--no-warnings'])).toEqual([
      '--max-old-space-size=64',
      '--enable-source-maps',
      '--no-warnings',
    ]);
  });

  test('drop the options that choose what to run, with their values', () => {
    // A child given `-e CODE` would run CODE (which makes a pool...) instead of the child script.
    expect(inheritedExecArgv(['-e', 'makePool()', '--no-warnings'])).toEqual(['--no-warnings']);
    expect(inheritedExecArgv(['--eval', 'x', '-p', 'y', '--print=z', '-i'])).toEqual([]);
    expect(inheritedExecArgv(['--test', '--test-reporter=spec', '--watch', '--watch-path=src'])).toEqual([]);
  });

  test("drop the ts-node binary's script and its flags, which it appends after Node's own", () => {
    // `node --inspect=0 node_modules/.bin/ts-node --transpile-only -P tsconfig.json main.ts`: node would reject
    // `--transpile-only` ("bad option") and every child would die at start.
    const binary = '/repo/node_modules/ts-node/dist/bin.js';
    expect(inheritedExecArgv(['--inspect=0', binary, '--transpile-only', '-P', 'tsconfig.json'])).toEqual(['--inspect=0']);
    expect(inheritedExecArgv(['/repo/node_modules/ts-node/dist/bin-transpile.js'])).toEqual([]);
  });

  test('keep the TypeScript hooks given as Node options, with their values', () => {
    const tsxBinary = ['--require', '/repo/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///repo/node_modules/tsx/dist/loader.mjs'];
    expect(inheritedExecArgv(tsxBinary)).toEqual(tsxBinary);
    expect(inheritedExecArgv(['-r', 'ts-node/register', '--loader', 'ts-node/esm'])).toEqual(['-r', 'ts-node/register', '--loader', 'ts-node/esm']);
    expect(inheritedExecArgv(['--import', 'tsx', '--experimental-strip-types'])).toEqual(['--import', 'tsx', '--experimental-strip-types']);
  });
});

describe('the environment children get', () => {
  test("is the pool's `env`, or the parent's at each fork, as given", () => {
    expect(childEnv(undefined, ['--import', 'tsx'])).toBeUndefined();
    const env = { PATH: '/bin' };
    expect(childEnv(env, [])).toBe(env);
  });

  test('names the ts-node the parent runs under, when it runs under its binary', () => {
    const binary = ['/repo/node_modules/ts-node/dist/bin.js', '--transpile-only'];
    expect(childEnv({ PATH: '/bin' }, binary)).toEqual({ PATH: '/bin', FORKPOOL_TS_NODE: '/repo/node_modules/ts-node' });
    expect(childEnv(undefined, binary)).toEqual({ ...process.env, FORKPOOL_TS_NODE: '/repo/node_modules/ts-node' });
  });
});

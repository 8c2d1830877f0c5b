import { inheritedExecArgv } from '../src/options';

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

  test("drop the ts-node binary's own entries", () => {
    expect(inheritedExecArgv(['/repo/node_modules/ts-node/dist/bin.js', '--inspect=0'])).toEqual(['--inspect=0']);
  });
});

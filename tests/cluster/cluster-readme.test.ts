/**
 * The README's ClusterPool block, which the README test cannot run (it needs Redis and a host): here it runs
 * as a user would run it, compiled beside the README's own task module, against a Redis of the test's and a
 * `forkpool worker` host on the queue it names.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { useScratchDir } from '../helpers';
import { useCluster } from './cluster-helpers';

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);
const cluster = useCluster();
const scratch = useScratchDir('forkpool-cluster-readme-');

/** The README's code block whose first line is `// <file>`. */
function block(file: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const match = new RegExp(`\`\`\`ts\\n(// ${file.replace('.', '\\.')}\\n[\\s\\S]*?)\`\`\``).exec(readme);
  if (match === null) throw new Error(`README.md has no block named ${file}`);
  return match[1];
}

function compile(source: string): string {
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
}

test("the README's ClusterPool block runs against Redis and a host of the README's task module", async () => {
  const dir = scratch();
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'forkpool'), 'dir');
  fs.writeFileSync(path.join(dir, 'tasks.js'), compile(block('tasks.ts')));
  const render = block('render.ts');
  expect(render).toContain("connection: 'redis://127.0.0.1:6379', queue: 'render'");
  fs.writeFileSync(path.join(dir, 'render.js'), compile(render.replace('redis://127.0.0.1:6379', cluster.redis.url)));
  await cluster.host('render', { module: path.join(dir, 'tasks.js') });
  const { stdout } = await run(process.execPath, ['render.js'], { cwd: dir });
  expect(stdout).toBe('832040\n75025\n121393\n196418\n1\n');
}, 60_000);

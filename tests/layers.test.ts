/**
 * The layers (STYLE.md): what runs inside a worker (workers/) and what both sides share (src/shared/) load
 * nothing of the parent's side at run time, which keeps a worker's start-up small and its bundle apart.
 * Type-only imports are erased and may reach anywhere.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** What a worker-side or shared file may load at run time, besides Node's own modules and packages. */
const ALLOWED = [/^workers\//, /^src\/shared\//, /^src\/errors\.ts$/, /^src\/task-ref\.ts$/];

function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.posix.join(dir, file));
}

/** The files a source loads at run time: its value imports and its require()s of relative paths. */
function runtimeImports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specifiers = [
    ...[...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1]),
    ...[...text.matchAll(/^export\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1]),
    ...[...text.matchAll(/require\('(\.[^']+)'\)/g)].map((match) => match[1]),
  ];
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      return fs.existsSync(path.join(ROOT, `${target}.ts`)) ? `${target}.ts` : target;
    });
}

test.each([...sources('workers'), ...sources('src/shared')])('%s loads only worker-side and shared code', (file) => {
  const outside = runtimeImports(file).filter((target) => !ALLOWED.some((allowed) => allowed.test(target)));
  expect(outside).toEqual([]);
});

test('the rule reads imports as they are written', () => {
  expect(runtimeImports('workers/process-entry.ts')).toEqual(expect.arrayContaining(['workers/pull-loop.ts', 'src/shared/progress-page.ts']));
});

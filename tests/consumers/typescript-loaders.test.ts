/**
 * TypeScript task modules in consumer projects, loaded the way the program loads its own TypeScript: under
 * the tsx and ts-node binaries, with `-r` and NODE_OPTIONS hooks, with Node's own type stripping, and else
 * with an installed tsx or ts-node; in CommonJS and `"type": "module"` projects; `.ts`, `.mts`, `.cts`.
 */
import { lastJson, useConsumerProjects, type ConsumerProject } from './consumer-project';

jest.setTimeout(120_000);

const project = useConsumerProjects();

const [NODE_MAJOR, NODE_MINOR] = process.versions.node.split('.').map(Number);
/** Node 22.6+ can strip types; 22.18+ and 23.6+ do it by default. */
const HAS_TYPE_STRIPPING = NODE_MAJOR > 22 || (NODE_MAJOR === 22 && NODE_MINOR >= 6);
const STRIPS_BY_DEFAULT = (process.features as { typescript?: string | false }).typescript !== undefined
  ? Boolean((process.features as { typescript?: string | false }).typescript)
  : false;

/**
 * A task module that only a real TypeScript compiler loads: an enum is not erasable, so Node's own type
 * stripping refuses it. `loadedBy` tells whether ts-node compiled it.
 */
const TASKS_TS = `interface Point { x: number; y: number }
enum Color { Red = 'red', Green = 'green' }

export function norm1(point: Point): number {
  return Math.abs(point.x) + Math.abs(point.y);
}

export function color(): string {
  return Color.Green;
}

export function loadedBy(): string {
  return (process as any)[Symbol.for('ts-node.register.instance')] !== undefined ? 'ts-node' : 'other';
}

export function environment(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('FORKPOOL')) as [string, string][]);
}
`;

/** An ES module task module: import.meta exists in ES modules only. Erasable syntax only. */
const TASKS_ESM_TS = `interface Point { x: number; y: number }

export function norm1(point: Point): number {
  return Math.abs(point.x) + Math.abs(point.y);
}

export function esm(): boolean {
  return typeof import.meta.url === 'string';
}
`;

/** A CommonJS parent that runs `calls` against `module` (relative to itself) and prints what came back. */
function cjsMain(module: string, calls: Array<[string, unknown[]]>, extension: 'ts' | 'js' = 'ts'): string {
  const any = extension === 'ts' ? ': any' : '';
  return `const path = require('node:path');
const { Pool } = require('forkpool');
(async () => {
  const pool = new Pool({ processes: 1, module: path.join(__dirname, ${JSON.stringify(module)}) });
  const results${any} = {};
  for (const [name, args] of ${JSON.stringify(calls)}) {
    results[name] = await pool.apply(name, args).catch((error${any}) => ({ code: error.code, message: error.message }));
  }
  pool.close();
  await pool.join();
  console.log(JSON.stringify(results));
})();
`;
}

/** The same as an ES module; `modules` are relative to it, each with its calls. */
function esmMain(modules: Record<string, Array<[string, unknown[]]>>): string {
  return `import { fileURLToPath } from 'node:url';
import { Pool } from 'forkpool';
const pool = new Pool({ processes: 1 });
const results = {};
for (const [module, calls] of Object.entries(${JSON.stringify(modules)})) {
  for (const [name, args] of calls) {
    const task = { module: fileURLToPath(new URL(module, import.meta.url)), name };
    results[module + ' ' + name] = await pool.apply(task, args).catch((error) => ({ code: error.code, message: error.message }));
  }
}
pool.close();
await pool.join();
console.log(JSON.stringify(results));
`;
}

async function output(consumer: ConsumerProject, run: Promise<{ code: number | null; stdout: string; stderr: string }>) {
  const result = await run;
  if (result.code !== 0) throw new Error(`The program in ${consumer.dir} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return lastJson(result);
}

const NORM = ['norm1', [{ x: 3, y: -4 }]] as [string, unknown[]];

describe('under the loader the program runs under', () => {
  test('`tsx main.ts`, with no ts-node installed', async () => {
    // Children used to register ts-node for every .ts module: "needs ts-node".
    const consumer = project({
      tools: ['tsx'],
      files: { 'main.ts': cjsMain('tasks.ts', [NORM, ['color', []]]), 'tasks.ts': TASKS_TS },
    });
    expect(await output(consumer, consumer.tool('tsx', ['main.ts']))).toEqual({ norm1: 7, color: 'green' });
  });

  test('`tsx main.ts` in a "type": "module" project', async () => {
    const consumer = project({
      type: 'module',
      tools: ['tsx'],
      files: { 'main.ts': esmMain({ './tasks.ts': [NORM, ['esm', []]] }), 'tasks.ts': TASKS_ESM_TS },
    });
    expect(await output(consumer, consumer.tool('tsx', ['main.ts']))).toEqual({ './tasks.ts norm1': 7, './tasks.ts esm': true });
  });

  test('`ts-node --transpile-only main.ts`: children load with that ts-node, though tsx is installed too', async () => {
    // The binary's --transpile-only used to reach node in every child: "bad option", and no child started.
    const consumer = project({
      tools: ['ts-node', 'typescript', '@types/node', 'tsx'],
      files: {
        'main.ts': cjsMain('tasks.ts', [NORM, ['color', []], ['loadedBy', []], ['environment', []]]),
        'tasks.ts': TASKS_TS,
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', types: ['node'], strict: true } }),
      },
    });
    expect(await output(consumer, consumer.tool('ts-node', ['--transpile-only', 'main.ts']))).toEqual({
      norm1: 7,
      color: 'green',
      loadedBy: 'ts-node',
      // Where that ts-node is reaches the child, not the tasks it runs.
      environment: {},
    });
  });

  test('`node -r ts-node/register/transpile-only main.ts`: the hook is passed on', async () => {
    // The hook's value used to be dropped from the children's options, leaving a bare `-r`.
    const consumer = project({
      tools: ['ts-node', 'typescript', '@types/node'],
      files: {
        'main.ts': cjsMain('tasks.ts', [NORM, ['color', []]]),
        'tasks.ts': TASKS_TS,
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', types: ['node'], strict: true } }),
      },
    });
    expect(await output(consumer, consumer.node(['-r', 'ts-node/register/transpile-only', 'main.ts']))).toEqual({ norm1: 7, color: 'green' });
  });

  test('NODE_OPTIONS="--import tsx" around a JavaScript program', async () => {
    const consumer = project({
      tools: ['tsx'],
      files: { 'main.js': cjsMain('tasks.ts', [NORM, ['color', []]], 'js'), 'tasks.ts': TASKS_TS },
    });
    expect(await output(consumer, consumer.node(['main.js'], { NODE_OPTIONS: '--import tsx' }))).toEqual({ norm1: 7, color: 'green' });
  });

  test(`Node's own type stripping ${STRIPS_BY_DEFAULT ? 'loads' : 'is not there to load'} an erasable .mts module, with nothing installed`, async () => {
    const consumer = project({
      files: { 'main.mjs': esmMain({ './tasks.mts': [NORM, ['esm', []]] }), 'tasks.mts': TASKS_ESM_TS },
    });
    const results = await output(consumer, consumer.node(['main.mjs']));
    if (STRIPS_BY_DEFAULT) {
      expect(results).toEqual({ './tasks.mts norm1': 7, './tasks.mts esm': true });
    } else {
      expect(results['./tasks.mts norm1']).toMatchObject({ code: 'ERR_POOL_NO_TS_LOADER' });
    }
  });
});

describe('with no loader around the program, one installed where the module finds it', () => {
  test('ts-node in a "type": "module" project', async () => {
    // Only require() hooks used to be registered: "Unknown file extension .ts".
    const consumer = project({
      type: 'module',
      tools: ['ts-node', 'typescript'],
      files: { 'main.js': esmMain({ './tasks.ts': [NORM, ['esm', []]] }), 'tasks.ts': TASKS_ESM_TS },
    });
    expect(await output(consumer, consumer.node(['main.js']))).toEqual({ './tasks.ts norm1': 7, './tasks.ts esm': true });
  });

  test('tsx, for .mts and .cts modules of a CommonJS project', async () => {
    const consumer = project({
      tools: ['tsx'],
      files: {
        'main.mjs': esmMain({ './tasks.mts': [NORM, ['esm', []]], './tasks.cts': [['kind', []]] }),
        'tasks.mts': TASKS_ESM_TS,
        'tasks.cts': `enum Kind { CommonJS = 'commonjs' }\nexport function kind(): string { return typeof module === 'object' ? Kind.CommonJS : 'esm'; }\n`,
      },
    });
    expect(await output(consumer, consumer.node(['main.mjs']))).toEqual({
      './tasks.mts norm1': 7,
      './tasks.mts esm': true,
      './tasks.cts kind': 'commonjs',
    });
  });

  test('none at all: the task fails with ERR_POOL_NO_TS_LOADER, saying what to install', async () => {
    const consumer = project({ files: { 'main.js': cjsMain('tasks.ts', [NORM], 'js'), 'tasks.ts': TASKS_TS } });
    // Where Node could strip the types itself, it is told not to.
    const flags = HAS_TYPE_STRIPPING ? ['--no-experimental-strip-types'] : [];
    const { norm1 } = await output(consumer, consumer.node([...flags, 'main.js']));
    expect(norm1).toMatchObject({ code: 'ERR_POOL_NO_TS_LOADER' });
    expect((norm1 as { message: string }).message).toContain('npm install --save-dev tsx');
  });
});

describe('a module whose syntax does not fit the format its package declares', () => {
  /** What `npm init -y` writes now, and what a new user then writes. */
  const COMMONJS_ESM_TS = `export function sq(x: number): number {\n  return x * x;\n}\n`;

  test(`a .ts file with \`export\` in a "type": "commonjs" package ${STRIPS_BY_DEFAULT ? 'fails with ERR_POOL_MODULE_FORMAT, without a warning' : 'is told how to go on'}`, async () => {
    const consumer = project({ type: 'commonjs', files: { 'main.js': cjsMain('tasks.ts', [['sq', [3]]], 'js'), 'tasks.ts': COMMONJS_ESM_TS } });
    const run = await consumer.node(['main.js']);
    const { sq } = lastJson<{ sq: { code: string; message: string } }>(run);
    if (STRIPS_BY_DEFAULT) {
      expect(sq.code).toBe('ERR_POOL_MODULE_FORMAT');
      expect(sq.message).toContain(`${consumer.dir}/tasks.ts`);
      expect(sq.message).toContain('"type": "commonjs"');
      expect(sq.message).toMatch(/"type": "module".*\.mts.*tsx/);
      // Node's own warning about it, printed once by every child, is left out: the error says it better.
      expect(run.stderr).not.toMatch(/ES module/);
    } else {
      // Where Node cannot strip types, the advice names the same trap.
      expect(sq.code).toBe('ERR_POOL_NO_TS_LOADER');
      expect(sq.message).toMatch(/"type": "module".*\.mts/);
    }
  });

  test('a .js file with `export` in a "type": "commonjs" package fails with ERR_POOL_MODULE_FORMAT, without a warning', async () => {
    const consumer = project({
      type: 'commonjs',
      files: { 'main.js': cjsMain('tasks.js', [['sq', [3]]], 'js'), 'tasks.js': 'export function sq(x) {\n  return x * x;\n}\n' },
    });
    const run = await consumer.node(['main.js']);
    const { sq } = lastJson<{ sq: { code: string; message: string } }>(run);
    expect(sq.code).toBe('ERR_POOL_MODULE_FORMAT');
    expect(sq.message).toMatch(/"type": "module".*\.mjs/);
    expect(run.stderr).not.toMatch(/ES module/);
  });

  test('with tsx installed, the same .ts file loads', async () => {
    const consumer = project({ type: 'commonjs', tools: ['tsx'], files: { 'main.js': cjsMain('tasks.ts', [['sq', [3]]], 'js'), 'tasks.ts': COMMONJS_ESM_TS } });
    expect(await output(consumer, consumer.node(['main.js']))).toEqual({ sq: 9 });
  });
});

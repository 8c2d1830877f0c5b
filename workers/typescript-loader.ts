/**
 * Child side: make a TypeScript task module (.ts, .mts, .cts) loadable, the way the parent loads its own
 * TypeScript. The first of these that applies:
 *
 * 1. the ts-node binary the parent runs under (TS_NODE_ENV), registered here: its flags are not Node's, so
 *    the parent keeps them from the child and names that ts-node instead;
 * 2. hooks this child inherited from the parent's execArgv or NODE_OPTIONS: the tsx binary's, `--import tsx`,
 *    `-r ts-node/register`, `--loader ts-node/esm`, or Node's type stripping asked for by flag
 *    (`--experimental-strip-types`, which Node 22.6 to 22.17 need);
 * 3. tsx, else ts-node, installed where the module can find it, registered here;
 * 4. Node's own type stripping, on by default since Node 22.18 and 23.6. It comes after an installed tsx or
 *    ts-node: a parent that is plain JavaScript has it on without choosing it, and it loads less than they
 *    do (no enums, no `export` in a CommonJS module);
 * 5. none: the task fails with ERR_POOL_NO_TS_LOADER, saying what to install.
 *
 * A module is an ES module or CommonJS as Node decides (`.mts`, `.cts`, else the nearest package.json's
 * "type"), and each kind needs its own hooks: require() hooks for CommonJS, loader hooks for ES modules.
 */
import { createRequire, register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TS_NODE_ENV } from '../src/shared/ts-node-binary';
import { moduleKindOf, type ModuleKind } from './module-format';
import { withCode } from '../src/errors';

/** How the module is loaded once its loader is in place. */
export type LoadVia = 'require' | 'import';


export const TYPESCRIPT_FILE = /\.[cm]?ts$/;

/**
 * The directory of the ts-node whose binary the parent runs under. Taken out of the environment, which the
 * tasks share: a program a task starts is not this child, and its own pools' children are not either.
 */
const PARENT_TS_NODE = process.env[TS_NODE_ENV];
delete process.env[TS_NODE_ENV];

/** Each kind's loader, once one has been put in place (or found there) for it. */
const loaders: Partial<Record<ModuleKind, Promise<void>>> = {};

/** Make `file` loadable (registering a loader if it takes one) and say how to load it. */
export async function prepareTypeScript(file: string): Promise<LoadVia> {
  const kind = moduleKindOf(file);
  // A module that found no loader may be followed by one that can find one (a tsx installed elsewhere).
  await (loaders[kind] ??= provideLoader(file, kind).catch((error: unknown) => {
    delete loaders[kind];
    throw error;
  }));
  return kind === 'module' ? 'import' : 'require';
}

async function provideLoader(file: string, kind: ModuleKind): Promise<void> {
  if (PARENT_TS_NODE !== undefined && PARENT_TS_NODE !== '') {
    registerTsNode(createRequire(join(PARENT_TS_NODE, 'package.json')), kind);
  } else if (!hooksGiven(kind) && !(await registerInstalled(file, kind)) && !typeStripping()) {
    throw noTypeScriptLoader(file);
  }
}

function hooksGiven(kind: ModuleKind): boolean {
  const options = nodeOptions();
  if (options.some((option) => /^--experimental-(strip|transform)-types$/.test(option))) return true;
  // tsx and ts-node both register `.ts` with require(), whatever extensions they also handle.
  if (kind === 'commonjs') return require.extensions['.ts'] !== undefined;
  // Loader hooks cannot be listed: any given to Node is taken to be one that loads TypeScript.
  return options.some((option) => /^--(import|loader|experimental-loader)\b/.test(option));
}

/** Whether Node strips types by itself in this process (Node 22.10+ says so in process.features). */
function typeStripping(): boolean {
  const { typescript } = process.features as { typescript?: string | false };
  return typescript !== undefined && typescript !== false;
}

/** This process's Node options: its execArgv and those NODE_OPTIONS gives every Node process. */
function nodeOptions(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)];
}

/**
 * Register tsx, else ts-node, as the task module would find it; false if it finds neither. tsx registers
 * itself as it loads, as under `node --require tsx/cjs` or `node --import tsx/esm`.
 */
async function registerInstalled(file: string, kind: ModuleKind): Promise<boolean> {
  const from = createRequire(file);
  const tsx = resolvable(from, kind === 'module' ? 'tsx/esm' : 'tsx/cjs');
  if (tsx !== undefined) {
    if (kind === 'module') await import(pathToFileURL(tsx).href);
    else from(tsx);
    return true;
  }
  if (resolvable(from, 'ts-node') === undefined) return false;
  registerTsNode(from, kind);
  return true;
}

/**
 * Register ts-node transpile-only with explicit compiler options: no tsconfig is looked up beside the child
 * script (ts-node 10's fallback settings are rejected by TypeScript 5.9+). ES modules need loader hooks,
 * which run on their own thread and so register their own ts-node there.
 */
function registerTsNode(from: NodeJS.Require, kind: ModuleKind): void {
  const options = {
    transpileOnly: true,
    skipProject: true,
    compilerOptions: {
      module: kind === 'module' ? 'esnext' : 'commonjs',
      target: 'es2022',
      esModuleInterop: true,
      sourceMap: true,
    },
    // TypeScript 6 calls the module resolution that `commonjs` implies deprecated (TS5101, TS5107);
    // transpiling resolves nothing, so the warning is moot.
    ignoreDiagnostics: [5101, 5107],
  };
  const main = from.resolve('ts-node');
  if (kind === 'commonjs') {
    (from(main) as typeof import('ts-node')).register(options);
  } else {
    const hooks = [
      "import { createRequire } from 'node:module';",
      // ts-node 10 makes an fs.Stats by hand as it loads, which Node 22 and later warn about (DEP0180) from
      // every child; the hooks run on a thread of their own, whose deprecations concern ts-node alone.
      'process.noDeprecation = true;',
      `const { register, createEsmHooks } = createRequire(${JSON.stringify(main)})(${JSON.stringify(main)});`,
      `export const { resolve, load } = createEsmHooks(register(${JSON.stringify(options)}));`,
    ].join('\n');
    register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  }
}

function resolvable(from: NodeJS.Require, request: string): string | undefined {
  try {
    return from.resolve(request);
  } catch {
    return undefined;
  }
}

/**
 * Whether this is a worker thread of a Node that gives its threads no module loader hooks: Node 20 applies
 * neither the hooks the program was started with nor those a thread registers to the thread's `import()`.
 */
function threadWithoutHooks(): boolean {
  const { isMainThread } = require('node:worker_threads') as typeof import('node:worker_threads');
  return !isMainThread && Number(process.versions.node.split('.')[0]) < 22;
}

/** The task's error when nothing here loads TypeScript: what to install, or how to run the program. */
export function noTypeScriptLoader(file: string, cause?: unknown): Error {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (cause !== undefined && threadWithoutHooks()) {
    const error = new Error(
      `The task module ${file} is TypeScript in an ES module, and Node ${major} runs no module loader hooks in a ` +
        'worker thread, where ES modules would need them: run it in a Pool (child processes), make the module ' +
        'CommonJS (.cts, or a package without "type": "module"), or use Node 22 or later.',
      { cause },
    );
    return withCode(error, 'ERR_POOL_NO_TS_LOADER');
  }
  const nodeAdvice =
    major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)
      ? 'or let Node strip the types itself (this process runs with --no-experimental-strip-types)'
      : 'or use Node 22.18+ or 23.6+, which strip types by themselves (erasable syntax only; a .ts file with ' +
        '`export` then needs "type": "module" in its package.json, or the .mts extension)';
  const error = new Error(
    `The task module ${file} is TypeScript, and nothing in this process loads TypeScript. Install tsx ` +
      '(npm install --save-dev tsx) or ts-node where the module can find it, run the program under one ' +
      `(tsx main.ts), ${nodeAdvice}.`,
    { cause },
  );
  return withCode(error, 'ERR_POOL_NO_TS_LOADER');
}

/**
 * Child side: find the function a TaskSpec names, once per child. Modules may be CommonJS or ESM, `.js`,
 * `.cjs`, `.mjs`, `.ts`, `.mts` or `.cts`; inline functions are compiled from their source.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { ModuleLocation, TaskSpec } from '../src/shared/protocol';
import { requireInFormat } from './module-format';
import { noTypeScriptLoader, prepareTypeScript, TYPESCRIPT_FILE } from './typescript-loader';
import { withCode } from '../src/errors';

export type TaskFunction = (...args: unknown[]) => unknown;

/** File name under which inline functions are compiled, so their frames can be told apart in a stack. */
export const INLINE_FILENAME = 'forkpool:inline-task';

const cache = new Map<string, TaskFunction>();
/** Modules loaded ahead of their first task, each taken (with its outcome, even a failure) by that task. */
const preloaded = new Map<string, Promise<unknown>>();

/**
 * Start loading a module before any task needs it. A failure is kept for the first task that does, which
 * reports it; later tasks load the module afresh, as they would have without the preload.
 */
export function preloadModule(location: ModuleLocation): void {
  const key = moduleKey(location);
  if (preloaded.has(key)) return;
  const loading = loadModule(location);
  loading.catch(() => {});
  preloaded.set(key, loading);
}

/** The function for `spec`; async only the first time a module is loaded. */
export function loadTask(spec: TaskSpec): TaskFunction | Promise<TaskFunction> {
  const key = spec.kind === 'inline' ? spec.source : `${spec.module}\0${spec.name}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  if (spec.kind === 'inline') {
    const fn = compileInline(spec.source, spec.name);
    cache.set(key, fn);
    return fn;
  }
  return takeModule(spec).then((exports) => {
    const fn = pickExport(exports, spec.name, spec.module);
    cache.set(key, fn);
    return fn;
  });
}

/** The preloaded module if it is waiting for its first task, else a fresh load (require caches its own). */
function takeModule(location: ModuleLocation): Promise<unknown> {
  const key = moduleKey(location);
  const loading = preloaded.get(key) ?? loadModule(location);
  preloaded.delete(key);
  return loading;
}

function moduleKey({ module, baseDir }: ModuleLocation): string {
  return `${module}\0${baseDir}`;
}

async function loadModule(spec: ModuleLocation): Promise<unknown> {
  const requireFrom = createRequire(join(spec.baseDir, 'noop.js'));
  let file: string;
  try {
    file = requireFrom.resolve(spec.module.startsWith('file:') ? fileURLToPath(spec.module) : spec.module);
  } catch (error) {
    throw moduleNotFound(spec.module, error);
  }
  if (TYPESCRIPT_FILE.test(file) && (await prepareTypeScript(file)) === 'import') {
    return import(pathToFileURL(file).href).catch((error: unknown) => {
      // Loader hooks were given to Node, and none of them loads TypeScript.
      if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
      throw noTypeScriptLoader(file, error);
    });
  }
  try {
    return requireInFormat(requireFrom, file);
  } catch (error) {
    // An ESM module with top-level await cannot be require()d; import() loads any ESM module.
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_REQUIRE_ASYNC_MODULE' && code !== 'ERR_REQUIRE_ESM') throw error;
    return import(pathToFileURL(file).href);
  }
}

function pickExport(exports: unknown, name: string, module: string): TaskFunction {
  const namespace = exports as Record<string, unknown> | TaskFunction;
  let fn: unknown = (namespace as Record<string, unknown>)?.[name];
  // `module.exports = fn` is the default export of a CommonJS module.
  if (fn === undefined && name === 'default' && typeof namespace === 'function') fn = namespace;
  if (typeof fn === 'function') return fn as TaskFunction;
  const available = Object.keys(namespace ?? {}).filter(
    (key) => typeof (namespace as Record<string, unknown>)[key] === 'function',
  );
  const error = new TypeError(
    fn === undefined
      ? `The module ${module} has no export named '${name}'. ` +
          `Its function exports are: ${available.length > 0 ? available.join(', ') : '(none)'}.`
      : `The export '${name}' of ${module} is not a function but ${typeof fn}.`,
  );
  throw withCode(error, 'ERR_POOL_NO_SUCH_TASK');
}

function moduleNotFound(module: string, cause: unknown): Error {
  const error = new Error(`Cannot find the task module ${module}. Check the path (relative paths resolve against the directory the pool was created in).`, { cause });
  return withCode(error, 'ERR_POOL_MODULE_NOT_FOUND');
}

/**
 * The function is compiled at the child's top level: it sees the globals and `require`, nothing of the
 * scope it was written in. A name from that scope then fails as a ReferenceError at the first use, which
 * {@link explainInlineError} turns into an error that says what happened.
 */
function compileInline(source: string, name: string): TaskFunction {
  // Loaded here, not at start-up: vm costs every child a couple of milliseconds to load.
  const vm = require('node:vm') as typeof import('node:vm');
  const taskRequire = createRequire(join(process.cwd(), 'noop.js'));
  let script: import('node:vm').Script;
  try {
    script = new vm.Script(`(function (require) { return (${source}\n); })`, { filename: INLINE_FILENAME });
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method's source (`square(x) { ... }`) is not an expression on its own; an object literal makes it one.
    script = new vm.Script(`(function (require) { return ({ ${source}\n })[${JSON.stringify(name)}]; })`, {
      filename: INLINE_FILENAME,
    });
  }
  return script.runInThisContext()(taskRequire) as TaskFunction;
}

/** Rewrite "x is not defined" raised by inline code itself into the reason and the remedy. */
export function explainInlineError(error: unknown): unknown {
  if (!(error instanceof ReferenceError)) return error;
  const firstFrame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  const match = /^(.+) is not defined$/.exec(error.message);
  if (match === null || firstFrame === undefined || !firstFrame.includes(INLINE_FILENAME)) return error;
  const variable = match[1];
  const explained = new ReferenceError(
    `The inline task function uses the outer variable '${variable}', which does not exist in the child process. ` +
      `An inline function is shipped as source and cannot close over variables: pass '${variable}' as an argument, ` +
      'or export the function from a module.',
  );
  explained.stack = `${explained.name}: ${explained.message}\n${error.stack!.split('\n').slice(1).join('\n')}`;
  return withCode(explained, 'ERR_POOL_OUTER_VARIABLE');
}

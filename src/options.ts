/**
 * Options of the pool and of each call, their defaults, and the checks that turn a bad value into an error
 * naming the option and the value.
 */
import { invalidArgument, outOfRange, withCode } from './errors';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Transferable } from 'node:worker_threads';
import type { ChildInfo } from './events';
import { defaultChildScript } from './transports/process/child-script';
import { TS_NODE_BINARY, TS_NODE_ENV } from './shared/ts-node-binary';
import type { ErrorClasses } from './shared/wire-error';
import { describe, type TaskRef } from './task-ref';

/**
 * What a child that dies unasked does to the pool: `'break'` it (Python's behaviour: every pending and
 * later call rejects with `BrokenPoolError`), or `'respawn'` the child (only the tasks it had begun reject;
 * the others it held run elsewhere).
 */
export type CrashPolicy = 'break' | 'respawn';
/** How values cross the IPC channel: Node's structured clone (`'advanced'`) or JSON. */
export type Serialization = 'advanced' | 'json';
/**
 * Where a child's stdout or stderr goes: the parent's own (`'inherit'`), nowhere (`'ignore'`), or
 * `'pipe'`: the pool's `stdout` / `stderr` stream, in whole lines, from every child.
 */
export type OutputMode = 'inherit' | 'ignore' | 'pipe';

/**
 * Options of {@link Pool} (and, with `maxWorkers` for `processes`, of {@link ProcessPoolExecutor}). Every
 * one is optional; a value of the wrong type or out of range throws a TypeError or RangeError naming it.
 * Durations are in milliseconds.
 */
export interface PoolOptions<M = any> {
  /** Number of child processes (at most, with `minProcesses`). @default os.availableParallelism() */
  processes?: number;
  /**
   * Module whose exports string task names refer to: a path (a relative one resolves against
   * `process.cwd()` when the pool is created), a `file:` URL (`new URL('./tasks.js', import.meta.url)`, or
   * its string), or a package name. JavaScript (`.js`, `.cjs`, `.mjs`) or TypeScript (`.ts`, `.cts`,
   * `.mts`), ES module or CommonJS.
   */
  module?: string | URL;
  /** Run once in every child, replacements included, before that child's first task. */
  initializer?: NoInfer<TaskRef<M>>;
  /** Arguments for `initializer`. @default [] */
  initargs?: unknown[];
  /** A child exits after this many tasks (a chunk is one task) and a fresh one replaces it. @default unlimited */
  maxTasksPerChild?: number;
  /** What a child dying unasked does to the pool: break it (Python's behaviour) or replace the child. @default 'break' */
  onWorkerCrash?: CrashPolicy;
  /** Default `timeout` (ms) of every task. @default none */
  taskTimeout?: number;
  /** How values cross the IPC channel. @default 'advanced' */
  serialization?: Serialization;
  /** Environment of the children. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Node options of the children.
   * @default process.execArgv, without the options that choose what to run (`-e`, `-p`, `--test`, `--watch`) and ts-node's own entries
   */
  execArgv?: string[];
  /** Working directory of the children. @default process.cwd() */
  cwd?: string | URL;
  /**
   * Children kept running while there is no work. The others, up to `processes`, start when work arrives
   * and exit after `idleTimeout` without any.
   * @default processes (all children start at once and stay, as in Python)
   */
  minProcesses?: number;
  /** How long (ms) a child beyond `minProcesses` may stay idle before it exits. @default none: it stays */
  idleTimeout?: number;
  /** Where the children's stdout goes: `'pipe'` makes it readable as `pool.stdout`, in whole lines. @default 'inherit' */
  stdout?: OutputMode;
  /** Where the children's stderr goes: `'pipe'` makes it readable as `pool.stderr`, in whole lines. @default 'inherit' */
  stderr?: OutputMode;
  /**
   * Error classes of the task modules that come back as themselves, as Python re-raises the same class: a
   * task error thrown by a class of this name (or named so) is rebuilt with that class's prototype
   * (`instanceof` works; its constructor is not called) and keeps every own property. Other classes come back
   * as an `Error` with their `name`; built-in classes always come back as themselves.
   * @default []
   */
  errorClasses?: Array<abstract new (...args: any[]) => Error>;
  /**
   * Path of the script the children run: forkpool's child script, `require.resolve('forkpool/child')`. An
   * app bundled with esbuild or webpack ships a copy of that file and passes the copy's path here. Relative
   * to `process.cwd()` at creation.
   * @default the child script beside forkpool's own build (`require.resolve('forkpool/child')`)
   */
  childScript?: string;
}

/** Options every submitting call accepts. */
export interface TaskOptions {
  /** Reject with `TimeoutError` and replace the child when the task runs longer than this (ms). */
  timeout?: number;
  /** Aborting rejects with `signal.reason`: a queued task is dropped, a running one's child is replaced. */
  signal?: AbortSignal;
}

/**
 * Options every Pool call accepts (the executor's `submit` has no options; listen to its `'event'` instead).
 * `W` says which worker an event comes from: {@link ChildInfo} (`{ pid }`) for a pool of processes.
 */
export interface CallOptions<W extends object = ChildInfo> extends TaskOptions {
  /**
   * Receives the events the call's tasks send with `emit()` (from `forkpool/task`), in the order each task
   * sent them, and before that task's result. A listener that throws becomes a process warning.
   */
  onEvent?: (value: unknown, info: W) => void;
}

/** Options of `apply` and `applyAsync`: those of every call, and buffers to move rather than copy. */
export interface ApplyOptions<W extends object = ChildInfo> extends CallOptions<W> {
  /**
   * ArrayBuffers (and MessagePorts) inside the arguments to move to the worker thread that runs the task,
   * rather than copy: they are detached (empty) here from then on. Arguments wrapped in `transfer(value,
   * list)` move likewise. A pool of processes copies them as usual, so that code written for threads runs on
   * processes too. Once sent, such a task stays with its thread: it is not taken back for another, and it
   * fails with `BrokenPoolError` if that thread dies before beginning it. A SharedArrayBuffer in the list is
   * shared, as it would be without it.
   */
  transfer?: ReadonlyArray<Transferable | SharedArrayBuffer>;
}

export interface ChunkOptions<W extends object = ChildInfo> extends CallOptions<W> {
  /** Items per task. @default map: ceil(length / (4 * processes)); imap: 1 */
  chunksize?: number;
}

/** The callbacks of `applyAsync`, `mapAsync` and `starmapAsync`, Python's `callback` and `error_callback`. */
export interface CallbackOptions<T> {
  /** Called once with the result, before `get()` settles. */
  callback?: (result: T) => void;
  /** Called once with the error, before `get()` settles. */
  errorCallback?: (error: unknown) => void;
}

/** @internal The options filled in, as the engine reads them. */
export interface ResolvedPoolOptions {
  processes: number;
  module: string | URL | undefined;
  initializer: TaskRef | undefined;
  initargs: unknown[];
  maxTasksPerChild: number;
  onWorkerCrash: CrashPolicy;
  taskTimeout: number | undefined;
  serialization: Serialization;
  env: NodeJS.ProcessEnv | undefined;
  execArgv: string[];
  cwd: string | URL | undefined;
  minProcesses: number;
  idleTimeout: number | undefined;
  stdout: OutputMode;
  stderr: OutputMode;
  /** Absolute. */
  childScript: string;
  /** By class name. */
  errorClasses: ErrorClasses;
}

/**
 * @internal Copy, check and fill the caller's options; the caller's object is never touched. `workerScript`:
 * the script the workers run, where it is not the child script (a ThreadPool's).
 */
export function resolvePoolOptions(options: PoolOptions = {}, processesName = 'processes', workerScript?: string): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(`Expected the pool options to be an object, got ${describe(options)}.`);
  }
  const { processes, maxTasksPerChild, taskTimeout, onWorkerCrash = 'break', serialization = 'advanced' } = options;
  const { stdout = 'inherit', stderr = 'inherit' } = options;
  checkOneOf('onWorkerCrash', onWorkerCrash, ['break', 'respawn']);
  checkOneOf('serialization', serialization, ['advanced', 'json']);
  checkOneOf('stdout', stdout, ['inherit', 'ignore', 'pipe']);
  checkOneOf('stderr', stderr, ['inherit', 'ignore', 'pipe']);
  if (options.module !== undefined && typeof options.module !== 'string' && !(options.module instanceof URL)) {
    throw invalidArgument(`Expected \`module\` to be a module path or a file: URL, got ${describe(options.module)}.`);
  }
  if (options.initargs !== undefined && !Array.isArray(options.initargs)) {
    throw invalidArgument(`Expected \`initargs\` to be an array of arguments, got ${describe(options.initargs)}.`);
  }
  if (options.execArgv !== undefined) {
    const bad = Array.isArray(options.execArgv) ? options.execArgv.findIndex((arg) => typeof arg !== 'string') : -1;
    if (!Array.isArray(options.execArgv) || bad !== -1) {
      const got = bad === -1 ? describe(options.execArgv) : `${describe(options.execArgv[bad])} at index ${bad}`;
      throw invalidArgument(`Expected \`execArgv\` to be an array of strings (Node options for the children), got ${got}.`);
    }
  }
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null || Array.isArray(options.env))) {
    throw invalidArgument(`Expected \`env\` to be an object of environment variables, like process.env, got ${describe(options.env)}.`);
  }
  if (options.cwd !== undefined && typeof options.cwd !== 'string' && !(options.cwd instanceof URL)) {
    throw invalidArgument(`Expected \`cwd\` to be a directory path, got ${describe(options.cwd)}.`);
  }
  if (options.childScript !== undefined && (typeof options.childScript !== 'string' || options.childScript === '')) {
    throw invalidArgument(`Expected \`childScript\` to be the path of a file, got ${describe(options.childScript)}.`);
  }
  const count = processes === undefined ? os.availableParallelism() : checkPositiveInteger(processesName, processes);
  return {
    processes: count,
    module: options.module,
    initializer: options.initializer,
    initargs: options.initargs === undefined ? [] : [...options.initargs],
    maxTasksPerChild:
      maxTasksPerChild === undefined ? Infinity : checkPositiveInteger('maxTasksPerChild', maxTasksPerChild),
    onWorkerCrash,
    taskTimeout: checkTimeout('taskTimeout', taskTimeout),
    serialization,
    env: childEnv(options.env),
    execArgv: options.execArgv ?? inheritedExecArgv(),
    cwd: options.cwd,
    minProcesses: checkMinProcesses(options.minProcesses, count, processesName),
    idleTimeout: checkTimeout('idleTimeout', options.idleTimeout),
    stdout,
    stderr,
    childScript: workerScript ?? findChildScript(options.childScript),
    errorClasses: errorClassesByName(options.errorClasses),
  };
}

/** @internal The `errorClasses` option by class name. @throws TypeError for anything but an array of Error classes. */
export function errorClassesByName(classes: unknown): ErrorClasses {
  if (classes === undefined) return new Map();
  if (!Array.isArray(classes)) {
    throw invalidArgument(`Expected \`errorClasses\` to be an array of Error classes, got ${describe(classes)}.`);
  }
  const byName = new Map<string, abstract new (...args: any[]) => Error>();
  classes.forEach((cls: unknown, i) => {
    if (typeof cls !== 'function' || !((cls as { prototype?: unknown }).prototype instanceof Error) || cls.name === '') {
      const got = typeof cls === 'function' ? `the function ${cls.name || '(anonymous)'}` : describe(cls);
      throw invalidArgument(`Expected \`errorClasses\` to hold named classes that extend Error, got ${got} at index ${i}.`);
    }
    byName.set(cls.name, cls as abstract new (...args: any[]) => Error);
  });
  return byName;
}

/**
 * The child script's absolute path. Checked here, where the mistake can be named: a missing script would
 * otherwise show only as children that die at start and a pool that breaks.
 */
function findChildScript(given: string | undefined): string {
  const script = path.resolve(given ?? defaultChildScript());
  if (fs.existsSync(script)) return script;
  const error = new Error(
    given === undefined
      ? `forkpool's child script is not at ${script}, beside forkpool's own code. An app bundled with ` +
          "esbuild or webpack must ship a copy of require.resolve('forkpool/child') and pass its path as the " +
          "`childScript` option (forkpool's README, \"Bundling\")."
      : `The \`childScript\` ${script} does not exist. It should be a copy of require.resolve('forkpool/child').`,
  );
  throw withCode(error, 'ERR_POOL_NO_CHILD_SCRIPT');
}

/** @internal Check the per-call options; `undefined` stays undefined. */
export function checkTaskOptions(options: (TaskOptions & { onEvent?: unknown }) | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(`Expected the call's options to be an object, got ${describe(options)}.`);
  }
  checkTimeout('timeout', options.timeout);
  const { signal, onEvent } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgument(`Expected \`signal\` to be an AbortSignal, got ${describe(signal)}.`);
  }
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    throw invalidArgument(`Expected \`onEvent\` to be a function, got ${describe(onEvent)}.`);
  }
}

function checkMinProcesses(value: unknown, processes: number, processesName: string): number {
  if (value === undefined) return processes;
  if (typeof value !== 'number') {
    throw invalidArgument(`Expected \`minProcesses\` to be a whole number from 0 to \`${processesName}\`, got ${describe(value)}.`);
  }
  if (!Number.isInteger(value) || value < 0 || value > processes) {
    throw outOfRange(`Expected \`minProcesses\` to be a whole number from 0 to \`${processesName}\` (${processes}), got ${value}.`);
  }
  return value;
}

/** @internal */
export function checkPositiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw invalidArgument(`Expected \`${name}\` to be a positive integer, got ${describe(value)}.`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw outOfRange(`Expected \`${name}\` to be a positive integer (1 or more), got ${value}.`);
  }
  return value;
}

/** @internal A timeout is any positive number of milliseconds (Infinity allowed: no limit). */
export function checkTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw invalidArgument(`Expected \`${name}\` to be a number of milliseconds, got ${describe(value)}.`);
  }
  if (!(value > 0)) {
    throw outOfRange(`Expected \`${name}\` to be a positive number of milliseconds, got ${value}.`);
  }
  return value;
}

/**
 * @internal A waiting timeout (`get`, `result`, `wait`, `asCompleted`, the executor's `map`), as in Python:
 * 0 answers at once without waiting, a positive number is a limit in ms, undefined waits for ever.
 * @throws RangeError for a negative or non-numeric one.
 */
export function checkWaitTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value >= 0)) {
    throw outOfRange(
      `Expected \`${name}\` to be a number of milliseconds, 0 or more (0: answer now, without waiting), got ${describe(value)}.`,
    );
  }
  return value;
}

/** @internal */
export function checkOneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(value as string)) {
    throw invalidArgument(
      `Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}.`,
    );
  }
}

/** Node options that say what to run rather than how: a child given them would not run the child script. */
const ENTRY_OPTIONS = new Set(['-e', '--eval', '-p', '--print', '-pe', '-i', '--interactive', '--test', '--watch']);
/** Those of them that take the next argument as their value. */
const ENTRY_OPTIONS_WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-pe']);

/**
 * @internal The parent's Node options, minus those that choose what to run. A parent started as
 * `node -e CODE` has `['-e', CODE]` in its execArgv, and a child given them runs CODE instead of the child
 * script: CODE makes a pool, whose children run CODE again, without end.
 *
 * Also minus what the ts-node binary appends after every Node option: its own script and flags
 * (`--transpile-only`, `-P tsconfig.json`), which node rejects and which would start the child through ts-node
 * (looking for a tsconfig beside the child script). {@link childEnv} names that ts-node to the children
 * instead. Hooks given as Node options (`--import tsx`, `-r ts-node/register`, `--loader ts-node/esm`) are
 * kept: through them a child loads TypeScript as its parent does.
 */
export function inheritedExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    if (TS_NODE_BINARY.test(arg)) break;
    const name = arg.split('=', 1)[0];
    if (ENTRY_OPTIONS.has(name) || name.startsWith('--test-') || name.startsWith('--watch-')) {
      if (ENTRY_OPTIONS_WITH_VALUE.has(arg)) i++;
      continue;
    }
    kept.push(arg);
  }
  return kept;
}

/**
 * @internal The children's environment: `env` as given (`undefined`: the parent's at each fork). A parent
 * started by the ts-node binary adds the directory of that ts-node, which the children load TypeScript task
 * modules with; its environment is then the one it had when the pool was created.
 */
export function childEnv(
  env: NodeJS.ProcessEnv | undefined,
  execArgv: readonly string[] = process.execArgv,
): NodeJS.ProcessEnv | undefined {
  const binary = execArgv.find((arg) => TS_NODE_BINARY.test(arg));
  if (binary === undefined) return env;
  // <ts-node>/dist/bin.js
  return { ...(env ?? process.env), [TS_NODE_ENV]: path.resolve(binary, '..', '..') };
}

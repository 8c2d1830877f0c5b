/**
 * Options of ThreadPool and ThreadPoolExecutor: those of Pool, less what only a process has (`cwd`,
 * `serialization: 'json'`, `childScript`), plus Node's `resourceLimits`; and their resolution, which refuses at
 * construction what a Worker would refuse at every start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { invalidArgument, outOfRange, withCode } from './errors';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options';
import { describe } from './task-ref';
import { defaultThreadScript } from './transports/thread/thread-script';
import type { ThreadOptions } from './transports/thread/thread-transport';

/**
 * Options of {@link ThreadPool} (and, with `maxWorkers` for `processes`, of {@link ThreadPoolExecutor}):
 * those of {@link PoolOptions}, where `processes` counts threads, `env` is the threads' `process.env` and
 * `execArgv` their Node options, without those that only mean something for a process: `cwd` (threads share
 * their process's working directory), `serialization: 'json'` (a thread's channel is structured clone) and
 * `childScript`, each refused with a TypeError that names it. Every one is optional.
 */
export interface ThreadPoolOptions<M = any> extends Omit<PoolOptions<M>, 'cwd' | 'serialization' | 'childScript'> {
  /**
   * How values cross to the threads: structured clone, as `'advanced'` between processes (a Buffer arrives as
   * a Buffer). `'json'` is refused. @default 'advanced'
   */
  serialization?: 'advanced';
  /**
   * Node options of the threads. A flag a Worker refuses (one that concerns the whole process, such as
   * `--max-old-space-size`: see `resourceLimits`) is refused here, naming it.
   * @default this thread's own, as Node hands them down to a Worker
   */
  execArgv?: string[];
  /**
   * The memory limits of each thread (Node's `Worker` option): a thread that exceeds them dies, which is a
   * crash (`onWorkerCrash`), as a child process killed for its memory is.
   * @default Node's defaults
   */
  resourceLimits?: ResourceLimits;
}

/** Options that only a process has, each refused by name. */
const PROCESS_ONLY = ['cwd', 'childScript'] as const;

const RESOURCE_LIMITS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];

/** What a thread is handed at a probe start: a value a Worker cannot clone, so that it never starts. */
const PROBE = Symbol('forkpool: a probe, not a thread');

/**
 * @internal The options resolved for the scheduler, and for the thread transport.
 * @throws TypeError or RangeError for an option of the wrong type or value, or that only a process has.
 */
export function resolveThreadPoolOptions(
  options: ThreadPoolOptions = {},
  processesName = 'processes',
): { pool: ResolvedPoolOptions; threads: ThreadOptions } {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(`Expected the pool options to be an object, got ${describe(options)}.`);
  }
  for (const name of PROCESS_ONLY) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw invalidArgument(`The option \`${name}\` is a child process's: a ThreadPool's threads have none. Leave it out, or use a Pool.`);
    }
  }
  const serialization = (options as { serialization?: unknown }).serialization;
  if (serialization === 'json') {
    throw invalidArgument("The option `serialization: 'json'` is a child process's: threads exchange values by structured clone ('advanced'). Leave it out, or use a Pool.");
  }
  const resourceLimits = checkResourceLimits(options.resourceLimits);
  const { resourceLimits: _limits, ...poolOptions } = options;
  const script = findThreadScript();
  const pool = resolvePoolOptions(poolOptions as PoolOptions, processesName, script);
  // The env a thread gets: the one given (or made for the ts-node binary, see childEnv), else Node's copy of this one.
  const threads: ThreadOptions = {
    script,
    env: pool.env,
    execArgv: options.execArgv === undefined ? undefined : [...options.execArgv],
    resourceLimits,
    stdout: pool.stdout,
    stderr: pool.stderr,
  };
  if (threads.execArgv !== undefined || threads.env !== undefined) probe(threads);
  return { pool, threads };
}

/**
 * The thread script's absolute path. Checked here, where the mistake can be named: a missing script would
 * otherwise show only as threads that die at start and a pool that breaks.
 */
function findThreadScript(): string {
  const script = path.resolve(defaultThreadScript());
  if (fs.existsSync(script)) return script;
  const error = new Error(
    `forkpool's thread script is not at ${script}, beside forkpool's own code. An app bundled with esbuild or ` +
      "webpack must ship a copy of require.resolve('forkpool/thread') beside its bundle, named thread.cjs " +
      '(forkpool\'s README, "Processes or threads?").',
  );
  throw withCode(error, 'ERR_POOL_NO_THREAD_SCRIPT');
}

function checkResourceLimits(limits: unknown): ResourceLimits | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw invalidArgument(`Expected \`resourceLimits\` to be an object of memory limits in MB (${RESOURCE_LIMITS.join(', ')}), got ${describe(limits)}.`);
  }
  for (const [key, value] of Object.entries(limits)) {
    if (!RESOURCE_LIMITS.includes(key)) {
      throw invalidArgument(`Unknown \`resourceLimits.${key}\`: the limits are ${RESOURCE_LIMITS.join(', ')}.`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'number') throw invalidArgument(`Expected \`resourceLimits.${key}\` to be a number of MB, got ${describe(value)}.`);
    if (!(value > 0) || !Number.isFinite(value)) throw outOfRange(`Expected \`resourceLimits.${key}\` to be a positive number of MB, got ${value}.`);
  }
  return { ...(limits as ResourceLimits) };
}

/**
 * Ask Node whether a Worker takes these options, without starting one: a Worker checks its Node options (and
 * the NODE_OPTIONS of its env) before it clones its `workerData`, which the probe makes impossible.
 * @throws TypeError naming the flags a Worker refuses.
 */
function probe({ env, execArgv }: ThreadOptions): void {
  let worker: Worker;
  try {
    worker = new Worker('', { eval: true, env, execArgv, workerData: PROBE });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return;
    const message = (error as Error).message.replace(/^Initiated Worker with /, '');
    throw Object.assign(
      invalidArgument(
        `A worker thread refuses these Node options (${message}): only options that concern one thread may be given to threads. ` +
          "Leave them out of `execArgv` (or `env`'s NODE_OPTIONS); memory limits are `resourceLimits`.",
      ),
      { cause: error },
    );
  }
  // Never reached on the Node versions this package supports; a thread started after all stops at once.
  worker.unref();
  void worker.terminate();
}

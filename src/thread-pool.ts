/**
 * ThreadPool: Python's `multiprocessing.pool.ThreadPool` for Node, over worker threads.
 */
import { BasePool } from './base-pool';
import { createEngine } from './calls/pool-setup';
import type { ThreadInfo } from './events';
import type { Engine } from './scheduler/engine';
import { resolveThreadPoolOptions, type ThreadPoolOptions } from './thread-options';
import { ThreadTransport } from './transports/thread/thread-transport';

/**
 * A pool of worker threads: Python's `multiprocessing.pool.ThreadPool`, with the API, options, events and
 * behaviour of {@link Pool}, so that switching is one word. `processes` counts threads, and wherever a
 * process has `pid` (events, `onEvent`, {@link BrokenPoolError}) a thread has `threadId`.
 *
 * Threads start faster, use less memory, and move buffers without copying them: `apply`'s `transfer` option,
 * {@link transfer} in a task for its result, and a `SharedArrayBuffer` shared as it is. A process isolates
 * what a thread does not: a native crash or a leak takes the whole process, with its threads. A thread that
 * ends unasked (`process.exit()` in it, an uncaught error, `resourceLimits` exceeded) is a crash, with the
 * same rules as a child process's; a timeout or an abort stops a thread even in a synchronous loop.
 *
 * Options that only mean something for a process (`cwd`, `serialization: 'json'`, `childScript`) are refused
 * with a TypeError naming them.
 *
 * @typeParam M - The type of the default module, `typeof import('./tasks.js')`: string task names are
 * checked against its function exports, and arguments and results follow from them.
 *
 * @example
 * ```ts
 * // An ES module beside tasks.js, which exports fib(n: number): number
 * import { ThreadPool } from 'forkpool';
 *
 * const pool = new ThreadPool<typeof import('./tasks.js')>({ module: import.meta.resolve('./tasks.js') });
 * console.log(await pool.apply('fib', [30])); // 832040
 * console.log(await pool.map('fib', [10, 20, 30])); // [ 55, 6765, 832040 ]
 * pool.close(); // no new tasks; what was submitted finishes
 * await pool.join(); // every thread has exited
 * ```
 */
export class ThreadPool<M = any> extends BasePool<M, ThreadInfo> {
  readonly #engine: Engine;

  /**
   * Start the threads (`minProcesses` of them, by default all `processes`).
   * @throws TypeError or RangeError for an option of the wrong type or value, or that only a process has, naming it.
   */
  constructor(options: ThreadPoolOptions<M> = {}) {
    const { pool, threads } = resolveThreadPoolOptions(options);
    let engine!: Engine;
    super((observer) => {
      const setup = createEngine(pool, observer, new ThreadTransport(threads));
      engine = setup.runner;
      return setup;
    });
    this.#engine = engine;
  }

  /** Ids of the threads alive now. */
  get threadIds(): number[] {
    return this.#engine.workers.map((worker) => (worker as ThreadInfo).threadId);
  }
}

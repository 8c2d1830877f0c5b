/**
 * ThreadPoolExecutor: concurrent.futures' face of a pool of worker threads.
 */
import { BaseExecutor } from './base-executor';
import { createEngine } from './calls/pool-setup';
import type { ThreadInfo } from './events';
import { resolveThreadPoolOptions, type ThreadPoolOptions } from './thread-options';
import { ThreadTransport } from './transports/thread/thread-transport';

/**
 * Options of {@link ThreadPoolExecutor}: those of {@link ThreadPoolOptions}, with `maxWorkers` (Python's
 * `max_workers`) in place of `processes`.
 */
export interface ThreadExecutorOptions<M = any> extends Omit<ThreadPoolOptions<M>, 'processes'> {
  /** Number of threads. @default os.availableParallelism() */
  maxWorkers?: number;
}

/**
 * A pool of worker threads with the face of Python's `concurrent.futures.ThreadPoolExecutor`: the API and
 * behaviour of {@link ProcessPoolExecutor} (futures, a lazy `map`, `shutdown`, the crash policy, events and
 * stats), so that switching is one word; see {@link ThreadPool} for what threads change. Unlike Python's,
 * its threads run JavaScript in parallel: Node has no global lock.
 *
 * `submit` has no options: an argument wrapped in {@link transfer} moves its buffers to the thread.
 *
 * @typeParam M - The type of the default module, `typeof import('./tasks.js')`: string task names are
 * checked against its function exports, and arguments and results follow from them.
 *
 * @example
 * ```ts
 * // An ES module beside tasks.js, which exports fib(n: number): number
 * import { ThreadPoolExecutor } from 'forkpool';
 *
 * await using executor = new ThreadPoolExecutor<typeof import('./tasks.js')>({
 *   maxWorkers: 2,
 *   module: import.meta.resolve('./tasks.js'),
 * });
 * console.log(await executor.submit('fib', 30).result()); // 832040
 * for await (const n of executor.map('fib', [10, 20, 30])) console.log(n); // 55, 6765, 832040
 * // The end of the block calls shutdown({ wait: true }).
 * ```
 */
export class ThreadPoolExecutor<M = any> extends BaseExecutor<M, ThreadInfo> {
  /**
   * Start the threads (`minProcesses` of them, by default all `maxWorkers`).
   * @throws TypeError or RangeError for an option of the wrong type or value, or that only a process has, naming it.
   */
  constructor({ maxWorkers, ...options }: ThreadExecutorOptions<M> = {}) {
    const { pool, threads } = resolveThreadPoolOptions({ ...options, processes: maxWorkers }, 'maxWorkers');
    super((observer) => createEngine(pool, observer, new ThreadTransport(threads)));
  }
}

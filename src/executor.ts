/**
 * ProcessPoolExecutor: concurrent.futures' face of a pool of child processes.
 */
import { BaseExecutor } from './base-executor';
import { createEngine } from './calls/pool-setup';
import type { ChildInfo } from './events';
import { resolvePoolOptions, type PoolOptions } from './options';
import { ProcessTransport } from './transports/process/process-transport';

/**
 * Options of {@link ProcessPoolExecutor}: those of {@link PoolOptions}, with `maxWorkers` (Python's
 * `max_workers`) in place of `processes`.
 */
export interface ExecutorOptions<M = any> extends Omit<PoolOptions<M>, 'processes'> {
  /** Number of child processes. @default os.availableParallelism() */
  maxWorkers?: number;
}

/**
 * A pool of child processes with the face of Python's `concurrent.futures.ProcessPoolExecutor`:
 * {@link ProcessPoolExecutor.submit | submit} returns a {@link Future}, {@link ProcessPoolExecutor.map | map}
 * is a lazy async iterator whose `timeout` counts from the call, and
 * {@link ProcessPoolExecutor.shutdown | shutdown} ends it. The same engine as {@link Pool}, with the same
 * options (`maxWorkers` for `processes`), crash policy, events and {@link ProcessPoolExecutor.stats | stats}.
 *
 * By default a child that dies unasked breaks the executor, like Python's `BrokenProcessPool`: every
 * pending future and every later `submit` rejects with {@link BrokenPoolError}.
 *
 * @typeParam M - The type of the default module, `typeof import('./tasks.js')`: string task names are
 * checked against its function exports, and arguments and results follow from them.
 *
 * @example
 * ```ts
 * // An ES module beside tasks.js, which exports fib(n: number): number
 * import { ProcessPoolExecutor, asCompleted } from 'forkpool';
 *
 * await using executor = new ProcessPoolExecutor<typeof import('./tasks.js')>({
 *   maxWorkers: 2,
 *   module: import.meta.resolve('./tasks.js'),
 * });
 * const futures = [28, 29, 30].map((n) => executor.submit('fib', n)); // Future<number>[]
 * for await (const future of asCompleted(futures, { timeout: 60_000 })) {
 *   console.log(await future.result()); // as each one finishes
 * }
 * for await (const n of executor.map('fib', [10, 20, 30])) console.log(n); // 55, 6765, 832040
 * // The end of the block calls shutdown({ wait: true }).
 * ```
 */
export class ProcessPoolExecutor<M = any> extends BaseExecutor<M, ChildInfo> {
  /**
   * Start the children (`minProcesses` of them, by default all `maxWorkers`).
   * @throws TypeError or RangeError for an option of the wrong type or value, naming it.
   */
  constructor({ maxWorkers, ...options }: ExecutorOptions<M> = {}) {
    const resolved = resolvePoolOptions({ ...options, processes: maxWorkers }, 'maxWorkers');
    super((observer) => createEngine(resolved, observer, new ProcessTransport(resolved)));
  }
}

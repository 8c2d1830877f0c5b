/**
 * Pool: Python's `multiprocessing.Pool` for Node, over child processes.
 */
import { BasePool } from './base-pool';
import { createEngine } from './calls/pool-setup';
import type { ChildInfo } from './events';
import { resolvePoolOptions, type PoolOptions } from './options';
import type { Engine } from './scheduler/engine';
import { ProcessTransport } from './transports/process/process-transport';

/**
 * A pool of child processes: Python's `multiprocessing.Pool`. {@link Pool.apply | apply},
 * {@link Pool.map | map}, {@link Pool.starmap | starmap}, {@link Pool.imap | imap},
 * {@link Pool.imapUnordered | imapUnordered} and the `…Async` forms run tasks in the children, which pull
 * their work from the parent over IPC.
 *
 * A task is the name of an export of the pool's `module`, `{ module, name }` for an export of any module,
 * or a self-contained function, sent to the child as source ({@link TaskRef}). Every call takes a
 * `timeout`, an abort `signal` and an `onEvent` listener for what its tasks {@link forkpool/task!emit | emit}
 * ({@link CallOptions}). Arguments and results cross with Node's `'advanced'` serialization; a task's
 * error rejects the call as itself, with the child's stack.
 *
 * Shut it down with {@link Pool.close | close()} then {@link Pool.join | join()}, or `await using`.
 * A pool is an event emitter (`on`, `once`, `off`) of {@link PoolEvents}: `'spawn'`, `'exit'` and
 * `'event'`. It never emits `'error'`: a failure rejects the call that owns it.
 *
 * @typeParam M - The type of the default module, `typeof import('./tasks.js')`: string task names are
 * checked against its function exports, and arguments and results follow from them.
 *
 * @example
 * ```ts
 * // An ES module beside tasks.js, which exports fib(n: number): number
 * import { Pool } from 'forkpool';
 *
 * const pool = new Pool<typeof import('./tasks.js')>({ module: import.meta.resolve('./tasks.js') });
 * console.log(await pool.apply('fib', [30])); // 832040
 * console.log(await pool.map('fib', [10, 20, 30])); // [ 55, 6765, 832040 ]
 * console.log(await pool.apply((a: number, b: number) => a + b, [1, 2])); // 3
 * pool.close(); // no new tasks; what was submitted finishes
 * await pool.join(); // every child has exited
 * ```
 */
export class Pool<M = any> extends BasePool<M, ChildInfo> {
  readonly #engine: Engine;

  /**
   * Start the children (`minProcesses` of them, by default all `processes`).
   * @throws TypeError or RangeError for an option of the wrong type or value, naming it.
   */
  constructor(options: PoolOptions<M> = {}) {
    const resolved = resolvePoolOptions(options);
    let engine!: Engine;
    super((observer) => {
      const setup = createEngine(resolved, observer, new ProcessTransport(resolved));
      engine = setup.runner;
      return setup;
    });
    this.#engine = engine;
  }

  /** Pids of the children alive now. */
  get pids(): number[] {
    return this.#engine.workers.map((worker) => (worker as ChildInfo).pid);
  }
}

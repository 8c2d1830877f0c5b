/**
 * ProcessPoolExecutor: concurrent.futures' face of the pool, over the same engine as Pool.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { ImapIterator } from './calls/imap-call';
import { isIterable, resolveChunkSize } from './calls/input';
import { observerFor } from './calls/observer';
import { chunkedInputWindow, createEngine } from './calls/pool-setup';
import type { TaskResolver } from './calls/task-resolver';
import { PoolStateError } from './errors';
import type { PoolEvents, PoolStats } from './events';
import { Future } from './future';
import { checkTimeout, resolvePoolOptions, type PoolOptions } from './options';
import type { Engine } from './scheduler/engine';
import { describe, type TaskArgs, type TaskRef, type TaskResult } from './task-ref';

/**
 * Options of {@link ProcessPoolExecutor}: those of {@link PoolOptions}, with `maxWorkers` (Python's
 * `max_workers`) in place of `processes`.
 */
export interface ExecutorOptions<M = any> extends Omit<PoolOptions<M>, 'processes'> {
  /** Number of child processes. @default os.availableParallelism() */
  maxWorkers?: number;
}

/** Options of {@link ProcessPoolExecutor.map}. */
export interface ExecutorMapOptions {
  /** Every result must be ready within this many ms of the call, or the iterator throws TimeoutError. */
  timeout?: number;
  /** Items per task. @default 1 */
  chunksize?: number;
}

/** Options of {@link ProcessPoolExecutor.shutdown}. */
export interface ShutdownOptions {
  /** Wait for the children to exit. @default true */
  wait?: boolean;
  /** Cancel the calls no child has taken yet. @default false */
  cancelFutures?: boolean;
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
export class ProcessPoolExecutor<M = any> extends EventEmitter<PoolEvents> implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #resolver: TaskResolver;
  readonly #taskTimeout: number | undefined;
  /** Submitted futures not yet done, and maps not yet over, for shutdown({ cancelFutures }). */
  readonly #pending = new Set<Future<any>>();
  readonly #maps = new Set<ImapIterator<unknown>>();
  #shutdown = false;

  /**
   * Start the children (`minProcesses` of them, by default all `maxWorkers`).
   * @throws TypeError or RangeError for an option of the wrong type or value, naming it.
   */
  constructor({ maxWorkers, ...options }: ExecutorOptions<M> = {}) {
    super();
    const resolved = resolvePoolOptions({ ...options, processes: maxWorkers }, 'maxWorkers');
    ({ engine: this.#engine, resolver: this.#resolver } = createEngine(resolved, observerFor(this)));
    this.#taskTimeout = resolved.taskTimeout;
  }

  /** Number of child processes. */
  get maxWorkers(): number {
    return this.#engine.processes;
  }

  /** True once a crash (policy `'break'`) or a failed initializer has broken the executor. */
  get broken(): boolean {
    return this.#engine.state === 'broken';
  }

  /** With `stdout: 'pipe'`: every child's stdout, in whole lines. Null otherwise. */
  get stdout(): Readable | null {
    return this.#engine.output.stdout;
  }

  /** With `stderr: 'pipe'`: every child's stderr, in whole lines. Null otherwise. */
  get stderr(): Readable | null {
    return this.#engine.output.stderr;
  }

  /** What the executor is doing now, and has done since it was created, in counts. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Schedule `task(...args)`. @throws PoolStateError after shutdown(). */
  submit<T extends TaskRef<M>>(task: T, ...args: TaskArgs<M, T>): Future<TaskResult<M, T>> {
    this.#checkOpen();
    return new Future<TaskResult<M, T>>(this.#engine, this.#resolver.resolve(task), args, this.#taskTimeout, this.#pending);
  }

  /**
   * `task(item)` for every item, results in input order. The input is read lazily, a bounded number of
   * chunks ahead. On an error or a timeout the iterator throws and the rest of the call is cancelled.
   * @throws PoolStateError after shutdown().
   */
  map<T extends TaskRef<M>>(
    task: T,
    iterable: Iterable<TaskArgs<M, T>[0]> | AsyncIterable<TaskArgs<M, T>[0]>,
    { timeout, chunksize }: ExecutorMapOptions = {},
  ): AsyncIterableIterator<TaskResult<M, T>> {
    this.#checkOpen();
    checkTimeout('timeout', timeout);
    const spec = this.#resolver.resolve(task);
    if (!isIterable(iterable)) {
      throw new TypeError(`Expected an iterable or async iterable of inputs, got ${describe(iterable)}.`);
    }
    const results = new ImapIterator<TaskResult<M, T>>(this.#engine, spec, iterable, {
      timeout: this.#taskTimeout,
      signal: undefined,
      chunksize: resolveChunkSize(chunksize, () => 1),
      window: chunkedInputWindow(this.maxWorkers),
      ordered: true,
      resultsTimeout: timeout,
      onPoolClose: 'stop',
    });
    for (const map of this.#maps) if (map.closed) this.#maps.delete(map);
    this.#maps.add(results);
    return results;
  }

  /**
   * Take no more calls, and stop reading the inputs of maps: their consumers meet a PoolStateError where
   * the unread input starts. With `cancelFutures`, cancel the calls no child has taken. With `wait`
   * (default), resolve once the children have exited. Safe to call more than once.
   */
  async shutdown({ wait = true, cancelFutures = false }: ShutdownOptions = {}): Promise<void> {
    this.#shutdown = true;
    if (cancelFutures) {
      for (const future of [...this.#pending]) future.cancel();
      for (const map of this.#maps) map.cancelNotStarted();
    }
    this.#maps.clear();
    this.#engine.close();
    if (wait) await this.#engine.join();
  }

  /** `shutdown({ wait: true })`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  #checkOpen(): void {
    if (this.#shutdown || this.#engine.state === 'closed' || this.#engine.state === 'terminated') {
      throw new PoolStateError('The executor has been shut down: it takes no new calls. Create a new ProcessPoolExecutor.');
    }
  }
}

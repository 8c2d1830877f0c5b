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

export interface ExecutorOptions<M = any> extends Omit<PoolOptions<M>, 'processes'> {
  /** Number of child processes. @default os.availableParallelism() */
  maxWorkers?: number;
}

export interface ExecutorMapOptions {
  /** Every result must be ready within this many ms of the call, or the iterator throws TimeoutError. */
  timeout?: number;
  /** Items per task. @default 1 */
  chunksize?: number;
}

export interface ShutdownOptions {
  /** Wait for the children to exit. @default true */
  wait?: boolean;
  /** Cancel the calls no child has taken yet. @default false */
  cancelFutures?: boolean;
}

export class ProcessPoolExecutor<M = any> extends EventEmitter<PoolEvents> implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #resolver: TaskResolver;
  readonly #taskTimeout: number | undefined;
  /** Submitted futures not yet done, and maps not yet over, for shutdown({ cancelFutures }). */
  readonly #pending = new Set<Future<any>>();
  readonly #maps = new Set<ImapIterator<unknown>>();
  #shutdown = false;

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
    const future = new Future<TaskResult<M, T>>(this.#engine, this.#resolver.resolve(task), args, this.#taskTimeout);
    if (!future.done()) {
      this.#pending.add(future);
      future.addDoneCallback(() => this.#pending.delete(future));
    }
    return future;
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

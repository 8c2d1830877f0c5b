/**
 * What every executor shares, whatever runs its calls (child processes, threads, the hosts of a cluster):
 * concurrent.futures' `Executor`, over the same runners as the pools.
 */
import { ImapIterator } from './calls/imap-call';
import { isIterable, resolveChunkSize } from './calls/input';
import type { TaskResolver } from './calls/task-resolver';
import { invalidArgument, PoolStateError } from './errors';
import type { ChildInfo, PoolEvents } from './events';
import { Future } from './future';
import { checkWaitTimeout } from './options';
import { PoolFace, setupOf } from './pool-face';
import type { TaskRunner } from './scheduler/task-runner';
import { describe, type TaskArgs, type TaskRef, type TaskResult } from './task-ref';

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
 * The API that {@link ProcessPoolExecutor} shares with every executor of this package, Python's
 * `concurrent.futures.Executor`: {@link BaseExecutor.submit | submit} returns a {@link Future},
 * {@link BaseExecutor.map | map} is a lazy async iterator whose `timeout` counts from the call, and
 * {@link BaseExecutor.shutdown | shutdown} ends it. Write code against it to take any of them.
 *
 * @typeParam M - The type of the default module, `typeof import('./tasks.js')`: string task names are
 * checked against its function exports, and arguments and results follow from them.
 * @typeParam W - Which worker an event comes from: {@link ChildInfo} (`{ pid }`) for processes.
 * @typeParam E - The executor's events: {@link PoolEvents}, and whatever events of its own a kind of executor adds.
 */
export abstract class BaseExecutor<M = any, W extends object = ChildInfo, E extends PoolEvents<W> & Record<keyof E, unknown[]> = PoolEvents<W>>
  extends PoolFace<W, E>
  implements AsyncDisposable
{
  readonly #runner: TaskRunner = setupOf(this).runner;
  readonly #resolver: TaskResolver = setupOf(this).resolver;
  readonly #taskTimeout: number | undefined = setupOf(this).taskTimeout;
  /** Submitted futures not yet done, and maps not yet over, for shutdown({ cancelFutures }). */
  readonly #pending = new Set<Future<any>>();
  readonly #maps = new Set<ImapIterator<unknown>>();
  #shutdown = false;

  /** How many calls run at once: child processes, threads, or (in a cluster) processes on all hosts. */
  get maxWorkers(): number {
    return this.#runner.processes;
  }

  /** Schedule `task(...args)`. @throws PoolStateError after shutdown(). */
  submit<T extends TaskRef<M>>(task: T, ...args: TaskArgs<M, T>): Future<TaskResult<M, T>> {
    this.#checkOpen();
    return new Future<TaskResult<M, T>>(this.#runner, this.#resolver.resolve(task), args, this.#taskTimeout, this.#pending);
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
    checkWaitTimeout('timeout', timeout);
    const spec = this.#resolver.resolve(task);
    if (!isIterable(iterable)) {
      throw invalidArgument(`Expected an iterable or async iterable of inputs, got ${describe(iterable)}.`);
    }
    const results = new ImapIterator<TaskResult<M, T>>(this.#runner, spec, iterable, {
      timeout: this.#taskTimeout,
      signal: undefined,
      chunksize: resolveChunkSize(chunksize, () => 1),
      window: () => this.#runner.inputWindow(spec),
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
    this.#runner.close();
    if (wait) await this.#runner.join();
  }

  /** `shutdown({ wait: true })`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  #checkOpen(): void {
    if (this.#shutdown || this.#runner.state === 'closed' || this.#runner.state === 'terminated') {
      throw new PoolStateError('The executor has been shut down: it takes no new calls. Create a new executor.');
    }
  }
}

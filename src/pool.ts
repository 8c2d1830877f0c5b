/**
 * Pool: Python's `multiprocessing.Pool` for Node. A thin facade: it checks arguments and the pool's state,
 * turns each call into tasks, and leaves scheduling to the engine.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { AsyncResult } from './async-result';
import { ApplyCall } from './calls/apply-call';
import type { CallSettings } from './calls/call';
import { ImapIterator } from './calls/imap-call';
import { argumentLists, collect, defaultChunkSize, isIterable, resolveChunkSize } from './calls/input';
import { MapCall } from './calls/map-call';
import { withCallerStack } from './calls/caller-stack';
import { observerFor } from './calls/observer';
import { chunkedInputWindow, createEngine } from './calls/pool-setup';
import type { TaskResolver } from './calls/task-resolver';
import { PoolStateError } from './errors';
import type { PoolEvents, PoolStats } from './events';
import {
  checkTaskOptions,
  resolvePoolOptions,
  type CallbackOptions,
  type ChunkOptions,
  type PoolOptions,
  type CallOptions,
} from './options';
import type { Engine } from './scheduler/engine';
import type { TaskSpec } from './shared/protocol';
import { describe, type TaskArgs, type TaskRef, type TaskResult } from './task-ref';

/** @inline */
type Input<T> = Iterable<T> | AsyncIterable<T>;

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
export class Pool<M = any> extends EventEmitter<PoolEvents> implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #resolver: TaskResolver;
  readonly #taskTimeout: number | undefined;
  #defaultSettings: CallSettings | undefined;

  /**
   * Start the children (`minProcesses` of them, by default all `processes`).
   * @throws TypeError or RangeError for an option of the wrong type or value, naming it.
   */
  constructor(options: PoolOptions<M> = {}) {
    super();
    const resolved = resolvePoolOptions(options);
    ({ engine: this.#engine, resolver: this.#resolver } = createEngine(resolved, observerFor(this)));
    this.#taskTimeout = resolved.taskTimeout;
  }

  /** Number of child processes. */
  get processes(): number {
    return this.#engine.processes;
  }

  /** True once a crash (policy `'break'`) or a failed initializer has broken the pool. */
  get broken(): boolean {
    return this.#engine.state === 'broken';
  }

  /** Pids of the children alive now. */
  get pids(): number[] {
    return this.#engine.pids;
  }

  /** With `stdout: 'pipe'`: every child's stdout, in whole lines. Null otherwise. */
  get stdout(): Readable | null {
    return this.#engine.output.stdout;
  }

  /** With `stderr: 'pipe'`: every child's stderr, in whole lines. Null otherwise. */
  get stderr(): Readable | null {
    return this.#engine.output.stderr;
  }

  /** What the pool is doing now, and has done since it was created, in counts. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Run `task(...args)` in a child; resolves with its result. */
  apply<T extends TaskRef<M>>(task: T, args?: TaskArgs<M, T>, options?: CallOptions): Promise<TaskResult<M, T>> {
    try {
      return withCallerStack(this.#apply<TaskResult<M, T>>(task, args, options).promise);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like {@link apply}, returning an AsyncResult. @throws PoolStateError once closed or terminated. */
  applyAsync<T extends TaskRef<M>>(
    task: T,
    args?: TaskArgs<M, T>,
    options: CallOptions & CallbackOptions<TaskResult<M, T>> = {},
  ): AsyncResult<TaskResult<M, T>> {
    return new AsyncResult(this.#apply<TaskResult<M, T>>(task, args, options).promise, options);
  }

  /** `task(item)` for every item, in input order; the first failing item rejects the call. */
  map<T extends TaskRef<M>>(task: T, iterable: Input<TaskArgs<M, T>[0]>, options?: ChunkOptions): Promise<TaskResult<M, T>[]> {
    try {
      return withCallerStack(this.#map<TaskResult<M, T>>(task, iterable, options, false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like {@link map}, returning an AsyncResult. @throws PoolStateError once closed or terminated. */
  mapAsync<T extends TaskRef<M>>(
    task: T,
    iterable: Input<TaskArgs<M, T>[0]>,
    options: ChunkOptions & CallbackOptions<TaskResult<M, T>[]> = {},
  ): AsyncResult<TaskResult<M, T>[]> {
    return new AsyncResult(this.#map<TaskResult<M, T>>(task, iterable, options, false), options);
  }

  /** `task(...args)` for every argument list, in input order. */
  starmap<T extends TaskRef<M>>(task: T, iterable: Input<TaskArgs<M, T>>, options?: ChunkOptions): Promise<TaskResult<M, T>[]> {
    try {
      return withCallerStack(this.#map<TaskResult<M, T>>(task, iterable, options, true));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like {@link starmap}, returning an AsyncResult. @throws PoolStateError once closed or terminated. */
  starmapAsync<T extends TaskRef<M>>(
    task: T,
    iterable: Input<TaskArgs<M, T>>,
    options: ChunkOptions & CallbackOptions<TaskResult<M, T>[]> = {},
  ): AsyncResult<TaskResult<M, T>[]> {
    return new AsyncResult(this.#map<TaskResult<M, T>>(task, iterable, options, true), options);
  }

  /**
   * Results in input order as they come, reading the input lazily: an endless generator works, and
   * leaving the loop early stops reading it. An item's error is thrown at its position.
   * @throws PoolStateError once closed or terminated.
   */
  imap<T extends TaskRef<M>>(task: T, iterable: Input<TaskArgs<M, T>[0]>, options?: ChunkOptions): AsyncIterableIterator<TaskResult<M, T>> {
    return this.#imap(task, iterable, options, true);
  }

  /** Like {@link imap}, in the order the results finish. */
  imapUnordered<T extends TaskRef<M>>(
    task: T,
    iterable: Input<TaskArgs<M, T>[0]>,
    options?: ChunkOptions,
  ): AsyncIterableIterator<TaskResult<M, T>> {
    return this.#imap(task, iterable, options, false);
  }

  /** Take no new tasks; what was submitted finishes, then the children exit. */
  close(): void {
    this.#engine.close();
  }

  /** Kill the children now; every unfinished task rejects with PoolStateError. */
  terminate(): void {
    this.#engine.terminate();
  }

  /** Resolves when every child has exited. @throws (rejects) PoolStateError before close() or terminate(). */
  join(): Promise<void> {
    return this.#engine.join();
  }

  /** `close()` then `join()`: `await using pool = new Pool()` never drops submitted work. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  // --- Turning calls into tasks ---------------------------------------------------------------------

  #apply<R>(task: unknown, args: unknown, options: CallOptions | undefined): ApplyCall<R> {
    const spec = this.#prepare(task, options);
    if (args !== undefined && !Array.isArray(args)) {
      throw new TypeError(`Expected \`args\` to be an array of arguments, got ${describe(args)}.`);
    }
    return new ApplyCall<R>(this.#engine, spec, args ?? [], this.#callOptions(options));
  }

  /** `spread`: starmap, each item an argument list. */
  #map<R>(task: unknown, iterable: unknown, options: ChunkOptions | undefined, spread: boolean): Promise<R[]> {
    const spec = this.#prepare(task, options);
    checkInput(iterable);
    const chunksize = options?.chunksize === undefined ? undefined : resolveChunkSize(options.chunksize, () => 1);
    const start = (items: unknown[]) =>
      new MapCall<R>(
        this.#engine,
        spec,
        spread ? argumentLists(items) : items,
        spread,
        chunksize ?? defaultChunkSize(items.length, this.processes),
        this.#callOptions(options),
      ).promise;
    if (typeof (iterable as Iterable<unknown>)[Symbol.iterator] === 'function') {
      // Read now: the tasks must be queued before a close() that follows this call.
      let items: unknown[];
      try {
        items = Array.isArray(iterable) ? iterable : Array.from(iterable as Iterable<unknown>);
      } catch (error) {
        return Promise.reject(error);
      }
      return start(items);
    }
    // An async input keeps a closed pool's children until it has been read (and is read to the end).
    const input = { poolClosed() {} };
    this.#engine.openInput(input);
    return collect(iterable as AsyncIterable<unknown>)
      .then(start)
      .finally(() => this.#engine.closeInput(input));
  }

  #imap<R>(task: unknown, iterable: unknown, options: ChunkOptions | undefined, ordered: boolean): ImapIterator<R> {
    const spec = this.#prepare(task, options);
    checkInput(iterable);
    return new ImapIterator<R>(this.#engine, spec, iterable, {
      ...this.#callOptions(options),
      chunksize: resolveChunkSize(options?.chunksize, () => 1),
      window: chunkedInputWindow(this.processes),
      ordered,
      onPoolClose: 'read-all',
    });
  }

  /** Checks shared by every call: the pool takes calls, the task names something, the options are sound. */
  #prepare(task: unknown, options: CallOptions | undefined): TaskSpec {
    const state = this.#engine.state;
    if (state === 'closed' || state === 'terminated') {
      throw new PoolStateError(`The pool is ${state}: it takes no new tasks. Create a new Pool.`);
    }
    checkTaskOptions(options);
    return this.#resolver.resolve(task);
  }

  #callOptions(options: CallOptions | undefined): CallSettings {
    // Most calls pass no options: they share one settings object (no call changes its settings).
    if (options === undefined) return (this.#defaultSettings ??= { timeout: this.#taskTimeout, signal: undefined });
    return { timeout: options.timeout ?? this.#taskTimeout, signal: options.signal, onEvent: options.onEvent };
  }
}

function checkInput(iterable: unknown): asserts iterable is Input<unknown> {
  if (!isIterable(iterable)) {
    throw new TypeError(`Expected an iterable or async iterable of inputs, got ${describe(iterable)}.`);
  }
}

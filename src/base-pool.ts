/**
 * What every pool shares, whatever runs its tasks (child processes, threads, the hosts of a cluster): its
 * calls, their checks, and their shutdown. A thin facade: it checks arguments and the pool's state, turns
 * each call into tasks, and leaves scheduling to its runner.
 */
import { AsyncResult } from './async-result';
import { ApplyCall } from './calls/apply-call';
import type { CallSettings } from './calls/call';
import { withCallerStack } from './calls/caller-stack';
import { ImapIterator } from './calls/imap-call';
import { argumentLists, collect, defaultChunkSize, isIterable, resolveChunkSize } from './calls/input';
import { MapCall } from './calls/map-call';
import type { TaskResolver } from './calls/task-resolver';
import { invalidArgument, PoolStateError } from './errors';
import type { ChildInfo, PoolEvents } from './events';
import { checkTaskOptions, type ApplyOptions, type CallbackOptions, type CallOptions, type ChunkOptions } from './options';
import type { Transferable } from 'node:worker_threads';
import { takeTransfers } from './shared/transfer-list';
import { PoolFace, setupOf } from './pool-face';
import type { TaskRunner } from './scheduler/task-runner';
import type { TaskSpec } from './shared/protocol';
import { describe, type TaskArgs, type TaskRef, type TaskResult } from './task-ref';

/** @inline */
type Input<T> = Iterable<T> | AsyncIterable<T>;

/**
 * The API that {@link Pool} shares with every pool of this package, Python's `multiprocessing.Pool`:
 * {@link BasePool.apply | apply}, {@link BasePool.map | map}, {@link BasePool.starmap | starmap},
 * {@link BasePool.imap | imap}, {@link BasePool.imapUnordered | imapUnordered} and the `…Async` forms, then
 * {@link BasePool.close | close()} and {@link BasePool.join | join()}. Write code against it to take any of
 * them.
 *
 * A pool is an event emitter (`on`, `once`, `off`) of {@link PoolEvents}: `'spawn'`, `'exit'` and
 * `'event'`. It never emits `'error'`: a failure rejects the call that owns it.
 *
 * @typeParam M - The type of the default module, `typeof import('./tasks.js')`: string task names are
 * checked against its function exports, and arguments and results follow from them.
 * @typeParam W - Which worker an event comes from: {@link ChildInfo} (`{ pid }`) for processes.
 * @typeParam E - The pool's events: {@link PoolEvents}, and whatever events of its own a kind of pool adds.
 */
export abstract class BasePool<M = any, W extends object = ChildInfo, E extends PoolEvents<W> & Record<keyof E, unknown[]> = PoolEvents<W>>
  extends PoolFace<W, E>
  implements AsyncDisposable
{
  readonly #runner: TaskRunner = setupOf(this).runner;
  readonly #resolver: TaskResolver = setupOf(this).resolver;
  readonly #taskTimeout: number | undefined = setupOf(this).taskTimeout;
  #defaultSettings: CallSettings | undefined;

  /** How many tasks run at once: child processes, threads, or (in a cluster) processes on all hosts. */
  get processes(): number {
    return this.#runner.processes;
  }

  /**
   * Run `task(...args)` in a worker; resolves with its result. `options.transfer`: buffers to move to a
   * thread rather than copy.
   */
  apply<T extends TaskRef<M>>(task: T, args?: TaskArgs<M, T>, options?: ApplyOptions<W>): Promise<TaskResult<M, T>> {
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
    options: ApplyOptions<W> & CallbackOptions<TaskResult<M, T>> = {},
  ): AsyncResult<TaskResult<M, T>> {
    return new AsyncResult(this.#apply<TaskResult<M, T>>(task, args, options).promise, options);
  }

  /** `task(item)` for every item, in input order; the first failing item rejects the call. */
  map<T extends TaskRef<M>>(task: T, iterable: Input<TaskArgs<M, T>[0]>, options?: ChunkOptions<W>): Promise<TaskResult<M, T>[]> {
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
    options: ChunkOptions<W> & CallbackOptions<TaskResult<M, T>[]> = {},
  ): AsyncResult<TaskResult<M, T>[]> {
    return new AsyncResult(this.#map<TaskResult<M, T>>(task, iterable, options, false), options);
  }

  /** `task(...args)` for every argument list, in input order. */
  starmap<T extends TaskRef<M>>(task: T, iterable: Input<TaskArgs<M, T>>, options?: ChunkOptions<W>): Promise<TaskResult<M, T>[]> {
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
    options: ChunkOptions<W> & CallbackOptions<TaskResult<M, T>[]> = {},
  ): AsyncResult<TaskResult<M, T>[]> {
    return new AsyncResult(this.#map<TaskResult<M, T>>(task, iterable, options, true), options);
  }

  /**
   * Results in input order as they come, reading the input lazily: an endless generator works, and
   * leaving the loop early stops reading it. An item's error is thrown at its position.
   * @throws PoolStateError once closed or terminated.
   */
  imap<T extends TaskRef<M>>(task: T, iterable: Input<TaskArgs<M, T>[0]>, options?: ChunkOptions<W>): AsyncIterableIterator<TaskResult<M, T>> {
    return this.#imap(task, iterable, options, true);
  }

  /** Like {@link imap}, in the order the results finish. */
  imapUnordered<T extends TaskRef<M>>(
    task: T,
    iterable: Input<TaskArgs<M, T>[0]>,
    options?: ChunkOptions<W>,
  ): AsyncIterableIterator<TaskResult<M, T>> {
    return this.#imap(task, iterable, options, false);
  }

  /** Take no new tasks; what was submitted finishes, then the children exit. */
  close(): void {
    this.#runner.close();
  }

  /** Stop the workers now; every unfinished task rejects with PoolStateError. */
  terminate(): void {
    this.#runner.terminate();
  }

  /** Resolves when every child has exited. @throws (rejects) PoolStateError before close() or terminate(). */
  join(): Promise<void> {
    return this.#runner.join();
  }

  /** `close()` then `join()`: `await using pool = new Pool()` never drops submitted work. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  // --- Turning calls into tasks ---------------------------------------------------------------------

  #apply<R>(task: unknown, args: unknown, options: ApplyOptions<W> | undefined): ApplyCall<R> {
    const spec = this.#prepare(task, options);
    if (args !== undefined && !Array.isArray(args)) {
      throw invalidArgument(`Expected \`args\` to be an array of arguments, got ${describe(args)}.`);
    }
    const given = options?.transfer;
    if (given !== undefined && !Array.isArray(given)) {
      throw invalidArgument(`Expected \`transfer\` to be an array of ArrayBuffers and MessagePorts, got ${describe(given)}.`);
    }
    const noted = args === undefined ? undefined : takeTransfers(args);
    // A SharedArrayBuffer is shared, never moved: a transfer list may not name one.
    const moved = given?.filter((item): item is Transferable => !(item instanceof SharedArrayBuffer));
    const transfer = noted === undefined ? moved : moved === undefined ? noted : [...moved, ...noted];
    const settings = this.#callOptions(options);
    return new ApplyCall<R>(this.#runner, spec, args ?? [], transfer === undefined ? settings : { ...settings, transfer });
  }

  /** `spread`: starmap, each item an argument list. */
  #map<R>(task: unknown, iterable: unknown, options: ChunkOptions<W> | undefined, spread: boolean): Promise<R[]> {
    const spec = this.#prepare(task, options);
    checkInput(iterable);
    const chunksize = options?.chunksize === undefined ? undefined : resolveChunkSize(options.chunksize, () => 1);
    const start = (items: unknown[]) =>
      new MapCall<R>(
        this.#runner,
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
    this.#runner.openInput(input);
    return collect(iterable as AsyncIterable<unknown>)
      .then(start)
      .finally(() => this.#runner.closeInput(input));
  }

  #imap<R>(task: unknown, iterable: unknown, options: ChunkOptions<W> | undefined, ordered: boolean): ImapIterator<R> {
    const spec = this.#prepare(task, options);
    checkInput(iterable);
    return new ImapIterator<R>(this.#runner, spec, iterable, {
      ...this.#callOptions(options),
      chunksize: resolveChunkSize(options?.chunksize, () => 1),
      window: () => this.#runner.inputWindow(spec),
      ordered,
      onPoolClose: 'read-all',
    });
  }

  /** Checks shared by every call: the pool takes calls, the task names something, the options are sound. */
  #prepare(task: unknown, options: CallOptions<W> | undefined): TaskSpec {
    const state = this.#runner.state;
    if (state === 'closed' || state === 'terminated') {
      throw new PoolStateError(`The pool is ${state}: it takes no new tasks. Create a new Pool.`);
    }
    checkTaskOptions(options);
    return this.#resolver.resolve(task);
  }

  #callOptions(options: CallOptions<W> | undefined): CallSettings {
    // Most calls pass no options: they share one settings object (no call changes its settings).
    if (options === undefined) return (this.#defaultSettings ??= { timeout: this.#taskTimeout, signal: undefined });
    // The runner reports the worker info of this pool's kind, W.
    const onEvent = options.onEvent as CallSettings['onEvent'];
    return { timeout: options.timeout ?? this.#taskTimeout, signal: options.signal, onEvent };
  }
}

function checkInput(iterable: unknown): asserts iterable is Input<unknown> {
  if (!isIterable(iterable)) {
    throw invalidArgument(`Expected an iterable or async iterable of inputs, got ${describe(iterable)}.`);
  }
}

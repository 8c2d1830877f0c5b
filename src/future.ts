/**
 * Future: concurrent.futures' handle on one submitted call, and a PromiseLike of its result.
 */
import pDefer, { type DeferredPromise } from 'p-defer';
import { reportCallbackError } from './calls/callback-warning';
import { appendCallerStack, rethrowWithCallerStack } from './calls/caller-stack';
import { withTimeout } from './calls/deadline';
import { CancelledError, invalidArgument } from './errors';
import { checkWaitTimeout } from './options';
import type { TaskRunner } from './scheduler/task-runner';
import { Task, type TaskSink } from './scheduler/task';
import type { ChunkValues } from './shared/packing';
import type { TaskSpec } from './shared/protocol';

type FutureOutcome = { value: unknown } | { error: unknown } | { cancelled: true };

/** Set by Future's static block: the sink reaches the future's private #finish through it. */
let finishFuture: (future: Future<any>, outcome: FutureOutcome) => void;

/**
 * The handle on one call submitted with {@link ProcessPoolExecutor.submit}: Python's
 * `concurrent.futures.Future`, and a `PromiseLike` of the call's result (`await future` is
 * `await future.result()`).
 *
 * {@link Future.cancel | cancel()} succeeds for every call that no child has begun, wherever it waits, and
 * a cancelled call never runs. Timeouts are in milliseconds.
 *
 * @typeParam T - What the call resolves to.
 *
 * @example
 * ```ts
 * // An ES module beside tasks.js, which exports fib(n: number): number
 * import { ProcessPoolExecutor } from 'forkpool';
 *
 * const executor = new ProcessPoolExecutor<typeof import('./tasks.js')>({
 *   maxWorkers: 1,
 *   module: import.meta.resolve('./tasks.js'),
 * });
 * const first = executor.submit('fib', 30); // Future<number>
 * const second = executor.submit('fib', 31);
 * console.log(second.cancel()); // true: no child has begun it, and it never runs
 * first.addDoneCallback((future) => console.log('done:', future.done())); // done: true
 * console.log(await first.result(60_000)); // 832040, or a TimeoutError after a minute
 * console.log(await first.exception()); // null: it succeeded
 * console.log(await second.result().catch((error) => error.name)); // CancelledError
 * await executor.shutdown();
 * ```
 */
export class Future<T = unknown> implements PromiseLike<T> {
  readonly #engine: TaskRunner;
  readonly #task: Task;
  // Typed without T, so that a Future<number> is also a Future<unknown>.
  #outcome: FutureOutcome | undefined;
  // What follows is made only when first needed: a hundred thousand tiny futures pending at once each pay
  // for what they hold, and most are awaited once, without a timeout or a done callback.
  /** Resolved with the outcome, for those waiting on it; made by the first wait before the future is done. */
  #settled: DeferredPromise<FutureOutcome> | undefined;
  #callbacks: Array<(future: Future<any>) => void> | undefined;
  /** The executor's futures that are not done, which this one leaves when it is. */
  readonly #pending: Set<Future<any>> | undefined;

  static {
    finishFuture = (future, outcome) => future.#finish(outcome);
  }

  /** @internal Created by ProcessPoolExecutor.submit. */
  constructor(engine: TaskRunner, spec: TaskSpec, args: unknown[], timeout: number | undefined, pending?: Set<Future<any>>) {
    this.#engine = engine;
    this.#pending = pending;
    this.#task = new Task(spec, [args], true, new FutureSink(this), 0, 0, timeout);
    pending?.add(this);
    engine.submit(this.#task);
  }

  /**
   * Cancel the call if no child has begun it, wherever it waits; it then never runs. True if it is (now or
   * already) cancelled; false if a child may have begun it, or it is finished.
   */
  cancel(): boolean {
    if (this.#outcome !== undefined) return 'cancelled' in this.#outcome;
    if (!this.#engine.cancel(this.#task)) return false;
    this.#finish({ cancelled: true });
    return true;
  }

  /** True once {@link Future.cancel | cancel()} (or `shutdown({ cancelFutures: true })`) has cancelled the call. */
  cancelled(): boolean {
    return this.#outcome !== undefined && 'cancelled' in this.#outcome;
  }

  /** True from the moment a child begins the call until it finishes. */
  running(): boolean {
    return this.#outcome === undefined && this.#engine.running(this.#task);
  }

  /** True once the call has finished with an error (not when cancelled). */
  failed(): boolean {
    return this.#outcome !== undefined && 'error' in this.#outcome;
  }

  /** True once finished, failed or cancelled. */
  done(): boolean {
    return this.#outcome !== undefined;
  }

  /**
   * The call's result. Rejects with the call's error, with CancelledError if it was cancelled, or with
   * TimeoutError if it is not done within `timeout` ms (0: not done now; the call goes on).
   */
  result(timeout?: number): Promise<T> {
    // A TimeoutError (the wait itself failed) gets the caller's frames too.
    return this.#await(timeout).then(valueOf, rethrowWithCallerStack) as Promise<T>;
  }

  /** The call's error, or null if it succeeded; rejects like {@link result} when cancelled or late. */
  exception(timeout?: number): Promise<unknown> {
    return this.#await(timeout).then((outcome) => {
      if ('cancelled' in outcome) throw cancelledError();
      return 'error' in outcome ? outcome.error : null;
    });
  }

  /** Call `fn(future)` once when the future is done; at once if it already is. */
  addDoneCallback(fn: (future: Future<T>) => void): void {
    if (typeof fn !== 'function') throw invalidArgument(`Expected a callback function, got ${typeof fn}.`);
    if (this.#outcome === undefined) (this.#callbacks ??= []).push(fn);
    else this.#invoke(fn);
  }

  /** Makes a future awaitable: `await future` is `await future.result()`. */
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(onFulfilled, onRejected);
  }

  /** The outcome, once known; a bad timeout rejects, never throws (result() and exception() return promises). */
  #await(timeout: number | undefined): Promise<FutureOutcome> {
    try {
      checkWaitTimeout('timeout', timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    const settled = this.#outcome !== undefined ? Promise.resolve(this.#outcome) : (this.#settled ??= pDefer()).promise;
    return withTimeout(settled, timeout, `The future was not done within ${timeout} ms.`, () => this.#outcome !== undefined);
  }

  #finish(outcome: FutureOutcome): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#settled?.resolve(outcome);
    this.#pending?.delete(this);
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    for (const fn of callbacks ?? []) this.#invoke(fn);
  }

  #invoke(fn: (future: Future<any>) => void): void {
    try {
      fn(this);
    } catch (error) {
      reportCallbackError(error, 'done callback');
    }
  }
}

/** The result an outcome stands for, or its error thrown with the frames of the code awaiting it. */
function valueOf(outcome: FutureOutcome): unknown {
  if ('value' in outcome) return outcome.value;
  throw appendCallerStack('error' in outcome ? outcome.error : cancelledError(), valueOf);
}

/** Where a future's task reports: one small object per future rather than an object and two closures. */
class FutureSink implements TaskSink {
  constructor(readonly future: Future<any>) {}

  resolveTask(_task: Task, values: ChunkValues): void {
    finishFuture(this.future, { value: values[0] });
  }

  rejectTask(_task: Task, error: unknown): void {
    finishFuture(this.future, { error });
  }
}

function cancelledError(): CancelledError {
  return new CancelledError('The future was cancelled before it started.');
}

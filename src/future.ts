/**
 * Future: concurrent.futures' handle on one submitted call, and a PromiseLike of its result.
 */
import pDefer from 'p-defer';
import { reportCallbackError } from './calls/callback-warning';
import { withCallerStack } from './calls/caller-stack';
import { withTimeout } from './calls/deadline';
import { CancelledError } from './errors';
import { checkTimeout } from './options';
import type { Engine } from './scheduler/engine';
import { Task, type TaskSink } from './scheduler/task';
import type { TaskSpec } from './shared/protocol';

type FutureOutcome = { value: unknown } | { error: unknown } | { cancelled: true };

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
  readonly #engine: Engine;
  readonly #task: Task;
  // Typed without T, so that a Future<number> is also a Future<unknown>.
  readonly #settled = pDefer<FutureOutcome>();
  #outcome: FutureOutcome | undefined;
  #callbacks: Array<(future: Future<any>) => void> = [];
  readonly #sink: TaskSink = {
    resolveTask: (_task, values) => this.#finish({ value: values[0] }),
    rejectTask: (_task, error) => this.#finish({ error }),
  };

  /** @internal Created by ProcessPoolExecutor.submit. */
  constructor(engine: Engine, spec: TaskSpec, args: unknown[], timeout: number | undefined) {
    this.#engine = engine;
    this.#task = new Task(spec, [args], true, this.#sink, 0, 0, timeout);
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
   * TimeoutError if it is not done within `timeout` ms (the call goes on).
   */
  result(timeout?: number): Promise<T> {
    return withCallerStack(
      this.#await(timeout).then((outcome) => {
        if ('value' in outcome) return outcome.value as T;
        throw 'error' in outcome ? outcome.error : cancelledError();
      }),
    );
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
    if (typeof fn !== 'function') throw new TypeError(`Expected a callback function, got ${typeof fn}.`);
    if (this.#outcome === undefined) this.#callbacks.push(fn);
    else this.#invoke(fn);
  }

  /** Makes a future awaitable: `await future` is `await future.result()`. */
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(onFulfilled, onRejected);
  }

  #await(timeout: number | undefined): Promise<FutureOutcome> {
    checkTimeout('timeout', timeout);
    return withTimeout(this.#settled.promise, timeout, `The future was not done within ${timeout} ms.`);
  }

  #finish(outcome: FutureOutcome): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#settled.resolve(outcome);
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const fn of callbacks) this.#invoke(fn);
  }

  #invoke(fn: (future: Future<any>) => void): void {
    try {
      fn(this);
    } catch (error) {
      reportCallbackError(error, 'done callback');
    }
  }
}

function cancelledError(): CancelledError {
  return new CancelledError('The future was cancelled before it started.');
}

/**
 * AsyncResult: Python's handle on a submitted job (`apply_async`, `map_async`), and a PromiseLike.
 */
import { PoolStateError } from './errors';
import { checkWaitTimeout } from './options';
import { reportCallbackError } from './calls/callback-warning';
import { withCallerStack } from './calls/caller-stack';
import { settledWithin, withTimeout } from './calls/deadline';

export interface AsyncResultCallbacks<T> {
  callback?: (result: T) => void;
  errorCallback?: (error: unknown) => void;
}

/**
 * The handle on a call submitted with {@link Pool.applyAsync}, {@link Pool.mapAsync} or
 * {@link Pool.starmapAsync}: Python's `multiprocessing.pool.AsyncResult`, and a `PromiseLike` of the
 * call's result (`await result` is `await result.get()`). Timeouts are in milliseconds.
 *
 * The call's `callback` or `errorCallback` option is called once, before `get()` settles; one that throws
 * becomes a process warning.
 *
 * @typeParam T - What the call resolves to.
 *
 * @example
 * ```ts
 * // An ES module beside tasks.js, which exports fib(n: number): number
 * import { Pool } from 'forkpool';
 *
 * const pool = new Pool<typeof import('./tasks.js')>({ module: import.meta.resolve('./tasks.js') });
 * const result = pool.mapAsync('fib', [10, 20, 30], { callback: (fibs) => console.log('callback:', fibs) });
 * console.log(result.ready()); // false: it has only been submitted
 * await result.wait(); // callback: [ 55, 6765, 832040 ]
 * console.log(result.ready(), result.successful()); // true true
 * console.log(await result.get(1000)); // [ 55, 6765, 832040 ]
 * pool.close();
 * await pool.join();
 * ```
 */
export class AsyncResult<T> implements PromiseLike<T> {
  #ready = false;
  #successful = false;
  #value: T | undefined;
  #error: unknown;
  /** Fulfils once the outcome is known and the callbacks have run; never rejects. */
  readonly #done: Promise<void>;

  /** @internal Created by the pool. */
  constructor(outcome: Promise<T>, { callback, errorCallback }: AsyncResultCallbacks<T> = {}) {
    this.#done = outcome.then(
      (value) => {
        this.#value = value;
        this.#successful = true;
        this.#ready = true;
        if (callback !== undefined) invoke(callback, value, 'callback');
      },
      (error: unknown) => {
        this.#error = error;
        this.#ready = true;
        if (errorCallback !== undefined) invoke(errorCallback, error, 'errorCallback');
      },
    );
  }

  /**
   * The result, or the task's error. With `timeout` (ms), rejects with TimeoutError if the result is not
   * ready by then (0: not ready now); the task itself goes on. A negative or non-numeric `timeout` rejects
   * with RangeError.
   */
  get(timeout?: number): Promise<T> {
    try {
      checkWaitTimeout('timeout', timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    const outcome = this.#done.then(() => {
      if (!this.#successful) throw this.#error;
      return this.#value as T;
    });
    const ready = () => this.#ready;
    return withCallerStack(withTimeout(outcome, timeout, `The result was not ready within ${timeout} ms.`, ready));
  }

  /**
   * Resolves when the result is ready, or after `timeout` ms (0: at once); never rejects but for a bad
   * `timeout` (RangeError).
   */
  wait(timeout?: number): Promise<void> {
    try {
      checkWaitTimeout('timeout', timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    return settledWithin(this.#done, timeout, () => this.#ready);
  }

  /** Whether the call has finished. */
  ready(): boolean {
    return this.#ready;
  }

  /** Whether the call finished without an error. @throws PoolStateError before it is ready. */
  successful(): boolean {
    if (!this.#ready) throw new PoolStateError('successful() is only known once the result is ready: await wait() first.');
    return this.#successful;
  }

  /** Makes the result awaitable: `await result` is `await result.get()`. */
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.get().then(onFulfilled, onRejected);
  }
}

function invoke<V>(fn: (value: V) => void, value: V, where: string): void {
  try {
    fn(value);
  } catch (error) {
    reportCallbackError(error, where);
  }
}

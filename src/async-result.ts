/**
 * AsyncResult: Python's handle on a submitted job (`apply_async`, `map_async`), and a PromiseLike.
 */
import { PoolStateError } from './errors';
import { checkTimeout } from './options';
import { reportCallbackError } from './calls/callback-warning';
import { settledWithin, withTimeout } from './calls/deadline';

export interface AsyncResultCallbacks<T> {
  callback?: (result: T) => void;
  errorCallback?: (error: unknown) => void;
}

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
   * ready by then; the task itself goes on.
   */
  get(timeout?: number): Promise<T> {
    checkTimeout('timeout', timeout);
    const outcome = this.#done.then(() => {
      if (!this.#successful) throw this.#error;
      return this.#value as T;
    });
    return withTimeout(outcome, timeout, `The result was not ready within ${timeout} ms.`);
  }

  /** Resolves when the result is ready, or after `timeout` ms; never rejects. */
  wait(timeout?: number): Promise<void> {
    checkTimeout('timeout', timeout);
    return settledWithin(this.#done, timeout);
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

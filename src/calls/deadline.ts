/**
 * Waiting with a deadline, the one way every caller-facing wait is done (AsyncResult.get, Future.result,
 * asCompleted, wait, the iterators of imap and executor.map): no timer outlives its wait, and any positive
 * number of milliseconds is honoured (see scheduler/timer.ts).
 */
import { TimeoutError } from '../errors';
import { startTimer } from '../scheduler/timer';

/**
 * Something to wait for again and again: `wait()` returns once `wake()` is called or the deadline passes.
 * One waiter at a time.
 */
export class Wakeup {
  #wake: (() => void) | undefined;

  /** Resolves with true when woken, false when `deadline` (a Date.now() time; Infinity: none) passes first. */
  wait(deadline = Infinity): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const left = deadline - Date.now();
      if (left <= 0) {
        resolve(false);
        return;
      }
      const timer = startTimer(left, () => {
        this.#wake = undefined;
        resolve(false);
      });
      this.#wake = () => {
        timer.cancel();
        resolve(true);
      };
    });
  }

  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * Settle with `promise`, or reject with TimeoutError(message) if `timeout` ms pass first. A timeout of 0 does
 * not wait: `promise` if `ready()` says it is settled already, else the TimeoutError at once.
 */
export function withTimeout<T>(promise: Promise<T>, timeout: number | undefined, message: string, ready?: () => boolean): Promise<T> {
  if (timeout === undefined || timeout === Infinity) return promise;
  if (timeout === 0 && ready !== undefined) return ready() ? promise : Promise.reject(new TimeoutError(message, timeout));
  return new Promise<T>((resolve, reject) => {
    const timer = startTimer(timeout, () => reject(new TimeoutError(message, timeout)));
    promise.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
}

/** Resolve when `promise` settles or `timeout` ms pass, whichever is first (see withTimeout); never rejects. */
export function settledWithin(promise: Promise<unknown>, timeout: number | undefined, ready?: () => boolean): Promise<void> {
  const settled = promise.then(
    () => undefined,
    () => undefined,
  );
  return withTimeout(settled, timeout, '', ready).catch(() => undefined);
}

/** The Date.now() time `timeout` ms from now; Infinity without a timeout. */
export function deadlineIn(timeout: number | undefined): number {
  return timeout === undefined ? Infinity : Date.now() + timeout;
}

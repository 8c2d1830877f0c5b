/**
 * Racing a promise against a deadline without leaving a timer behind once either side wins.
 */
import { TimeoutError } from '../errors';

/** Settle with `promise`, or reject with TimeoutError(message) if `timeout` ms pass first. */
export function withTimeout<T>(promise: Promise<T>, timeout: number | undefined, message: string): Promise<T> {
  if (timeout === undefined || timeout === Infinity) return promise;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message, timeout)), timeout);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Resolve when `promise` settles or `timeout` ms pass, whichever is first; never rejects. */
export function settledWithin(promise: Promise<unknown>, timeout: number | undefined): Promise<void> {
  const settled = promise.then(
    () => undefined,
    () => undefined,
  );
  return withTimeout(settled, timeout, '').catch(() => undefined);
}

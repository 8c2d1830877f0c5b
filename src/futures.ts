/**
 * concurrent.futures' module functions over a set of futures: `asCompleted` and `wait`.
 */
import { Wakeup, deadlineIn } from './calls/deadline';
import { invalidArgument, TimeoutError } from './errors';
import { Future } from './future';
import { checkWaitTimeout } from './options';

/** {@link wait} returns when any future finishes or is cancelled. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** {@link wait} returns when any future fails, or else when all are done. */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** {@link wait} returns when every future is done (the default). */
export const ALL_COMPLETED = 'ALL_COMPLETED';
/** When {@link wait} returns: Python's `return_when`. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/**
 * What {@link asCompleted} and {@link wait} take: futures from any executor.
 * @inline
 */
type AnyFuture = Pick<Future<unknown>, 'done' | 'failed' | 'addDoneCallback'>;

/** The futures {@link asCompleted} hands out, the caller's own objects with their own type `F`, as they finish. */
export interface AsCompletedIterator<F> extends AsyncIterableIterator<F> {
  /** The next future to finish, or the end once every one has been handed out. @throws TimeoutError */
  next(): Promise<IteratorResult<F, undefined>>;
  /** Stop early (`break` out of a `for await`): no more futures are handed out. */
  return(): Promise<IteratorReturnResult<undefined>>;
  /** The iterator itself. */
  [Symbol.asyncIterator](): AsCompletedIterator<F>;
}

/** An iterator of {@link asCompleted} that has handed out every future, or has thrown: it yields no more. */
export interface SpentFutureIterator extends AsyncIterableIterator<never> {
  /** The end. */
  next(): Promise<IteratorReturnResult<undefined>>;
  /** The end. */
  return(): Promise<IteratorReturnResult<undefined>>;
  /** The iterator itself. */
  [Symbol.asyncIterator](): SpentFutureIterator;
}

/**
 * What {@link asCompleted} returns, typed so that `for await (const future of asCompleted(futures))` types
 * `future` as `F`, the future itself. A future is a thenable, and TypeScript types the variable of a
 * `for await` over an iterator of thenables as their result, at least from the second loop over the same
 * iterator type on; over a union of iterator types it keeps the types it worked out the first time, which
 * are the yielded type as it is. At run time it is one iterator, spent once it has thrown or finished.
 */
export type FutureIterator<F> = AsCompletedIterator<F> | SpentFutureIterator;

/**
 * Yield each future once, as it finishes; those already done first. Throws TimeoutError if some are still
 * unfinished `timeout` ms after the call.
 *
 * Not an async generator: `yield future` there would hand out the future's result, not the future.
 */
export function asCompleted<F extends AnyFuture>(
  futures: Iterable<F>,
  { timeout }: { timeout?: number } = {},
): FutureIterator<F> {
  checkWaitTimeout('timeout', timeout);
  const all = unique(futures);
  const deadline = deadlineIn(timeout);
  const finished: F[] = all.filter((future) => future.done());
  let handedOut = 0;
  const wakeup = new Wakeup();
  for (const future of all) {
    if (!future.done()) {
      future.addDoneCallback(() => {
        finished.push(future);
        wakeup.wake();
      });
    }
  }
  const iterator: AsCompletedIterator<F> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      while (handedOut < finished.length || handedOut < all.length) {
        if (handedOut < finished.length) return { done: false, value: finished[handedOut++] };
        if (!(await wakeup.wait(deadline)) && handedOut === finished.length && handedOut < all.length) {
          handedOut = all.length; // the iterator is spent once it has thrown
          const unfinished = all.length - finished.length;
          throw new TimeoutError(`${unfinished} of ${all.length} futures unfinished after ${timeout} ms.`, timeout!);
        }
      }
      return { done: true, value: undefined };
    },
    async return() {
      handedOut = all.length;
      wakeup.wake();
      return { done: true, value: undefined } as const;
    },
  };
  return iterator;
}

/**
 * Wait until `returnWhen` holds (default ALL_COMPLETED) or `timeout` ms pass, then split the futures into
 * done and not done. Never throws on timeout.
 */
export async function wait<F extends AnyFuture>(
  futures: Iterable<F>,
  { timeout, returnWhen = ALL_COMPLETED }: { timeout?: number; returnWhen?: ReturnWhen } = {},
): Promise<{
  /** The futures finished, failed or cancelled when `wait` returned. */
  done: Set<F>;
  /** The others. */
  notDone: Set<F>;
}> {
  checkWaitTimeout('timeout', timeout);
  if (![FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED].includes(returnWhen)) {
    throw invalidArgument(`Expected \`returnWhen\` to be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${String(returnWhen)}.`);
  }
  const all = unique(futures);
  const satisfied = () => {
    const done = all.filter((future) => future.done());
    if (returnWhen === FIRST_COMPLETED) return done.length > 0 || all.length === 0;
    if (returnWhen === FIRST_EXCEPTION && done.some((future) => future.failed())) return true;
    return done.length === all.length;
  };
  if (!satisfied()) {
    const wakeup = new Wakeup();
    for (const future of all) future.addDoneCallback(() => satisfied() && wakeup.wake());
    await wakeup.wait(deadlineIn(timeout));
  }
  const done = new Set(all.filter((future) => future.done()));
  return { done, notDone: new Set(all.filter((future) => !done.has(future))) };
}

function unique<F extends AnyFuture>(futures: Iterable<F>): F[] {
  const all = [...new Set(futures)];
  for (const future of all) {
    if (!(future instanceof Future)) throw invalidArgument(`Expected futures from ProcessPoolExecutor.submit, got ${typeof future}.`);
  }
  return all;
}

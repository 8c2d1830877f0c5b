/**
 * concurrent.futures' module functions over a set of futures: `asCompleted` and `wait`.
 */
import { Wakeup, deadlineIn } from './calls/deadline';
import { TimeoutError } from './errors';
import { Future } from './future';
import { checkTimeout } from './options';

/** {@link wait} returns when any future finishes or is cancelled. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** {@link wait} returns when any future fails, or else when all are done. */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** {@link wait} returns when every future is done (the default). */
export const ALL_COMPLETED = 'ALL_COMPLETED';
/** When {@link wait} returns: Python's `return_when`. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/**
 * A future as `asCompleted` yields it. The object is the Future itself; its type leaves out `then` only
 * because TypeScript types a `for await` variable as the awaited value, which for a thenable would be its
 * result. `asCompleted` and `wait` take futures of either type.
 */
export type CompletedFuture<F extends AnyFuture = Future<unknown>> = Omit<F, 'then'>;
/** @inline */
type AnyFuture = Omit<Future<unknown>, 'then'>;

/**
 * Yield each future once, as it finishes; those already done first. Throws TimeoutError if some are still
 * unfinished `timeout` ms after the call.
 *
 * Not an async generator: `yield future` there would hand out the future's result, not the future.
 */
export function asCompleted<F extends AnyFuture>(
  futures: Iterable<F>,
  { timeout }: { timeout?: number } = {},
): AsyncIterableIterator<CompletedFuture<F>> {
  checkTimeout('timeout', timeout);
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
  const iterator: AsyncIterableIterator<CompletedFuture<F>> = {
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
      return { done: true, value: undefined };
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
  checkTimeout('timeout', timeout);
  if (![FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED].includes(returnWhen)) {
    throw new TypeError(`Expected \`returnWhen\` to be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${String(returnWhen)}.`);
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
    if (!(future instanceof Future)) throw new TypeError(`Expected futures from ProcessPoolExecutor.submit, got ${typeof future}.`);
  }
  return all;
}

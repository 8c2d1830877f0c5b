/**
 * The pool's own failure kinds, one class each, every one with a stable `code` to branch on, plus the
 * wire format that carries a task's error from a child back to the caller.
 */

/** Base class of every error the pool itself raises; never thrown as such. */
export abstract class PoolError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Why a child stopped without being asked to, as {@link BrokenPoolError} reports it. */
export interface ChildExit {
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child died without being asked to (`process.exit`, a signal, out of memory), or an initializer failed.
 * The tasks the child held reject with it; with `onWorkerCrash: 'break'` so does everything else.
 */
export class BrokenPoolError extends PoolError {
  readonly code = 'ERR_POOL_BROKEN';
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;

  constructor(message: string, exit: Partial<ChildExit> = {}, options?: ErrorOptions) {
    super(message, options);
    this.pid = exit.pid;
    this.exitCode = exit.exitCode ?? null;
    this.signal = exit.signal ?? null;
  }
}

/** A task ran longer than its `timeout`, or a wait (`get(timeout)`, `result(timeout)`) gave up. */
export class TimeoutError extends PoolError {
  readonly code = 'ERR_POOL_TIMEOUT';
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(message: string, timeout: number) {
    super(message);
    this.timeout = timeout;
  }
}

/** The result of a future that was cancelled before it started. */
export class CancelledError extends PoolError {
  readonly code = 'ERR_POOL_CANCELLED';
}

/** The pool was used in a state that does not allow it: a submit after `close()`, a `join()` while running. */
export class PoolStateError extends PoolError {
  readonly code = 'ERR_POOL_STATE';
}

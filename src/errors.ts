/**
 * The pool's own failure kinds, one class each, every one with a stable `code` to branch on, plus the
 * wire format that carries a task's error from a child back to the caller.
 */

/**
 * Base class of every error the pool itself raises; never thrown as such. Branch on `instanceof` a subclass
 * or on `code`. A task's own error is not wrapped in one: it rejects the call as itself.
 */
export abstract class PoolError extends Error {
  /** Stable, one per class: `'ERR_POOL_BROKEN'`, `'ERR_POOL_TIMEOUT'`, `'ERR_POOL_CANCELLED'`, `'ERR_POOL_STATE'`. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Why a worker stopped without being asked to, as {@link BrokenPoolError} reports it. */
export interface ChildExit {
  /** The child's process id; undefined for a thread, or when no child could be started. */
  pid: number | undefined;
  /** The worker thread's id (ThreadPool); undefined for a child process. */
  threadId?: number | undefined;
  /** Its exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it (`'SIGKILL'`, ...), or null. */
  signal: NodeJS.Signals | null;
}

/**
 * A child died without being asked to (`process.exit`, a signal, out of memory), or an initializer failed.
 * The tasks the child held reject with it; with `onWorkerCrash: 'break'` so does everything else.
 */
export class BrokenPoolError extends PoolError {
  /** `'ERR_POOL_BROKEN'`; a subclass for a failure kind of its own has a code of its own. */
  readonly code: string = 'ERR_POOL_BROKEN';
  /** The process id of the child that died or whose initializer failed; undefined when a fork failed. */
  readonly pid: number | undefined;
  /** In a ThreadPool, the id of the thread that died or whose initializer failed (where a process has `pid`). */
  readonly threadId: number | undefined;
  /** The dead child's exit code; null when a signal ended it, or when no child died (a failed initializer). */
  readonly exitCode: number | null;
  /** The signal that ended the child (`'SIGKILL'` for the out-of-memory killer, say), or null. */
  readonly signal: NodeJS.Signals | null;

  constructor(message: string, exit: Partial<ChildExit> = {}, options?: ErrorOptions) {
    super(message, options);
    this.pid = exit.pid;
    this.threadId = exit.threadId;
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

/** @internal `error` with `code` set: the built-in errors the pool raises carry a code too. */
export function withCode<E extends Error>(error: E, code: string): E & { code: string } {
  return Object.assign(error, { code });
}

/** @internal An argument or option of the wrong type: a TypeError with Node's code for it. */
export function invalidArgument(message: string): TypeError & { code: string } {
  return withCode(new TypeError(message), 'ERR_INVALID_ARG_TYPE');
}

/** @internal A number out of its range: a RangeError with Node's code for it. */
export function outOfRange(message: string): RangeError & { code: string } {
  return withCode(new RangeError(message), 'ERR_OUT_OF_RANGE');
}

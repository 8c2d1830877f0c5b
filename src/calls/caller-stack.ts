/**
 * A task's error carries the child's stack, and below it the parent's: the awaiting code that called
 * `apply`, `map`, `submit`... (API.md, "Packaging").
 *
 * Capturing a stack at every call would cost the tiny-task path microseconds each. Instead, what a call
 * returns settles through a rejection handler, which captures a stack only when it runs: V8's async stack
 * traces follow the promise it returns to the async functions awaiting it, the caller's line among them.
 * Nothing is captured for a call that succeeds. A handler rather than an async function wrapping the call:
 * a pending async function holds a frame of its own, which made every pending tiny call half again as large.
 */

/** Errors whose stack has had the caller's frames added: an error handed to several callers gets them once. */
const extended = new WeakSet<object>();

/** `promise`, whose rejection's stack gets the frames of the code awaiting it. */
export function withCallerStack<T>(promise: Promise<T>): Promise<T> {
  return promise.then(undefined, rethrowWithCallerStack);
}

/** A rejection handler: `error` rethrown with the frames of the code awaiting the promise it settles. */
export function rethrowWithCallerStack(error: unknown): never {
  throw appendCallerStack(error, rethrowWithCallerStack);
}

/**
 * `error`, with the frames of the code awaiting the promise that `handler` (a promise handler, running now)
 * settles. For handlers that do more than rethrow, saving a promise and a turn of the microtask queue.
 */
export function appendCallerStack(error: unknown, handler: (...args: never[]) => unknown): unknown {
  if (!(error instanceof Error) || extended.has(error) || typeof error.stack !== 'string') return error;
  try {
    const here: { stack?: string } = {};
    // From the frame below the handler: the awaiting code.
    Error.captureStackTrace(here, handler);
    // The first line is the header; Node's own frames are the microtask queue's.
    const frames = (here.stack ?? '').split('\n').slice(1).filter((frame) => !/\(node:internal\/|at node:internal\//.test(frame));
    if (frames.length > 0) {
      error.stack = `${error.stack}\n    --- awaited in the parent process (pid ${process.pid}) at:\n${frames.join('\n')}`;
      extended.add(error);
    }
  } catch {
    // A frozen error, or a stack that cannot be set: it keeps the child's stack alone.
  }
  return error;
}

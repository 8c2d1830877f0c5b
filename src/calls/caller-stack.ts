/**
 * A task's error carries the child's stack, and below it the parent's: the awaiting code that called
 * `apply`, `map`, `submit`... (API.md, "Packaging").
 *
 * Capturing a stack at every call would cost the tiny-task path microseconds each. Instead, what a call
 * returns settles through an async function, which captures a stack only when it rejects: V8's async stack
 * traces then name the async functions awaiting it, the caller's line among them. Nothing is captured for a
 * call that succeeds.
 */

/** Errors whose stack has had the caller's frames added: an error handed to several callers gets them once. */
const extended = new WeakSet<object>();

/** `promise`, whose rejection's stack gets the frames of the code awaiting it. */
export async function withCallerStack<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw appendCallerStack(error);
  }
}

function appendCallerStack(error: unknown): unknown {
  if (!(error instanceof Error) || extended.has(error) || typeof error.stack !== 'string') return error;
  try {
    const here: { stack?: string } = {};
    Error.captureStackTrace(here, appendCallerStack);
    // The first two lines: the header, and withCallerStack itself; and Node's own frames (the microtask queue).
    const frames = (here.stack ?? '').split('\n').slice(2).filter((frame) => !/\(node:internal\/|at node:internal\//.test(frame));
    if (frames.length > 0) {
      error.stack = `${error.stack}\n    --- awaited in the parent process (pid ${process.pid}) at:\n${frames.join('\n')}`;
      extended.add(error);
    }
  } catch {
    // A frozen error, or a stack that cannot be set: it keeps the child's stack alone.
  }
  return error;
}

/**
 * Every message the parent and a child exchange over the IPC channel, read by both sides.
 *
 * The pull loop: a child announces itself with `pool:ready` asking for `credits` tasks; the parent answers
 * each credit with at most one `pool:task` and never sends a task nobody asked for. Every `pool:result` or
 * `pool:error` gives one credit back, so a child that asked for two keeps one task queued behind the one it
 * runs and never waits a round trip between them.
 *
 * Pool messages carry the {@link MESSAGE_TAG} key; anything else on the channel (a task calling
 * `process.send` itself) is not the pool's and is ignored by both sides.
 */
import type { WireError } from './errors';

export const MESSAGE_TAG = '__forkpool__';
/** Bumped when a message changes shape, so a stale child script fails loudly instead of misreading. */
export const PROTOCOL_VERSION = 1;

/** How a child finds the function to run. */
export type TaskSpec =
  /** `module` is absolute, a `file:` URL, or a bare package name resolved from `baseDir`. */
  | { kind: 'module'; module: string; name: string; baseDir: string }
  /** A self-contained function shipped as its source text. */
  | { kind: 'inline'; source: string; name: string };

interface Tagged<T extends string> {
  [MESSAGE_TAG]: typeof PROTOCOL_VERSION;
  type: T;
}

// Parent → child.

/** First message to every child: what to run before asking for work. */
export interface InitMessage extends Tagged<'pool:init'> {
  initializer: TaskSpec | null;
  initargs: unknown[];
  /** `'json'` makes the child check its results for values JSON would drop silently. */
  serialization: 'advanced' | 'json';
}

/** One task: a chunk of calls of the same function, run in order. */
export interface TaskMessage extends Tagged<'pool:task'> {
  id: number;
  task: TaskSpec;
  /** The argument list of each call. */
  calls: unknown[][];
}

/** Drop these tasks if they have not started; each one dropped gives its credit back with `pool:ready`. */
export interface CancelMessage extends Tagged<'pool:cancel'> {
  ids: number[];
}

/** Finish what was taken, then exit with code 0. */
export interface ExitMessage extends Tagged<'pool:exit'> {}

// Child → parent.

export interface ReadyMessage extends Tagged<'pool:ready'> {
  credits: number;
}

export interface ResultMessage extends Tagged<'pool:result'> {
  id: number;
  /** One result per call of the chunk, in order. */
  values: unknown[];
}

export interface ErrorMessage extends Tagged<'pool:error'> {
  id: number;
  /** Which call of the chunk failed; the calls after it did not run. */
  index: number;
  error: WireError;
}

export interface InitErrorMessage extends Tagged<'pool:init-error'> {
  error: WireError;
}

export type ParentMessage = InitMessage | TaskMessage | CancelMessage | ExitMessage;
export type ChildMessage = ReadyMessage | ResultMessage | ErrorMessage | InitErrorMessage;

type Untagged<M> = M extends Tagged<string> ? Omit<M, typeof MESSAGE_TAG> : never;

/** Stamp a message body with the tag. */
export function tag<M extends ParentMessage | ChildMessage>(body: Untagged<M>): M {
  return { [MESSAGE_TAG]: PROTOCOL_VERSION, ...body } as M;
}

/** True for messages of this protocol; false for whatever else a task sends on the channel. */
export function isPoolMessage(message: unknown): message is ParentMessage | ChildMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as Record<string, unknown>)[MESSAGE_TAG] === PROTOCOL_VERSION
  );
}

/**
 * Every message the parent and a child exchange over the IPC channel, read by both sides.
 *
 * The pull loop: a child announces itself with `pool:ready` asking for `credits` tasks; the parent answers
 * each credit with at most one task and never sends a task nobody asked for. A child asks for two at first,
 * so one waits behind the one it runs and no round trip separates them; one that finds its tasks tiny asks
 * for more, and gets them several to a `pool:tasks` message, and answers several to a `pool:results`.
 *
 * Pool messages carry the {@link MESSAGE_TAG} key; anything else on the channel (a task calling
 * `process.send` itself) is not the pool's and is ignored by both sides.
 */
import type { WireError } from './wire-error';
import type { ChunkValues } from './packing';

export const MESSAGE_TAG = '__forkpool__';
/** Bumped when a message changes shape, so a stale child script fails loudly instead of misreading. */
export const PROTOCOL_VERSION = 1;

/** `module` is absolute, a `file:` URL, or a bare package name resolved from `baseDir`. */
export interface ModuleLocation {
  module: string;
  baseDir: string;
}

/**
 * How a child finds the function to run. `id` is unique in the parent process: a child is sent the spec
 * once, and afterwards only its id.
 */
export type TaskSpec =
  | ({ id: number; kind: 'module'; name: string } & ModuleLocation)
  /** A self-contained function shipped as its source text. */
  | { id: number; kind: 'inline'; source: string; name: string };

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
  /** No guard watches for the parent's death on the child's behalf: the child watches itself. */
  watchParent: boolean;
  /**
   * The pool's default module: the child loads it once it has asked for work, while the ask travels,
   * so that the first task does not wait for it.
   */
  preload: ModuleLocation | null;
}

/** One task: a chunk of calls of the same function, run in order. */
export interface WireTask {
  id: number;
  /** The TaskSpec's id. */
  fn: number;
  /** The spec itself, the first time this child meets it. */
  spec?: TaskSpec;
  /** One input per call: its single argument, or with `spread` its argument list. */
  inputs: ChunkValues;
  spread?: true;
  /** Its outcome is awaited by a clock (a timeout) or an abort: send it as soon as it is known. */
  urgent?: true;
  /**
   * The call it belongs to. A call ends at its first error, so when a task fails the child drops the
   * tasks of the same call it holds, without waiting for the parent's `pool:cancel`.
   */
  call: number;
}

/**
 * How many finished results a child may hold back to send together, when `window` is the number of
 * tasks it has asked for and not yet answered. Both sides rely on it: if the child dies, that many tasks
 * past the one it was running may have run without their results arriving, and must not run again.
 */
export function maxUnsentResults(window: number): number {
  return Math.max(0, Math.ceil(window / 4) - 1);
}

/** Tasks to run in order, one per credit the child gave. */
export interface TasksMessage extends Tagged<'pool:tasks'> {
  tasks: WireTask[];
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

/** How one task ended: its values, one per call of the chunk, or the error of the call `index` that failed. */
export type WireResult = { id: number; values: ChunkValues } | { id: number; index: number; error: WireError };

/**
 * Outcomes of tasks in the order they ran, and how many tasks the child asks for now (including again
 * those it dropped because another task of their call failed).
 */
export interface ResultsMessage extends Tagged<'pool:results'> {
  results: WireResult[];
  credits: number;
  /** Tasks dropped unrun because another task of their call failed. */
  dropped?: number[];
}

export interface InitErrorMessage extends Tagged<'pool:init-error'> {
  error: WireError;
}

export type ParentMessage = InitMessage | TasksMessage | CancelMessage | ExitMessage;
export type ChildMessage = ReadyMessage | ResultsMessage | InitErrorMessage;

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

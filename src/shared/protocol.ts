/**
 * Every message the parent and a child exchange over the IPC channel, read by both sides.
 *
 * The pull loop: a child announces itself with `pool:ready` asking for `credits` tasks; the parent answers
 * each credit with at most one task and never sends a task nobody asked for. A child asks for one at first;
 * one that finds its tasks much shorter than a round trip asks for more, gets them several to a
 * `pool:tasks` message, and answers several to a `pool:results`, which asks for more in turn.
 *
 * What a child has begun, and taking back what it has not, goes through its progress page
 * (progress-page.ts), not through messages: a child busy in a synchronous task cannot answer one.
 *
 * Pool messages carry the {@link MESSAGE_TAG} key: the parent's are stamped with its PROTOCOL_VERSION, a
 * child's with the token its `pool:init` gave it. Anything else on the channel (a task calling
 * `process.send` itself, even with the key) is not the pool's and is ignored by both sides: a task cannot
 * know the token. A child that meets another version answers with a {@link VersionMessage}, whose shape
 * stays the same in every release, so that a stale child script fails at once rather than waits forever.
 */
import type { WireError } from './wire-error';
import type { ChunkValues } from './packing';
import type { SegmentRef } from './segment';
import type { Envelope } from './value-codec';

export const MESSAGE_TAG = '__forkpool__';
/** Bumped when a message changes shape, so a stale child script fails loudly instead of misreading. */
export const PROTOCOL_VERSION = 4;

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
  /** PROTOCOL_VERSION from the parent, the child's token from a child. */
  [MESSAGE_TAG]: number | string;
  type: T;
}

/** The stamp of a {@link VersionMessage}. */
export const VERSION_STAMP = 'version';

/** A child's answer to a message of another protocol version; the same in every release. */
export interface VersionMessage {
  [MESSAGE_TAG]: typeof VERSION_STAMP;
  version: number;
}

// Parent → child.

/** First message to every child: what to run before asking for work. */
export interface InitMessage extends Tagged<'pool:init'> {
  /** What the child stamps its messages with. */
  token: string;
  initializer: TaskSpec | null;
  initargs: unknown[];
  /** The initializer's arguments, where they carry blocks or large parts: they stand for `initargs`. */
  initargsEncoded?: Envelope;
  /** `'json'` makes the child check its results for values JSON would drop silently. */
  serialization: 'advanced' | 'json';
  /** No guard watches for the parent's death on the child's behalf: the child watches itself. */
  watchParent: boolean;
  /** Whether the child has a progress page (at CHILD_PAGE_FD); without one it is sent a task only when it holds none. */
  page: boolean;
  /**
   * The pool's default module: the child loads it once it has asked for work, while the ask travels,
   * so that the first task does not wait for it.
   */
  preload: ModuleLocation | null;
}

/**
 * One task: a chunk of calls of the same function. A child runs its tasks in the order they arrive; the n-th
 * task a child receives is its task `seq` n on the progress page.
 */
export interface WireTask {
  id: number;
  /** The TaskSpec's id. */
  fn: number;
  /** The spec itself, the first time this child meets it. */
  spec?: TaskSpec;
  /** One input per call: its single argument, or with `spread` its argument list. */
  inputs: ChunkValues;
  /** The inputs, where they carry blocks or large parts (see value-codec.ts): they stand for `inputs`. */
  encoded?: Envelope;
  spread?: true;
  /** Its outcome is awaited by a clock (a timeout) or an abort: send it as soon as it is known. */
  urgent?: true;
  /**
   * Run every call of the chunk even after one fails (imapUnordered yields those that succeed); without it
   * the chunk stops at its first failure, whose call ends there.
   */
  keepGoing?: true;
  /**
   * The call it belongs to. A call ends at its first error, so when a task fails the child drops the
   * tasks of the same call it holds, before the parent can take them back.
   */
  call: number;
}

/** Tasks to run in order, one per credit the child gave. */
export interface TasksMessage extends Tagged<'pool:tasks'> {
  tasks: WireTask[];
}

/** Finish what was taken, then exit with code 0. */
export interface ExitMessage extends Tagged<'pool:exit'> {}

/** No guard watches for the parent's death any more (its shell failed): the child must watch itself. */
export interface WatchParentMessage extends Tagged<'pool:watch-parent'> {}

/** The parent has read these segments of the worker's (results, events): the worker closes them. */
export interface ReleaseMessage extends Tagged<'pool:release'> {
  segments: SegmentRef[];
}

/** The parent closed these SharedMemory blocks: the worker lets go of its own view of them. */
export interface BlocksClosedMessage extends Tagged<'pool:blocks-closed'> {
  ids: string[];
}

// Child → parent.

export interface ReadyMessage extends Tagged<'pool:ready'> {
  credits: number;
}

/** How one task ended: its values, one per call of the chunk, or the error of the call `index` that failed. */
export type WireResult = WireSuccess | WireFailure;

/** What every outcome may carry besides its values. */
interface WireOutcome {
  id: number;
  /** The values (or `done`), where they carry blocks or large parts: they stand for `values` (or `done`). */
  encoded?: Envelope;
  /** The blocks the task's arguments carried that the worker holds in copy mode: their contents now. */
  writeBack?: Envelope;
}

export interface WireSuccess extends WireOutcome {
  values: ChunkValues;
}

/**
 * The first failing call of a chunk, `index`, and its error; `done` holds the results of the chunk's calls
 * that succeeded, in order: those before `index`, and with `keepGoing` those after it too.
 */
export interface WireFailure extends WireOutcome {
  index: number;
  error: WireError;
  done?: ChunkValues;
}

/**
 * Outcomes of tasks in the order they ran, and how many tasks the child asks for now (including again
 * those it did not run).
 */
export interface ResultsMessage extends Tagged<'pool:results'> {
  results: WireResult[];
  credits: number;
  /** Tasks dropped unrun because another task of their call failed. */
  dropped?: number[];
  /** Tasks not run because the parent took them back (revoked on the progress page) before they started. */
  skipped?: number[];
}

export interface InitErrorMessage extends Tagged<'pool:init-error'> {
  error: WireError;
}

/** A value a task sent with `emit()`, while it ran: sent at once, so before the task's own result. */
export interface EventMessage extends Tagged<'pool:event'> {
  /** The task that sent it. */
  id: number;
  value: unknown;
  /** The value, where it carries blocks or large parts: it stands for `value`. */
  encoded?: Envelope;
}

/**
 * The child is dying of an uncaught exception or an unhandled rejection (a timer a task left behind that
 * throws, say): the error becomes the `cause` of the BrokenPoolError its death brings.
 */
export interface FatalMessage extends Tagged<'pool:fatal'> {
  error: WireError;
}

export type ParentMessage = InitMessage | TasksMessage | ExitMessage | WatchParentMessage | ReleaseMessage | BlocksClosedMessage;
export type ChildMessage = ReadyMessage | ResultsMessage | EventMessage | InitErrorMessage | FatalMessage;

type Untagged<M> = M extends Tagged<string> ? Omit<M, typeof MESSAGE_TAG> : never;

/** Stamp a message body: with PROTOCOL_VERSION (the parent) or the child's token (a child). */
export function tag<M extends ParentMessage | ChildMessage>(body: Untagged<M>, stamp: number | string = PROTOCOL_VERSION): M {
  return { [MESSAGE_TAG]: stamp, ...body } as M;
}

/** The stamp of a message that carries the pool's key, or undefined for anything else on the channel. */
export function stampOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as Record<string, unknown>)[MESSAGE_TAG] : undefined;
}

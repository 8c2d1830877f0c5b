/**
 * The one interface the scheduler sees of a worker, whatever it is: a child process or a worker thread.
 * Starting it, sending it messages, its progress page, stopping it, what it says and how it ended. How a
 * worker is made and reached (fork, IPC, descriptors, signals; threads, ports, shared buffers) is the
 * transport's, in src/transports/; the scheduler never asks which kind it drives.
 */
import type { Readable } from 'node:stream';
import type { WorkerInfo } from '../events';
import type { ProgressPage } from '../shared/progress-page';
import type { InitMessage, ParentMessage } from '../shared/protocol';

/** How a worker ended; `spawnError` when it never started (no such `cwd`, no such script, no processes left). */
export interface WorkerExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
}

/** What a worker's link reports. */
export interface WorkerLinkEvents {
  /** Anything the worker sent; the handle tells the pool's messages from the rest. */
  message(message: unknown): void;
  /** The worker is gone, for good: called once, after its last message. */
  exit(exit: WorkerExit): void;
}

/** The scheduler's link to one worker. */
export interface WorkerLink {
  /** `{ pid }` of a child process, `{ threadId }` of a thread; undefined for one that never started. */
  readonly info: WorkerInfo | undefined;
  /** Its progress page; undefined where none could be made, and the worker then holds one task at a time. */
  readonly page: ProgressPage | undefined;
  /** Its stdout and stderr, where the pool pipes them; null elsewhere. */
  readonly output: { stdout: Readable | null; stderr: Readable | null };
  /**
   * Send one message, in order. Returns the error of a message that could not be serialized, in which case
   * nothing was sent; a worker that is gone, or going, is not an error (its exit settles what it held).
   */
  send(message: ParentMessage): Error | undefined;
  /** End it now: `force` false asks it to (SIGTERM), true leaves it no choice (SIGKILL, `terminate()`). */
  stop(force: boolean): void;
  /** Keep this process's event loop alive for the worker (while the pool has work), or not. */
  ref(keepAlive: boolean): void;
}

/** What every worker of a pool is told before its first task, whatever the transport adds to it. */
export type InitBody = Pick<InitMessage, 'token' | 'initializer' | 'initargs' | 'initargsEncoded' | 'serialization' | 'preload'>;

/** How a pool makes its workers, and what it keeps for all of them (the process transport's orphan guard). */
export interface Transport {
  /** Whether large values may travel through segments rather than the channel (between processes). */
  readonly outOfBand: boolean;
  /**
   * Start a worker and send it `init` (with what the transport adds): it waits in the channel while the
   * worker boots, so the handshake costs no round trip.
   * @throws what starting throws synchronously (out of descriptors or processes).
   */
  spawn(init: InitBody, events: WorkerLinkEvents): WorkerLink;
  /** Tasks are about to be sent: what guards running tasks must be in place. */
  sending(): void;
  /** This worker has exited. */
  forget(link: WorkerLink): void;
  /** Every worker has exited, and the pool starts no more. */
  close(): void;
}

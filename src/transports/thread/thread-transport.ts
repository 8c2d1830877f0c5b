/**
 * Workers that are threads of this process (ThreadPool, ThreadPoolExecutor): started with `new Worker()`,
 * reached over their message port, each with a progress page in a SharedArrayBuffer (shared/shared-page.ts).
 *
 * What a thread lacks beside a process: no signals (`terminate()` stops it, even in a synchronous loop), no
 * parent that can die without it (it dies with this process: no orphan guard), and a channel that moves
 * buffers (`postMessage`'s transfer list) but delivers a Buffer as a plain Uint8Array, which values undo
 * (value-codec.ts, `buffersAsBytes`).
 */
import type { Readable } from 'node:stream';
import { Worker, type ResourceLimits, type Transferable } from 'node:worker_threads';
import type { OutputMode } from '../../options';
import { SharedPage } from '../../shared/shared-page';
import { tag, type ParentMessage } from '../../shared/protocol';
import type { InitBody, Transport, WorkerExit, WorkerLink, WorkerLinkEvents } from '../../scheduler/worker';

/** What starting a thread takes, the pool's options resolved for threads. */
export interface ThreadOptions {
  /** The thread script, absolute. */
  script: string;
  /** The threads' `process.env`; undefined: a copy of this process's at each start. */
  env: NodeJS.ProcessEnv | undefined;
  /** Node options of the threads; undefined: this thread's own, as Node hands them down. */
  execArgv: string[] | undefined;
  resourceLimits: ResourceLimits | undefined;
  stdout: OutputMode;
  stderr: OutputMode;
}

/** What the thread script is given at its start (`workerData`). */
export interface ThreadData {
  /** The memory of its progress page. */
  page: SharedArrayBuffer;
}

export class ThreadTransport implements Transport {
  readonly outOfBand = false;
  readonly buffersAsBytes = true;
  readonly #options: ThreadOptions;

  constructor(options: ThreadOptions) {
    this.#options = options;
  }

  spawn(init: InitBody, events: WorkerLinkEvents): WorkerLink {
    return new ThreadLink(this.#options, init, events);
  }

  sending(): void {
    // Nothing guards a thread: it cannot outlive this process.
  }

  forget(): void {}

  close(): void {}
}

/** The threads started and not yet exited, in this process, by threadId: none should outlive its pool. */
const live = new Set<number>();

/** @internal The threadIds of this process's pools' threads that are alive (for tests and diagnostics). */
export function liveThreads(): number[] {
  return [...live];
}

/** One worker thread: its Worker, its progress page, its output. */
export class ThreadLink implements WorkerLink {
  readonly #worker: Worker;
  readonly page: SharedPage;
  /** Kept from the start: a Worker's own `threadId` reads -1 once it has exited. */
  readonly info: { threadId: number };
  readonly output: { stdout: Readable | null; stderr: Readable | null };
  readonly #events: WorkerLinkEvents;
  /** What the thread died of, where Node reports it ('error': out of memory, an error it could not report). */
  #error: Error | undefined;
  /** `stopping` once terminate() was asked; `exited` once the pool was told of its exit. */
  #state: 'running' | 'stopping' | 'exited' = 'running';

  /** Start the thread and send it `pool:init` at once. @throws what `new Worker()` throws synchronously. */
  constructor(options: ThreadOptions, init: InitBody, events: WorkerLinkEvents) {
    this.#events = events;
    this.page = new SharedPage();
    const workerData: ThreadData = { page: this.page.memory };
    this.#worker = new Worker(options.script, {
      workerData,
      env: options.env,
      execArgv: options.execArgv,
      resourceLimits: options.resourceLimits,
      // 'inherit' is a Worker's default: its output goes to this process's own.
      stdout: options.stdout !== 'inherit',
      stderr: options.stderr !== 'inherit',
    });
    this.info = { threadId: this.#worker.threadId };
    live.add(this.info.threadId);
    const stdout = this.#pipe(this.#worker.stdout, options.stdout);
    const stderr = this.#pipe(this.#worker.stderr, options.stderr);
    this.output = { stdout, stderr };
    this.#worker.on('message', (message: unknown) => this.#events.message(message));
    this.#worker.on('error', (error: Error) => {
      this.#error ??= error;
    });
    // Node reads the thread's last messages before 'exit'; its piped output may still be on its way.
    this.#worker.on('exit', (exitCode: number) => {
      const piped = [stdout, stderr].filter((stream): stream is Readable => stream !== null);
      void Promise.all(piped.map(ended)).then(() => this.#onExit(exitCode));
    });
    this.send(tag({ type: 'pool:init', ...init, watchParent: false, page: true }));
  }

  send(message: ParentMessage, transfer?: readonly Transferable[]): Error | undefined {
    if (this.#state === 'exited') return undefined;
    try {
      this.#worker.postMessage(message, transfer);
    } catch (error) {
      // Structured clone refuses before anything is posted (a function, a symbol, a detached buffer).
      return error instanceof Error ? error : new Error(String(error));
    }
    return undefined;
  }

  /** `terminate()`, asked or forced alike: a thread cannot refuse it, even in a synchronous loop. */
  stop(): void {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.#worker.terminate().catch(() => {});
  }

  ref(keepAlive: boolean): void {
    if (keepAlive) this.#worker.ref();
    else this.#worker.unref();
  }

  /** The stream to hand the pool for `'pipe'`; for `'ignore'`, the output is read and dropped. */
  #pipe(stream: Readable, mode: OutputMode): Readable | null {
    if (mode === 'pipe') return stream;
    if (mode === 'ignore') stream.resume();
    return null;
  }

  #onExit(exitCode: number): void {
    if (this.#state === 'exited') return;
    this.#state = 'exited';
    live.delete(this.info.threadId);
    const exit: WorkerExit = { exitCode, signal: null };
    if (this.#error !== undefined) exit.error = this.#error;
    this.#events.exit(exit);
  }
}

/** Resolves once `stream` has ended (or failed, or was destroyed). */
function ended(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', resolve);
  });
}

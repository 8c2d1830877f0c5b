/**
 * Workers that are child processes (Pool, ProcessPoolExecutor): forked with `child_process.fork`, reached
 * over their IPC channel, each with a progress page that is an unlinked file (shared/progress-page.ts), and
 * all guarded by one orphan guard, which kills them if this process dies.
 */
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import os from 'node:os';
import type { Readable } from 'node:stream';
import type { ResolvedPoolOptions } from '../../options';
import { FilePage } from '../../shared/progress-page';
import { tag, type ParentMessage } from '../../shared/protocol';
import { outOfBandAvailable } from '../../shared/value-codec';
import type { InitBody, Transport, WorkerLink, WorkerLinkEvents } from '../../scheduler/worker';
import { OrphanGuard, type ParentDeathGuard } from './orphan-guard';

export class ProcessTransport implements Transport {
  readonly outOfBand = outOfBandAvailable();
  readonly #options: ResolvedPoolOptions;
  readonly #links = new Set<ChildProcessLink>();
  readonly #guard: ParentDeathGuard;

  constructor(options: ResolvedPoolOptions) {
    this.#options = options;
    // Without the guard's shell, children must watch for their parent's death themselves, those already
    // started too.
    this.#guard = new OrphanGuard(() => {
      for (const link of this.#links) link.send(tag({ type: 'pool:watch-parent' }));
    });
  }

  spawn(init: InitBody, events: WorkerLinkEvents): WorkerLink {
    const link = new ChildProcessLink(this.#options, init, this.#guard.childrenWatch, events);
    this.#links.add(link);
    this.#guard.watch(link.info?.pid);
    return link;
  }

  sending(): void {
    this.#guard.start();
  }

  forget(link: WorkerLink): void {
    this.#links.delete(link as ChildProcessLink);
    this.#guard.forget(link.info?.pid);
  }

  close(): void {
    this.#guard.close();
  }
}

/** One forked child: its process, its progress page, its IPC channel and its output. */
export class ChildProcessLink implements WorkerLink {
  readonly #child: ChildProcess;
  readonly page: FilePage | undefined;
  readonly #events: WorkerLinkEvents;
  #exited = false;
  /** The error a failed spawn reported, if it did. */
  #spawnError: Error | undefined;

  /**
   * Fork the child and send it `pool:init` at once. `watchParent`: no guard watches for this process's death
   * on the child's behalf. @throws what fork() throws synchronously (out of descriptors or processes).
   */
  constructor(options: ResolvedPoolOptions, init: InitBody, watchParent: boolean, events: WorkerLinkEvents) {
    this.#events = events;
    this.page = FilePage.open(os.tmpdir());
    const stdio: ForkOptions['stdio'] = ['inherit', options.stdout, options.stderr, 'ipc'];
    if (this.page !== undefined) stdio.push(this.page.fd);
    try {
      this.#child = fork(options.childScript, [], {
        serialization: options.serialization,
        env: options.env,
        execArgv: options.execArgv,
        cwd: options.cwd,
        stdio,
      });
    } catch (error) {
      this.page?.close();
      throw error;
    }
    this.#child.on('message', (message: unknown) => this.#events.message(message));
    // 'close', not 'exit': 'exit' can come before the child's last messages have been read.
    this.#child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => this.#onClose(exitCode, signal));
    this.#child.on('error', (error: Error) => this.#onError(error));
    this.send(tag({ type: 'pool:init', ...init, watchParent, page: this.page !== undefined }));
  }

  get info(): { pid: number } | undefined {
    const { pid } = this.#child;
    return pid === undefined ? undefined : { pid };
  }

  /**
   * Its stdout and stderr, where the pool pipes them (`'pipe'`); null where they go elsewhere, or where the
   * spawn failed (some Node versions leave them undefined then).
   */
  get output(): { stdout: Readable | null; stderr: Readable | null } {
    return { stdout: this.#child.stdout ?? null, stderr: this.#child.stderr ?? null };
  }

  send(message: ParentMessage): Error | undefined {
    if (this.#exited || !this.#child.connected) return undefined;
    try {
      this.#child.send(message);
    } catch (error) {
      // Serialization fails before anything is written (structured clone's DataCloneError, JSON's
      // TypeError or RangeError); a closed channel is reported through 'error', not thrown.
      return error instanceof Error ? error : new Error(String(error));
    }
    return undefined;
  }

  stop(force: boolean): void {
    // A process that never spawned has no pid, and its handle would signal pid 0: this whole process group.
    if (this.#child.pid === undefined) return;
    try {
      this.#child.kill(force ? 'SIGKILL' : 'SIGTERM');
    } catch {
      // Already gone: 'close' is on the way.
    }
  }

  ref(keepAlive: boolean): void {
    // The IPC channel and piped output hold the event loop too, each on its own.
    const handles = [this.#child, this.#child.channel, this.#child.stdout, this.#child.stderr] as Array<{ ref(): void; unref(): void } | null | undefined>;
    for (const handle of handles) {
      if (keepAlive) handle?.ref();
      else handle?.unref();
    }
  }

  /**
   * A failed spawn (no such `cwd`, no such script) is reported through 'error', and the 'close' that usually
   * follows cannot be relied on; a failed send is reported here too, and needs nothing.
   */
  #onError(error: Error): void {
    if (this.#child.pid !== undefined || this.#exited) return;
    this.#spawnError = error;
    this.#onClose(null, null);
  }

  #onClose(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited) return;
    this.#exited = true;
    // The handle reads the page to learn which tasks the child had begun; it is closed after.
    this.#events.exit(this.#spawnError === undefined ? { exitCode, signal } : { exitCode, signal, spawnError: this.#spawnError });
    this.page?.close();
  }
}

/**
 * One forked child as the parent sees it: its process, its state, the tasks it holds, how many more it
 * asked for, and its progress page. It is the only code that talks to the child, and the only code that
 * changes what the child holds.
 */
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { withCode, type ChildExit } from '../errors';
import type { ResolvedPoolOptions } from '../options';
import { packNumbers, unpackNumbers } from '../shared/packing';
import { FilePage, type ProgressPage } from '../shared/progress-page';
import {
  VERSION_STAMP,
  stampOf,
  tag,
  type ChildMessage,
  type InitMessage,
  type ParentMessage,
  type VersionMessage,
  type WireTask,
} from '../shared/protocol';
import type { StopReason } from './exit-policy';
import { OrphanGuard, type ParentDeathGuard } from './orphan-guard';
import type { Task } from './task';
import { startTimer, type Timer } from './timer';

/** Grace between SIGTERM and SIGKILL when a child is stopped. */
const KILL_TIMEOUT_MS = 1000;

export type ChildState =
  /** Forked; not yet ready (its initializer runs). */
  | 'starting'
  /** Pulling tasks. */
  | 'ready'
  /** Asked to exit once the tasks it holds are done. */
  | 'retiring'
  /** Being killed: SIGTERM sent, SIGKILL to follow. */
  | 'stopping'
  | 'exited';

const TRANSITIONS: Record<ChildState, readonly ChildState[]> = {
  starting: ['ready', 'retiring', 'stopping', 'exited'],
  ready: ['retiring', 'stopping', 'exited'],
  retiring: ['stopping', 'exited'],
  stopping: ['exited'],
  exited: [],
};

/** What every child of a pool is told before its first task. */
export type ChildSetup = Pick<InitMessage, 'initializer' | 'preload' | 'token'>;

/** A task the child held when it exited, and whether it had begun it. */
export interface HeldAtExit {
  task: Task;
  started: boolean;
}

/** How a child ended; `spawnError` when it never started (no such `cwd`, no such script). */
export interface ExitInfo extends ChildExit {
  spawnError?: Error;
}

/** What a child reports to whoever owns it. */
export interface ChildOwner {
  onChildMessage(child: ChildHandle, message: ChildMessage): void;
  /** The child speaks another version of the protocol: a child script from another release. */
  onProtocolMismatch(child: ChildHandle, version: unknown): void;
  /** The child is gone: every task it held is released and listed in `held`, in the order it was sent. */
  onChildExit(child: ChildHandle, exit: ExitInfo, held: HeldAtExit[]): void;
}

/** How child processes, their progress pages and their orphan guard are made: real ones, or simulated ones in tests. */
export interface ChildFactory {
  fork(script: string, options: ForkOptions): ChildProcess;
  openPage(): ProgressPage | undefined;
  /** `onFail`: called if the guard stops guarding, so that the children watch for themselves. */
  orphanGuard(onFail: () => void): ParentDeathGuard;
}

export const REAL_CHILDREN: ChildFactory = {
  fork: (script, options) => fork(script, [], options),
  openPage: () => FilePage.open(os.tmpdir()),
  orphanGuard: (onFail) => new OrphanGuard(onFail),
};

export class ChildHandle {
  #state: ChildState = 'starting';
  /** Why the pool stopped or retired it; undefined while the pool has not asked it to go. */
  #stopReason: StopReason | undefined;
  /** Tasks sent and not yet answered (nor taken back), by id, in the order they were sent. */
  readonly #held = new Map<number, Task>();
  /** Tasks the child asked for and has not been sent. */
  #credits = 0;
  /** Tasks sent over the child's life, for maxTasksPerChild; also the last task's `seq`. */
  #sent = 0;
  /** Whether it has answered a task: a child that dies before that failed to start. */
  #answeredOne = false;
  readonly #maxTasks: number;
  readonly #child: ChildProcess;
  readonly #page: ProgressPage | undefined;
  readonly #owner: ChildOwner;
  /** Whether runs of numbers may travel packed: only structured clone carries a Float64Array. */
  readonly #packs: boolean;
  /** Ids of the TaskSpecs this child has been sent. */
  readonly #knownSpecs = new Set<number>();
  #killTimer: NodeJS.Timeout | undefined;
  /** The error a failed spawn reported, if it did. */
  #spawnError: Error | undefined;
  /** Set while it idles beyond the pool's `minProcesses`: it retires when this fires. */
  #idleTimer: Timer | undefined;
  #fatalError: Error | undefined;
  /** What the child stamps its messages with: a task, which does not know it, cannot forge them. */
  readonly #token: string;

  /**
   * Fork the child and send it `pool:init` at once: it waits in the pipe while the child boots, so the
   * handshake costs no round trip. `watchParent`: the child must notice its parent's death by itself (see
   * OrphanGuard). @throws what fork() throws synchronously (out of descriptors or processes).
   */
  constructor(
    options: ResolvedPoolOptions,
    setup: ChildSetup,
    watchParent: boolean,
    owner: ChildOwner,
    factory: ChildFactory = REAL_CHILDREN,
  ) {
    this.#owner = owner;
    this.#token = setup.token;
    this.#maxTasks = options.maxTasksPerChild;
    this.#packs = options.serialization === 'advanced';
    this.#page = factory.openPage();
    const stdio: ForkOptions['stdio'] = ['inherit', options.stdout, options.stderr, 'ipc'];
    if (this.#page?.fd !== undefined) stdio.push(this.#page.fd);
    try {
      this.#child = factory.fork(options.childScript, {
        serialization: options.serialization,
        env: options.env,
        execArgv: options.execArgv,
        cwd: options.cwd,
        stdio,
      });
    } catch (error) {
      this.#page?.close();
      throw error;
    }
    this.#child.on('message', (message: unknown) => this.#onMessage(message));
    // 'close', not 'exit': 'exit' can come before the child's last messages have been read.
    this.#child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => this.#onClose(exitCode, signal));
    this.#child.on('error', (error: Error) => this.#onError(error));
    const { initargs, serialization } = options;
    this.send(tag({ type: 'pool:init', ...setup, initargs, serialization, watchParent, page: this.#page !== undefined }));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get state(): ChildState {
    return this.#state;
  }

  get stopReason(): StopReason | undefined {
    return this.#stopReason;
  }

  get credits(): number {
    return this.#credits;
  }

  /** How many more tasks it may be sent before maxTasksPerChild retires it. */
  get room(): number {
    return this.#maxTasks - this.#sent;
  }

  /** Spent: it has taken all the tasks it may and answered for them; it retires now. */
  get spent(): boolean {
    return this.room <= 0 && this.#held.size === 0;
  }

  get heldCount(): number {
    return this.#held.size;
  }

  /** The tasks it holds, in the order they were sent (the order it runs them in). */
  get held(): IterableIterator<Task> {
    return this.#held.values();
  }

  /**
   * Whether it may be sent tasks now, and so sent `task`. A task with a clock goes only to a child that
   * holds nothing, so that it starts the moment it arrives; so does every task for a child without a
   * progress page, which could not give back a task it holds.
   */
  takes(task: Task): boolean {
    if (this.#state !== 'ready' || this.#credits <= 0 || this.room <= 0) return false;
    return this.#held.size === 0 || (this.#page !== undefined && !task.urgent);
  }

  /** Whether it has begun `task` (it may have finished it since). */
  hasStarted(task: Task): boolean {
    if (task.holder !== this) return false;
    if (this.#page !== undefined) return this.#page.started() >= task.seq;
    // Without a page the child holds one task at a time, and begins it as it arrives.
    return true;
  }

  /** How many of the tasks it holds it has not begun: those it could give back. */
  notStarted(): number {
    if (this.#page === undefined || this.#held.size === 0) return 0;
    const started = this.#page.started();
    let count = 0;
    for (const task of this.#held.values()) if (task.seq > started) count++;
    return count;
  }

  /** It asked for `credits` more tasks; the first ask also says it is ready. */
  addCredits(credits: number): void {
    if (this.#state === 'starting') this.#to('ready');
    this.#credits += credits;
  }

  /**
   * Send tasks in one message, in order. Returns the error if they could not be serialized, in which case
   * none of them was sent.
   */
  sendTasks(tasks: Task[]): Error | undefined {
    const wire: WireTask[] = new Array(tasks.length);
    let newSpecs: number[] | undefined;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      const { id, spec, inputs, call } = task;
      const sent = !this.#packs ? unpackNumbers(inputs) : task.spread || inputs instanceof Float64Array ? inputs : packNumbers(inputs);
      wire[i] = { id, fn: spec.id, inputs: sent, call };
      if (task.spread) wire[i].spread = true;
      if (!this.#knownSpecs.has(spec.id)) {
        wire[i].spec = spec;
        this.#knownSpecs.add(spec.id);
        (newSpecs ??= []).push(spec.id);
      }
      if (task.urgent) wire[i].urgent = true;
      if (task.keepGoing) wire[i].keepGoing = true;
    }
    const error = this.#write(tag({ type: 'pool:tasks', tasks: wire }));
    if (error !== undefined) {
      for (const id of newSpecs ?? []) this.#knownSpecs.delete(id);
      return error;
    }
    this.#credits -= tasks.length;
    this.disarmIdleTimer();
    for (const task of tasks) {
      this.#held.set(task.id, task);
      task.hold(this, ++this.#sent);
    }
    return undefined;
  }

  /** The task it holds with this id, if it holds it. */
  heldTask(id: number): Task | undefined {
    return this.#held.get(id);
  }

  /** The child answered for the task (a result, or word that it did not run it): it holds it no more. */
  answered(task: Task, ran: boolean): void {
    this.#release(task);
    if (ran) this.#answeredOne = true;
  }

  /** Whether it has answered a task since it started. */
  get answeredOne(): boolean {
    return this.#answeredOne;
  }

  /** The uncaught error it reported before dying, if it did. */
  get fatalError(): Error | undefined {
    return this.#fatalError;
  }

  /** It reported an uncaught error: it is about to exit. */
  diedOf(error: Error): void {
    this.#fatalError ??= error;
  }

  /**
   * Take back a task it has not begun, through its progress page: true if the child never will begin it.
   * The child still has it in its queue, skips it when it gets there, and gives its credit back.
   */
  revoke(task: Task): boolean {
    if (task.holder !== this || this.#page === undefined || !this.#page.revoke(task.seq)) return false;
    this.#release(task);
    return true;
  }

  /** Ask the child to exit once it is done with what it holds. */
  retire(reason: StopReason): void {
    if (this.#state !== 'starting' && this.#state !== 'ready') return;
    this.#to('retiring');
    this.#stopReason = reason;
    this.send(tag({ type: 'pool:exit' }));
  }

  /** SIGTERM now, SIGKILL if it is still there after a grace period. */
  stop(reason: StopReason): void {
    if (this.#state === 'stopping' || this.#state === 'exited') return;
    this.#to('stopping');
    this.#stopReason = reason;
    this.#kill('SIGTERM');
    this.#killTimer = setTimeout(() => this.#kill('SIGKILL'), KILL_TIMEOUT_MS);
  }

  /**
   * Its stdout and stderr, where the pool pipes them (`'pipe'`); null where they go elsewhere, or where the
   * spawn failed (some Node versions leave them undefined then).
   */
  get output(): { stdout: Readable | null; stderr: Readable | null } {
    return { stdout: this.#child.stdout ?? null, stderr: this.#child.stderr ?? null };
  }

  /** Keep the parent alive for this child (while there is work) or not (while the pool idles). */
  ref(keepAlive: boolean): void {
    // The IPC channel and piped output hold the event loop too, each on its own.
    const handles = [this.#child, this.#child.channel, this.#child.stdout, this.#child.stderr] as Array<{ ref(): void; unref(): void } | null | undefined>;
    for (const handle of handles) {
      if (keepAlive) handle?.ref();
      else handle?.unref();
    }
  }

  /** Call `onIdle` after `ms` unless it is given a task first; a pending call is replaced. */
  armIdleTimer(ms: number, onIdle: () => void): void {
    this.#idleTimer?.cancel();
    this.#idleTimer = startTimer(ms, onIdle, false);
  }

  disarmIdleTimer(): void {
    this.#idleTimer?.cancel();
    this.#idleTimer = undefined;
  }

  get idleTimerArmed(): boolean {
    return this.#idleTimer !== undefined;
  }

  /**
   * The one place that writes to the child. A child that is gone, or going, is not an error: its 'close'
   * is on the way and settles what it held. Returns the error of a message that could not be serialized.
   */
  send(message: ParentMessage): void {
    this.#write(message);
  }

  #write(message: ParentMessage): Error | undefined {
    if (this.#state === 'exited' || !this.#child.connected) return undefined;
    try {
      this.#child.send(message);
    } catch (error) {
      // Serialization fails before anything is written (structured clone's DataCloneError, JSON's
      // TypeError or RangeError); a closed channel is reported through 'error', not thrown.
      return error instanceof Error ? error : new Error(String(error));
    }
    return undefined;
  }

  #kill(signal: NodeJS.Signals): void {
    // A process that never spawned has no pid, and its handle would signal pid 0: this whole process group.
    if (this.#child.pid === undefined) return;
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone: 'close' is on the way.
    }
  }

  #release(task: Task): void {
    if (this.#held.delete(task.id)) task.release();
  }

  #onMessage(message: unknown): void {
    if (this.#state === 'exited') return;
    const stamp = stampOf(message);
    if (stamp === this.#token) {
      this.#owner.onChildMessage(this, message as ChildMessage);
    } else if (stamp === VERSION_STAMP && this.#state === 'starting') {
      // A child script from another release, which would misread every message. (Only before readiness:
      // afterwards a task could forge this.)
      this.#owner.onProtocolMismatch(this, (message as VersionMessage).version);
    }
  }

  /**
   * A failed spawn (no such `cwd`, no such script) is reported through 'error', and the 'close' that
   * usually follows cannot be relied on; a failed send is reported here too, and needs nothing.
   */
  #onError(error: Error): void {
    if (this.#child.pid !== undefined || this.#state === 'exited') return;
    this.#spawnError = error;
    this.#onClose(null, null);
  }

  #onClose(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this.#state === 'exited') return;
    clearTimeout(this.#killTimer);
    this.disarmIdleTimer();
    this.#to('exited');
    // Read the page once, before it is closed: which of the held tasks the child had begun.
    const started = this.#page?.started() ?? Infinity;
    const held: HeldAtExit[] = [];
    let first = true;
    for (const task of this.#held.values()) {
      held.push({ task, started: this.#page === undefined ? first : task.seq <= started });
      first = false;
    }
    for (const { task } of held) this.#release(task);
    this.#page?.close();
    const exit: ExitInfo = { pid: this.pid, exitCode, signal };
    if (this.#spawnError !== undefined) exit.spawnError = this.#spawnError;
    this.#owner.onChildExit(this, exit, held);
  }

  #to(state: ChildState): void {
    if (!TRANSITIONS[this.#state].includes(state)) {
      throw withCode(new Error(`Internal error: child ${this.pid} cannot go from ${this.#state} to ${state}.`), 'ERR_POOL_INTERNAL');
    }
    this.#state = state;
  }
}

/**
 * One forked child as the parent sees it: its process, the tasks it holds, how many more it asked for, and
 * how it is told to stop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { ChildExit } from '../errors';
import type { ResolvedPoolOptions } from '../options';
import { packNumbers } from '../shared/packing';
import { isPoolMessage, tag, type ChildMessage, type InitMessage, type ParentMessage, type WireTask } from '../shared/protocol';
import type { Task } from './task';

/** Grace between SIGTERM and SIGKILL when a child is stopped. */
const KILL_TIMEOUT_MS = 1000;

export type WorkerState =
  /** Forked; its initializer has not finished. */
  | 'starting'
  /** Pulling tasks. */
  | 'ready'
  /** Asked to exit once the tasks it holds are done. */
  | 'retiring'
  /** Being killed: SIGTERM sent, SIGKILL to follow. */
  | 'stopping'
  | 'exited';

/** What every child of a pool is told before its first task. */
export type ChildSetup = Pick<InitMessage, 'initializer' | 'preload'>;

/** What a child reports to whoever owns it. */
export interface WorkerOwner {
  onChildMessage(worker: WorkerHandle, message: ChildMessage): void;
  /** `before` is the state the child was in: `'retiring'` or `'stopping'` if the exit was asked for. */
  onChildExit(worker: WorkerHandle, exit: ChildExit, before: WorkerState): void;
}

export class WorkerHandle {
  state: WorkerState = 'starting';
  /** Tasks sent and not yet answered, oldest (the running one) first. */
  readonly inflight: Task[] = [];
  /** Tasks the child asked for and has not been sent. */
  credits = 0;
  /** Tasks sent over the child's life, for maxTasksPerChild. */
  tasksTaken = 0;
  readonly #child: ChildProcess;
  readonly #owner: WorkerOwner;
  /** Whether runs of numbers may travel packed: only structured clone carries a Float64Array. */
  readonly #packs: boolean;
  /** Ids of the TaskSpecs this child has been sent. */
  readonly #knownSpecs = new Set<number>();
  #killTimer: NodeJS.Timeout | undefined;

  /** `watchParent`: the child must notice its parent's death by itself (see OrphanGuard). */
  constructor(options: ResolvedPoolOptions, setup: ChildSetup, watchParent: boolean, owner: WorkerOwner) {
    this.#owner = owner;
    this.#packs = options.serialization === 'advanced';
    this.#child = fork(options.childScript, [], {
      serialization: options.serialization,
      env: options.env,
      execArgv: options.execArgv,
      cwd: options.cwd,
      stdio: 'inherit',
    });
    this.#child.on('message', (message: unknown) => {
      if (isPoolMessage(message)) owner.onChildMessage(this, message as ChildMessage);
    });
    // 'close', not 'exit': 'exit' can come before the child's last messages have been read.
    this.#child.on('close', (exitCode, signal) => this.#onClose(exitCode, signal));
    // A failed fork() or a failed send() also ends in 'close'; 'error' alone must not throw.
    this.#child.on('error', () => {});
    // Sent at once: it waits in the pipe while the child boots, so the handshake costs no round trip.
    const { initargs, serialization } = options;
    this.send(tag({ type: 'pool:init', ...setup, initargs, serialization, watchParent }));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** True while the child takes new tasks. */
  get accepting(): boolean {
    return this.state === 'ready' && this.credits > 0;
  }

  /** @throws what `send()` throws synchronously: a value that cannot be serialized. */
  send(message: ParentMessage): void {
    this.#child.send(message);
  }

  /** Send tasks in one message. @throws like {@link send}; then none of them was sent. */
  sendTasks(tasks: Task[]): void {
    const wire: WireTask[] = new Array(tasks.length);
    let newSpecs: number[] | undefined;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      const { id, spec, inputs, call } = task;
      wire[i] = { id, fn: spec.id, inputs: this.#packs && !task.spread ? packNumbers(inputs) : inputs, call };
      if (task.spread) wire[i].spread = true;
      if (!this.#knownSpecs.has(spec.id)) {
        wire[i].spec = spec;
        this.#knownSpecs.add(spec.id);
        (newSpecs ??= []).push(spec.id);
      }
      if (task.urgent) wire[i].urgent = true;
    }
    try {
      this.send(tag({ type: 'pool:tasks', tasks: wire }));
    } catch (error) {
      for (const id of newSpecs ?? []) this.#knownSpecs.delete(id);
      throw error;
    }
    this.credits -= tasks.length;
    this.tasksTaken += tasks.length;
    this.inflight.push(...tasks);
  }

  /** Remove an answered or dropped task; false if the child did not hold it. */
  release(task: Task): boolean {
    const at = this.inflight.indexOf(task);
    if (at === -1) return false;
    this.inflight.splice(at, 1);
    return true;
  }

  /** Ask the child to exit once it is done with what it holds. */
  retire(): void {
    if (this.state === 'stopping' || this.state === 'exited') return;
    this.state = 'retiring';
    if (this.#child.connected) this.send(tag({ type: 'pool:exit' }));
  }

  /** SIGTERM now, SIGKILL if it is still there after a grace period. */
  kill(): void {
    if (this.state === 'stopping' || this.state === 'exited') return;
    this.state = 'stopping';
    this.#child.kill('SIGTERM');
    this.#killTimer = setTimeout(() => this.#child.kill('SIGKILL'), KILL_TIMEOUT_MS);
  }

  /** Keep the parent alive for this child (while there is work) or not (while the pool idles). */
  ref(keepAlive: boolean): void {
    const channel = this.#child.channel as { ref(): void; unref(): void } | undefined;
    if (keepAlive) {
      this.#child.ref();
      channel?.ref();
    } else {
      this.#child.unref();
      channel?.unref();
    }
  }

  #onClose(exitCode: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(this.#killTimer);
    const before = this.state;
    this.state = 'exited';
    this.#child.removeAllListeners();
    this.#owner.onChildExit(this, { pid: this.pid, exitCode, signal }, before);
  }
}

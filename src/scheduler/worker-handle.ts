/**
 * One worker as the scheduler sees it, a process or a thread alike: its state, the tasks it holds, how many
 * more it asked for, and its progress page. It is the only code that writes to the worker, and the only code
 * that changes what the worker holds. Its link (worker.ts) is what differs between processes and threads.
 */
import type { Readable } from 'node:stream';
import { withCode } from '../errors';
import type { WorkerInfo } from '../events';
import type { ResolvedPoolOptions } from '../options';
import { packNumbers, unpackNumbers } from '../shared/packing';
import { VERSION_STAMP, stampOf, tag, type ChildMessage, type ParentMessage, type VersionMessage, type WireTask } from '../shared/protocol';
import type { StopReason } from './exit-policy';
import type { SharedMemory } from '../shared/shared-memory';
import { closeEncoding, encode, type EncodeOptions, type Envelope } from '../shared/value-codec';
import type { Carried, Task } from './task';
import { startTimer, type Timer } from './timer';
import type { InitBody, Transport, WorkerExit, WorkerLink } from './worker';

/** The inputs of most tasks: nothing to encode, nothing to let go of. */
const NOTHING_CARRIED: Carried = { envelope: undefined, release() {} };

/** Grace between asking a worker to stop and forcing it. */
const KILL_TIMEOUT_MS = 1000;

export type WorkerState =
  /** Started; not yet ready (its initializer runs). */
  | 'starting'
  /** Pulling tasks. */
  | 'ready'
  /** Asked to exit once the tasks it holds are done. */
  | 'retiring'
  /** Being stopped: asked, and forced after a grace period. */
  | 'stopping'
  | 'exited';

const TRANSITIONS: Record<WorkerState, readonly WorkerState[]> = {
  starting: ['ready', 'retiring', 'stopping', 'exited'],
  ready: ['retiring', 'stopping', 'exited'],
  retiring: ['stopping', 'exited'],
  stopping: ['exited'],
  exited: [],
};

/** A task the worker held when it exited, and whether it had begun it. */
export interface HeldAtExit {
  task: Task;
  started: boolean;
}

/** How a worker ended, and which worker it was. */
export interface ExitInfo extends WorkerExit {
  info: WorkerInfo | undefined;
}

/** What a worker reports to whoever owns it. */
export interface WorkerOwner {
  /** These blocks are on their way to a worker, in a task's arguments. */
  onBlocksSent(blocks: SharedMemory[]): void;
  onWorkerMessage(worker: WorkerHandle, message: ChildMessage): void;
  /** The worker speaks another version of the protocol: a script from another release. */
  onProtocolMismatch(worker: WorkerHandle, version: unknown): void;
  /** The worker is gone: every task it held is released and listed in `held`, in the order it was sent. */
  onWorkerExit(worker: WorkerHandle, exit: ExitInfo, held: HeldAtExit[]): void;
}

export class WorkerHandle {
  #state: WorkerState = 'starting';
  /** Why the pool stopped or retired it; undefined while the pool has not asked it to go. */
  #stopReason: StopReason | undefined;
  /** Tasks sent and not yet answered (nor taken back), by id, in the order they were sent. */
  readonly #held = new Map<number, Task>();
  /** Tasks the worker asked for and has not been sent. */
  #credits = 0;
  /** Tasks sent over the worker's life, for maxTasksPerChild; also the last task's `seq`. */
  #sent = 0;
  /** Whether it has answered a task: a worker that dies before that failed to start. */
  #answeredOne = false;
  readonly #maxTasks: number;
  readonly #link: WorkerLink;
  readonly #owner: WorkerOwner;
  /** Whether runs of numbers may travel packed: only structured clone carries a Float64Array. */
  readonly #packs: boolean;
  /** How values carrying blocks or large parts are encoded for this worker. */
  readonly #encodeOptions: EncodeOptions;
  /** Ids of the TaskSpecs this worker has been sent. */
  readonly #knownSpecs = new Set<number>();
  #killTimer: NodeJS.Timeout | undefined;
  /** Set while it idles beyond the pool's `minProcesses`: it retires when this fires. */
  #idleTimer: Timer | undefined;
  #fatalError: Error | undefined;
  /** What the worker stamps its messages with: a task, which does not know it, cannot forge them. */
  readonly #token: string;

  /** Start the worker through `transport`. @throws what starting throws synchronously. */
  constructor(options: ResolvedPoolOptions, init: InitBody, transport: Transport, owner: WorkerOwner) {
    this.#owner = owner;
    this.#token = init.token;
    this.#maxTasks = options.maxTasksPerChild;
    this.#packs = options.serialization === 'advanced';
    this.#encodeOptions = { serialization: options.serialization, outOfBand: transport.outOfBand };
    this.#link = transport.spawn(init, {
      message: (message) => this.#onMessage(message),
      exit: (exit) => this.#onExit(exit),
    });
  }

  /** `{ pid }` or `{ threadId }`; undefined for a worker that never started. */
  get info(): WorkerInfo | undefined {
    return this.#link.info;
  }

  get link(): WorkerLink {
    return this.#link;
  }

  get state(): WorkerState {
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
   * Whether it may be sent tasks now, and so sent `task`. A task with a clock goes only to a worker that
   * holds nothing, so that it starts the moment it arrives; so does every task for a worker without a
   * progress page, which could not give back a task it holds.
   */
  takes(task: Task): boolean {
    if (this.#state !== 'ready' || this.#credits <= 0 || this.room <= 0) return false;
    return this.#held.size === 0 || (this.#link.page !== undefined && !task.urgent);
  }

  /** Whether it has begun `task` (it may have finished it since). */
  hasStarted(task: Task): boolean {
    if (task.holder !== this) return false;
    const page = this.#link.page;
    // Without a page the worker holds one task at a time, and begins it as it arrives.
    return page === undefined || page.started() >= task.seq;
  }

  /** How many of the tasks it holds it has not begun: those it could give back. */
  notStarted(): number {
    const page = this.#link.page;
    if (page === undefined || this.#held.size === 0) return 0;
    const started = page.started();
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
      let envelope: Envelope | undefined;
      try {
        envelope = (task.carried ??= this.#carry(task)).envelope;
      } catch (error) {
        for (const known of newSpecs ?? []) this.#knownSpecs.delete(known);
        return error as Error;
      }
      if (envelope !== undefined) {
        wire[i] = { id, fn: spec.id, inputs: [], encoded: envelope, call };
      } else {
        const sent = !this.#packs ? unpackNumbers(inputs) : task.spread || inputs instanceof Float64Array ? inputs : packNumbers(inputs);
        wire[i] = { id, fn: spec.id, inputs: sent, call };
      }
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

  /**
   * The task's inputs as they travel: blocks described, large parts through a segment that stays open until
   * the task finishes. (Its blocks are retained from its submission: see Task.retainBlocks.)
   * @throws what encoding throws (a closed block, no room for a segment).
   */
  #carry(task: Task): Carried {
    const encoding = encode(task.inputs, this.#encodeOptions, task.scanned);
    if (encoding === undefined) return NOTHING_CARRIED;
    this.#owner.onBlocksSent(encoding.blocks);
    return { envelope: encoding.envelope, release: () => closeEncoding(encoding) };
  }

  /** The task it holds with this id, if it holds it. */
  heldTask(id: number): Task | undefined {
    return this.#held.get(id);
  }

  /** The worker answered for the task (a result, or word that it did not run it): it holds it no more. */
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
   * Take back a task it has not begun, through its progress page: true if the worker never will begin it.
   * The worker still has it in its queue, skips it when it gets there, and gives its credit back.
   */
  revoke(task: Task): boolean {
    const page = this.#link.page;
    if (task.holder !== this || page === undefined || !page.revoke(task.seq)) return false;
    this.#release(task);
    return true;
  }

  /** Ask the worker to exit once it is done with what it holds. */
  retire(reason: StopReason): void {
    if (this.#state !== 'starting' && this.#state !== 'ready') return;
    this.#to('retiring');
    this.#stopReason = reason;
    this.send(tag({ type: 'pool:exit' }));
  }

  /** Ask it to stop now, and force it if it is still there after a grace period. */
  stop(reason: StopReason): void {
    if (this.#state === 'stopping' || this.#state === 'exited') return;
    this.#to('stopping');
    this.#stopReason = reason;
    this.#link.stop(false);
    this.#killTimer = setTimeout(() => this.#link.stop(true), KILL_TIMEOUT_MS);
  }

  /** Its stdout and stderr, where the pool pipes them. */
  get output(): { stdout: Readable | null; stderr: Readable | null } {
    return this.#link.output;
  }

  /** Keep the parent alive for this worker (while there is work) or not (while the pool idles). */
  ref(keepAlive: boolean): void {
    this.#link.ref(keepAlive);
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

  /** The one place that writes to the worker; a worker that is gone, or going, is not an error. */
  send(message: ParentMessage): void {
    this.#write(message);
  }

  #write(message: ParentMessage): Error | undefined {
    if (this.#state === 'exited') return undefined;
    return this.#link.send(message);
  }

  #release(task: Task): void {
    if (this.#held.delete(task.id)) task.release();
  }

  #onMessage(message: unknown): void {
    if (this.#state === 'exited') return;
    const stamp = stampOf(message);
    if (stamp === this.#token) {
      this.#owner.onWorkerMessage(this, message as ChildMessage);
    } else if (stamp === VERSION_STAMP && this.#state === 'starting') {
      // A script from another release, which would misread every message. (Only before readiness:
      // afterwards a task could forge this.)
      this.#owner.onProtocolMismatch(this, (message as VersionMessage).version);
    }
  }

  #onExit(exit: WorkerExit): void {
    if (this.#state === 'exited') return;
    clearTimeout(this.#killTimer);
    this.disarmIdleTimer();
    this.#to('exited');
    // Read the page once: which of the held tasks the worker had begun. Without a page it held one, begun.
    const started = this.#link.page?.started() ?? Infinity;
    const held: HeldAtExit[] = [];
    let first = true;
    for (const task of this.#held.values()) {
      held.push({ task, started: this.#link.page === undefined ? first : task.seq <= started });
      first = false;
    }
    for (const { task } of held) this.#release(task);
    this.#owner.onWorkerExit(this, { ...exit, info: this.#link.info }, held);
  }

  #to(state: WorkerState): void {
    if (!TRANSITIONS[this.#state].includes(state)) {
      throw withCode(new Error(`Internal error: a worker cannot go from ${this.#state} to ${state}.`), 'ERR_POOL_INTERNAL');
    }
    this.#state = state;
  }
}

/**
 * The scheduler under both faces of the library (Pool and ProcessPoolExecutor): it owns the children, the
 * queue of tasks and the pool's lifecycle, and answers every child's request for work.
 */
import pDefer from 'p-defer';
import { BrokenPoolError, PoolStateError, TimeoutError, type ChildExit } from '../errors';
import type { ResolvedPoolOptions } from '../options';
import type { ChunkValues } from '../shared/packing';
import { maxUnsentResults, tag, type ChildMessage } from '../shared/protocol';
import { findJsonUnsendable, unsendableError } from '../shared/sendable';
import { fromWireError } from '../shared/wire-error';
import { WorkerHandle, type ChildSetup, type WorkerOwner, type WorkerState } from './child-handle';
import { OrphanGuard } from './orphan-guard';
import { Task } from './task';
import { TaskQueue } from './task-queue';

/**
 * With `onWorkerCrash: 'respawn'`, this many children in a row dying before they are ready break the pool:
 * their replacements would die too (an initializer that exits, a bad execArgv), and Python's pool respawns
 * such children forever. One such death alone may be a kill from outside and is replaced.
 */
const MAX_STARTUP_FAILURES = 3;
/** Signals that come from outside (a user, a supervisor), not from a child's own failure. */
const KILLED_FROM_OUTSIDE: ReadonlySet<string> = new Set(['SIGKILL', 'SIGTERM', 'SIGHUP', 'SIGINT']);

export type PoolState =
  /** Taking tasks. */
  | 'running'
  /** `close()`d: submitted work finishes, nothing new is taken, then the children exit. */
  | 'closed'
  /** `terminate()`d: children killed, unfinished tasks rejected. */
  | 'terminated'
  /** A child crashed (policy `'break'`) or an initializer failed: everything pending and later rejects. */
  | 'broken';

const TRANSITIONS: Record<PoolState, readonly PoolState[]> = {
  running: ['closed', 'terminated', 'broken'],
  closed: ['terminated', 'broken'],
  broken: [],
  terminated: [],
};

/** A call still reading its input, and so still submitting tasks. */
export interface OpenInput {
  /** The pool was closed: read the rest now, or stop reading; either way, call `closeInput` when done. */
  poolClosed(): void;
}

/** Why the pool broke, kept to give every task a fresh error of its own. */
interface BreakReason {
  message: string;
  exit: Partial<ChildExit>;
  cause?: unknown;
}

export class Engine implements WorkerOwner {
  #state: PoolState = 'running';
  readonly #options: ResolvedPoolOptions;
  readonly #childSetup: ChildSetup;
  readonly #workers = new Set<WorkerHandle>();
  readonly #queue = new TaskQueue();
  /** Tasks in the queue that are still wanted (dropped ones stay in it until they reach the front). */
  #queued = 0;
  /** Unsettled tasks plus open inputs: while above zero the children keep the parent alive. */
  #pending = 0;
  /** Calls still reading their input (imap): they may submit more even after `close()`. */
  readonly #openInputs = new Set<OpenInput>();
  #breakReason: BreakReason | undefined;
  /** Children in a row that died before they were ready. */
  #startupFailures = 0;
  readonly #allExited = pDefer<void>();
  readonly #orphanGuard: OrphanGuard;

  constructor(options: ResolvedPoolOptions, childSetup: ChildSetup) {
    this.#options = options;
    this.#childSetup = childSetup;
    this.#orphanGuard = new OrphanGuard();
    this.#replenish();
  }

  get state(): PoolState {
    return this.#state;
  }

  get processes(): number {
    return this.#options.processes;
  }

  /** Pids of the live children, for diagnostics and tests. */
  get pids(): number[] {
    return [...this.#workers].flatMap((worker) => (worker.pid === undefined ? [] : [worker.pid]));
  }

  /**
   * Queue a task. In a broken or terminated pool it is rejected at once (a closed pool still takes tasks
   * from calls already under way; the facades refuse new calls).
   */
  submit(task: Task): void {
    if (this.#state === 'broken' || this.#state === 'terminated') {
      task.state = 'settled';
      task.sink.rejectTask(task, this.#stoppedError());
      return;
    }
    this.#addPending(1);
    this.#queue.push(task);
    this.#queued++;
    this.#dispatch();
  }

  /** Reject a task with `reason`: a queued one is dropped, a running one's child is killed and replaced. */
  abort(task: Task, reason: unknown): void {
    if (task.state === 'settled') return;
    const worker = task.worker;
    if (worker === undefined) this.#queued--;
    this.#settle(task, reason);
    if (worker !== undefined) this.#replace(worker);
  }

  /**
   * Drop a task that has not started, without settling it through its sink. A task already running goes
   * on and its outcome is ignored. Returns true if the task was dropped before it started.
   */
  drop(task: Task): boolean {
    if (task.state === 'settled') return false;
    const worker = task.worker;
    if (worker === undefined) {
      this.#queued--;
      this.#finish(task);
      this.#dispatch();
      return true;
    }
    if (worker.inflight[0] === task) {
      // Running: it finishes in its child, which still holds it; what it returns is ignored.
      this.#finish(task, false);
      return false;
    }
    // Waiting in a child behind the task it runs: the child drops it and asks for another.
    worker.send(tag({ type: 'pool:cancel', ids: [task.id] }));
    worker.release(task);
    this.#finish(task);
    return true;
  }

  /** Note that a call will keep submitting tasks from its input; `closeInput` when it stops. */
  openInput(input: OpenInput): void {
    this.#openInputs.add(input);
    this.#addPending(1);
  }

  closeInput(input: OpenInput): void {
    if (!this.#openInputs.delete(input)) return;
    this.#addPending(-1);
    this.#retireIfDone();
  }

  close(): void {
    if (this.#state !== 'running') return;
    this.#transition('closed');
    this.#refreshRefs();
    for (const input of [...this.#openInputs]) input.poolClosed();
    this.#retireIfDone();
  }

  terminate(): void {
    if (this.#state === 'terminated' || this.#state === 'broken') {
      for (const worker of this.#workers) worker.kill();
      return;
    }
    this.#transition('terminated');
    this.#stopEverything(() => new PoolStateError('The pool was terminated before this task finished.'));
  }

  /** Resolves once every child has exited; only after `close()` or `terminate()` (or once broken). */
  join(): Promise<void> {
    if (this.#state === 'running') {
      return Promise.reject(new PoolStateError('join() waits for the children to exit: call close() or terminate() first.'));
    }
    return this.#allExited.promise;
  }

  // --- Dispatch -------------------------------------------------------------------------------------

  /**
   * Hand queued tasks to children that asked for work, children with nothing in hand first. A child gets
   * as many as it asked for in one message, but no more than its share of the queue, so that a few tasks
   * are spread across idle children rather than piled on the first.
   */
  #dispatch(): void {
    while (this.#queued > 0) {
      const head = this.#nextQueued();
      if (head === undefined) break;
      const { worker, accepting } = this.#pickWorker(head);
      if (worker === undefined) break;
      const room = Math.min(worker.credits, this.#options.maxTasksPerChild - worker.tasksTaken);
      const batch = this.#takeBatch(worker, Math.min(room, Math.ceil(this.#queued / accepting)));
      this.#sendTo(worker, batch);
    }
    this.#retireIfDone();
  }

  /** The first queued task still wanted, dropping the settled ones before it. */
  #nextQueued(): Task | undefined {
    let task = this.#queue.peek();
    while (task !== undefined && task.state === 'settled') {
      this.#queue.shift();
      task = this.#queue.peek();
    }
    return task;
  }

  /**
   * Up to `limit` tasks from the front of the queue for `worker` (whose pick the first already fits), each
   * only while its child would hold no more tasks ahead of it than it allows.
   */
  #takeBatch(worker: WorkerHandle, limit: number): Task[] {
    const batch: Task[] = [this.#queue.shift()!];
    this.#queued--;
    while (batch.length < limit) {
      const task = this.#nextQueued();
      if (task === undefined || worker.inflight.length + batch.length > task.maxAhead) break;
      batch.push(this.#queue.shift()!);
      this.#queued--;
    }
    return batch;
  }

  /** The child to send `task` to, children with nothing in hand first, and how many children take tasks now. */
  #pickWorker(task: Task): { worker: WorkerHandle | undefined; accepting: number } {
    let idle: WorkerHandle | undefined;
    let busy: WorkerHandle | undefined;
    let accepting = 0;
    for (const worker of this.#workers) {
      if (!worker.accepting || worker.tasksTaken >= this.#options.maxTasksPerChild) continue;
      accepting++;
      if (worker.inflight.length === 0) idle ??= worker;
      else if (worker.inflight.length <= task.maxAhead) busy ??= worker;
    }
    return { worker: idle ?? busy, accepting };
  }

  #sendTo(worker: WorkerHandle, batch: Task[]): void {
    if (this.#options.serialization === 'json') batch = batch.filter((task) => this.#jsonSendable(task));
    if (batch.length === 0) return;
    this.#orphanGuard.start();
    try {
      worker.sendTasks(batch);
    } catch (error) {
      // Structured clone fails before anything is written, so the child saw none of them: send them one
      // by one, and only those that cannot be sent fail.
      if (batch.length > 1) {
        for (const task of batch) this.#sendTo(worker, [task]);
      } else {
        this.#settle(batch[0], unsendableError('The task arguments', (error as Error).message, error));
      }
      return;
    }
    for (const task of batch) {
      task.state = 'sent';
      task.worker = worker;
    }
    if (worker.inflight[0] === batch[0]) this.#started(batch[0]);
  }

  #jsonSendable(task: Task): boolean {
    const problem = findJsonUnsendable(task.inputs, 'arguments');
    if (problem !== undefined) this.#settle(task, unsendableError('The task arguments', problem));
    return problem === undefined;
  }

  /** The task is at the head of its child's line: it runs now, and its clock starts. */
  #started(task: Task): void {
    if (task.timeout !== undefined && task.timeout !== Infinity) {
      task.timer = setTimeout(() => this.#timedOut(task), task.timeout);
    }
  }

  // --- Messages from children -----------------------------------------------------------------------

  onChildMessage(worker: WorkerHandle, message: ChildMessage): void {
    switch (message.type) {
      case 'pool:ready':
        if (worker.state === 'starting') {
          worker.state = 'ready';
          this.#startupFailures = 0;
        }
        worker.credits += message.credits;
        this.#dispatch();
        return;
      case 'pool:results': {
        worker.credits += message.credits;
        for (const id of message.dropped ?? []) {
          const task = worker.inflight.find((held) => held.id === id);
          if (task === undefined || !worker.release(task)) continue;
          // Its call failed and ends; the call itself drops whatever else of it is left. The call may have
          // dropped this task already, which finished it once: finishing it twice would miscount the
          // pending work and let the parent's event loop exit under a running task.
          if (task.state !== 'settled') this.#finish(task);
        }
        for (const result of message.results) {
          const task = worker.inflight.find((held) => held.id === result.id);
          if (task === undefined) continue; // dropped while the child ran it
          const wasRunning = worker.inflight[0] === task;
          worker.release(task);
          if ('values' in result) this.#settle(task, undefined, result.values);
          else this.#settle(task, fromWireError(result.error), undefined, result.index);
          const next = worker.inflight[0];
          if (wasRunning && next !== undefined && next.state === 'sent') this.#started(next);
        }
        this.#recycleIfSpent(worker);
        this.#dispatch();
        return;
      }
      case 'pool:init-error': {
        const cause = fromWireError(message.error);
        this.#break({
          message: `The pool's initializer failed in child ${worker.pid}: ${cause.message}`,
          exit: { pid: worker.pid },
          cause,
        });
        return;
      }
    }
  }

  onChildExit(worker: WorkerHandle, exit: ChildExit, before: WorkerState): void {
    this.#workers.delete(worker);
    this.#orphanGuard.forget(exit.pid);
    // The child ran its tasks in order and may have held back the results of a few before it died: those
    // may have run, and must fail rather than run again; the ones after them never started.
    const ranUpTo = maxUnsentResults(worker.inflight.length + worker.credits) + 1;
    const held = worker.inflight.splice(0);
    const mayHaveRun = held.slice(0, ranUpTo).filter((task) => task.state !== 'settled');
    const neverRan = held.slice(ranUpTo).filter((task) => task.state !== 'settled');
    const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`;
    if (before === 'retiring' || before === 'stopping') {
      // Stopped for a timeout or an abort, whose task is settled already.
      const reason = { message: `The child process (pid ${exit.pid}) running this task was stopped.`, exit };
      for (const task of mayHaveRun) this.#settle(task, this.#brokenError(reason));
      this.#requeue(neverRan);
    } else {
      const doing = held.length > 0 ? 'while running a task' : before === 'starting' ? 'before it was ready' : 'while idle';
      const reason = { message: `A child process (pid ${exit.pid}) ${how} ${doing}.`, exit };
      for (const task of mayHaveRun) this.#settle(task, this.#brokenError(reason));
      // Children that keep dying on their own before they are ready would die again in every replacement.
      if (before === 'starting' && !KILLED_FROM_OUTSIDE.has(exit.signal!)) this.#startupFailures++;
      if (this.#options.onWorkerCrash === 'break' || this.#startupFailures >= MAX_STARTUP_FAILURES) {
        for (const task of neverRan) this.#settle(task, this.#brokenError(reason));
        this.#break({ ...reason, message: `${reason.message} The pool is broken: every pending and later task fails.` });
      } else {
        this.#requeue(neverRan);
      }
    }
    this.#replenish();
    if (this.#workers.size === 0 && this.#state !== 'running') this.#exited();
  }

  // --- Faults ---------------------------------------------------------------------------------------

  #timedOut(task: Task): void {
    task.timer = undefined;
    const worker = task.worker!;
    this.#settle(task, new TimeoutError(`The task did not finish within its timeout of ${task.timeout} ms.`, task.timeout!));
    this.#replace(worker);
  }

  /** Kill a child whose running task was given up, and start another in its place. */
  #replace(worker: WorkerHandle): void {
    worker.kill();
    this.#replenish();
    this.#dispatch();
  }

  #break(reason: BreakReason): void {
    if (this.#state === 'broken' || this.#state === 'terminated') return;
    this.#transition('broken');
    this.#breakReason = reason;
    this.#stopEverything(() => this.#brokenError(reason));
  }

  #brokenError(reason: BreakReason): BrokenPoolError {
    return new BrokenPoolError(reason.message, reason.exit, reason.cause === undefined ? undefined : { cause: reason.cause });
  }

  /** The error for a task submitted to a pool that no longer runs tasks. */
  #stoppedError(): Error {
    return this.#breakReason !== undefined
      ? this.#brokenError(this.#breakReason)
      : new PoolStateError('The pool was terminated; it runs no more tasks.');
  }

  /** Kill every child and reject every unsettled task, each with an error of its own. */
  #stopEverything(errorFor: () => Error): void {
    this.#refreshRefs();
    for (const worker of this.#workers) {
      for (const task of worker.inflight.splice(0)) this.#settle(task, errorFor());
      worker.kill();
    }
    for (const task of this.#queue.drain()) {
      if (task.state !== 'settled') this.#settle(task, errorFor());
    }
    this.#queued = 0;
    if (this.#workers.size === 0) this.#exited();
  }

  // --- Children's lifecycle -------------------------------------------------------------------------

  /** Keep `processes` children able to take tasks while the pool has, or may get, work. */
  #replenish(): void {
    const wanted = this.#state === 'running' || (this.#state === 'closed' && this.#hasWork());
    if (!wanted) return;
    let able = 0;
    for (const worker of this.#workers) if (worker.state === 'starting' || worker.state === 'ready') able++;
    for (; able < this.#options.processes; able++) {
      const worker = new WorkerHandle(this.#options, this.#childSetup, OrphanGuard.childrenWatch, this);
      worker.ref(this.#keepsAlive());
      this.#workers.add(worker);
      this.#orphanGuard.watch(worker.pid);
    }
  }

  /** A child that has taken its maxTasksPerChild retires once its last task is answered. */
  #recycleIfSpent(worker: WorkerHandle): void {
    if (worker.tasksTaken < this.#options.maxTasksPerChild || worker.inflight.length > 0) return;
    worker.retire();
    this.#replenish();
  }

  /** Once a closed pool has nothing left to run, let its children go. */
  #retireIfDone(): void {
    if (this.#state !== 'closed' || this.#hasWork()) return;
    for (const worker of this.#workers) worker.retire();
    if (this.#workers.size === 0) this.#exited();
  }

  /** Every child has exited, for good. */
  #exited(): void {
    this.#orphanGuard.close();
    this.#allExited.resolve();
  }

  #hasWork(): boolean {
    if (this.#queued > 0 || this.#openInputs.size > 0) return true;
    for (const worker of this.#workers) if (worker.inflight.length > 0) return true;
    return false;
  }

  #requeue(tasks: Task[]): void {
    for (const task of tasks) {
      task.state = 'queued';
      task.worker = undefined;
    }
    this.#queue.unshift(tasks);
    this.#queued += tasks.length;
    this.#dispatch();
  }

  // --- Settling -------------------------------------------------------------------------------------

  #settle(task: Task, error: unknown, values?: ChunkValues, index?: number): void {
    if (task.state === 'settled') return;
    this.#finish(task);
    if (values !== undefined) task.sink.resolveTask(task, values);
    else task.sink.rejectTask(task, error, index);
  }

  /** Everything that ends with a task, however it ends. */
  #finish(task: Task, detach = true): void {
    task.state = 'settled';
    if (detach) task.worker = undefined;
    clearTimeout(task.timer);
    this.#addPending(-1);
  }

  // --- Keeping the parent alive ---------------------------------------------------------------------

  /** An idle, running pool does not hold the parent's event loop open; pending work and shutdown do. */
  #keepsAlive(): boolean {
    return this.#pending > 0 || this.#state !== 'running';
  }

  #addPending(delta: number): void {
    const before = this.#pending > 0;
    this.#pending += delta;
    if (before !== this.#pending > 0) this.#refreshRefs();
  }

  #refreshRefs(): void {
    const keepAlive = this.#keepsAlive();
    for (const worker of this.#workers) worker.ref(keepAlive);
  }

  #transition(to: PoolState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new PoolStateError(`The pool cannot go from ${this.#state} to ${to}.`);
    }
    this.#state = to;
  }
}

/**
 * The scheduler under both faces of the library (Pool and ProcessPoolExecutor): it owns the children, the
 * queue of tasks and the pool's lifecycle, and answers every child's request for work.
 *
 *     calls ──submit──▶ queue ──dispatch──▶ child handles ══IPC══▶ children
 *       ▲                 ▲  ◀──revoke (progress page)──┘  │           │
 *       └───── settle ◀───┴──────── results ◀══════════════╧═══════════┘
 *                         └──────── exit policy ◀── a child's exit
 *
 * - Children pull: each asks for tasks (credits) and is sent no more than it asked for. A child asks for
 *   one at a time until it proves that waiting for the next one costs it (child/credit-window.ts).
 * - The parent keeps what it has not handed out, and takes back what a child holds but has not begun when
 *   another child goes idle with nothing left in the queue: no task waits behind a long one while a child
 *   idles. The progress page makes taking back instant, even from a child in a long synchronous task.
 * - A child's exit goes through the exit policy, which decides which tasks fail and which run elsewhere.
 */
import type { Readable } from 'node:stream';
import pDefer from 'p-defer';
import { BrokenPoolError, PoolStateError, TimeoutError } from '../errors';
import type { PoolStats } from '../events';
import type { ResolvedPoolOptions } from '../options';
import type { ChunkValues } from '../shared/packing';
import { PROTOCOL_VERSION, tag, type ChildMessage } from '../shared/protocol';
import { findUnsendable, unsendableError } from '../shared/sendable';
import { fromWireError } from '../shared/wire-error';
import { ChildHandle, REAL_CHILDREN, type ChildFactory, type ChildSetup, type ExitInfo, type HeldAtExit } from './child-handle';
import { decideExit, type ExitReason, type StopReason } from './exit-policy';
import { OutputLines } from './output-lines';
import type { ParentDeathGuard } from './orphan-guard';
import { Task } from './task';
import type { OpenInput, PoolObserver, PoolState, TaskRunner } from './task-runner';
import { TaskQueue } from './task-queue';
import { startTimer } from './timer';

const TRANSITIONS: Record<PoolState, readonly PoolState[]> = {
  running: ['closed', 'terminated', 'broken'],
  closed: ['terminated', 'broken'],
  broken: [],
  terminated: [],
};

/** Why the pool broke, kept to give every task a fresh error of its own. */
interface BreakReason {
  message: string;
  exit: Partial<ExitInfo>;
  cause?: unknown;
}

export class Engine implements TaskRunner {
  #state: PoolState = 'running';
  readonly #options: ResolvedPoolOptions;
  readonly #childSetup: ChildSetup;
  readonly #factory: ChildFactory;
  readonly #children = new Set<ChildHandle>();
  readonly #queue = new TaskQueue();
  /** Tasks in the queue that are still wanted (finished ones stay in it until they reach the front). */
  #queued = 0;
  /** Unfinished tasks plus open inputs: while above zero the children keep the parent alive. */
  #pending = 0;
  /** Calls still reading their input (imap): they may submit more even after `close()`. */
  readonly #openInputs = new Set<OpenInput>();
  #breakReason: BreakReason | undefined;
  /** Children in a row that died before answering a first task. */
  #startFailures = 0;
  readonly #allExited = pDefer<void>();
  readonly #orphanGuard: ParentDeathGuard;
  readonly #observer: PoolObserver;
  /** The children's output, where it is piped to the pool. */
  readonly #stdout: OutputLines | undefined;
  readonly #stderr: OutputLines | undefined;
  readonly #counts = { completed: 0, failed: 0, spawned: 0, crashed: 0 };

  constructor(options: ResolvedPoolOptions, childSetup: ChildSetup, observer: PoolObserver, factory: ChildFactory = REAL_CHILDREN) {
    this.#options = options;
    this.#childSetup = childSetup;
    this.#observer = observer;
    this.#factory = factory;
    if (options.stdout === 'pipe') this.#stdout = new OutputLines();
    if (options.stderr === 'pipe') this.#stderr = new OutputLines();
    // Without the guard's shell, children must watch for their parent's death themselves, those already
    // started too.
    this.#orphanGuard = factory.orphanGuard(() => {
      for (const child of this.#children) child.send(tag({ type: 'pool:watch-parent' }));
    });
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
    return [...this.#children].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
  }

  /** The children's stdout and stderr as streams of lines, where the options pipe them. */
  get output(): { stdout: Readable | null; stderr: Readable | null } {
    return { stdout: this.#stdout?.stream ?? null, stderr: this.#stderr?.stream ?? null };
  }

  stats(): PoolStats {
    const stats: PoolStats = { processes: 0, starting: 0, idle: 0, busy: 0, queued: this.#queued, running: 0, ...this.#counts };
    for (const child of this.#children) {
      stats.processes++;
      if (child.state === 'starting') stats.starting++;
      else if (child.heldCount > 0) stats.busy++;
      else stats.idle++;
      const waiting = child.notStarted();
      stats.queued += waiting;
      stats.running += child.heldCount - waiting;
    }
    return stats;
  }

  /**
   * Queue a task. In a broken or terminated pool it is rejected at once (a closed pool still takes tasks
   * from calls already under way; the facades refuse new calls).
   */
  submit(task: Task): void {
    if (this.#state === 'broken' || this.#state === 'terminated') {
      task.finish();
      task.sink.rejectTask(task, this.#stoppedError());
      return;
    }
    this.#addPending(1);
    task.enqueue();
    this.#queue.push(task);
    this.#queued++;
    this.#dispatch();
  }

  /**
   * Reject a task with `reason` (its call's signal was aborted). One that has not started is dropped and no
   * child is harmed; a running one's child is stopped and replaced.
   */
  abort(task: Task, reason: unknown): void {
    if (task.state === 'done') return;
    const child = task.holder;
    const started = !this.#takeBack(task);
    // Dropped before it started, it was cancelled rather than failed.
    this.#settle(task, reason, undefined, undefined, undefined, started);
    if (started && child !== undefined) this.#stopRunning(child, task, 'abort');
    this.#dispatch();
  }

  /**
   * Drop a task that has not started: true if it never will (wherever it waited: in the queue or held
   * ahead by a child), false if a child may have begun it, which then goes on.
   */
  cancel(task: Task): boolean {
    if (task.state === 'done' || !this.#takeBack(task)) return false;
    this.#finish(task);
    this.#dispatch();
    return true;
  }

  /**
   * The task's call no longer wants it: cancel it if it has not started; if it has, it runs to its end in its
   * child and its outcome is ignored.
   */
  discard(task: Task): void {
    if (this.cancel(task) || task.state === 'done') return;
    this.#finish(task);
  }

  /** Whether a child has begun the task and it is not finished. */
  running(task: Task): boolean {
    return task.state === 'held' && task.started;
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
      for (const child of this.#children) child.stop('terminate');
      return;
    }
    this.#transition('terminated');
    this.#stopEverything('terminate', () => new PoolStateError('The pool was terminated before this task finished.'));
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
   * Hand queued tasks to children that asked for work, those that hold nothing first. A child holds as many
   * as it asked for, but no more than its share of the queue among the children that take tasks or soon
   * will (those still starting count too), so that a few tasks are spread rather than piled on the first.
   * With the queue empty, an idle child takes over tasks another holds ahead of its turn.
   */
  #dispatch(): void {
    for (;;) {
      const head = this.#nextQueued();
      if (head === undefined) {
        if (this.#rebalance()) continue;
        break;
      }
      const share = this.#share();
      const child = this.#pickChild(head, share);
      if (child === undefined) break;
      this.#sendTo(child, this.#takeBatch(Math.min(child.credits, child.room, share - child.heldCount)));
    }
    // Below `processes`, tasks left waiting start more children; children left idle retire in time.
    if (this.#children.size < this.#options.processes) this.#replenish();
    this.#armIdleTimers();
    this.#retireIfDone();
  }

  /** The first queued task still wanted, dropping the finished ones before it. */
  #nextQueued(): Task | undefined {
    let task = this.#queue.peek();
    while (task !== undefined && task.state === 'done') {
      this.#queue.shift();
      task = this.#queue.peek();
    }
    return task;
  }

  /** The child to send `task` to, among those holding less than `share`: one that holds nothing if there is one. */
  #pickChild(task: Task, share: number): ChildHandle | undefined {
    let busy: ChildHandle | undefined;
    for (const child of this.#children) {
      if (child.heldCount >= share || !child.takes(task)) continue;
      if (child.heldCount === 0) return child;
      if (busy === undefined || child.heldCount < busy.heldCount) busy = child;
    }
    return busy;
  }

  /**
   * How many tasks a child may hold: an even split of the queue and what they hold already among the
   * children that take tasks or soon will. Children still starting count, so that the first one ready
   * does not take everything.
   */
  #share(): number {
    let takers = 0;
    let work = this.#queued;
    for (const child of this.#children) {
      if (child.state === 'starting' || (child.state === 'ready' && child.credits > 0 && child.room > 0)) {
        takers++;
        work += child.heldCount;
      }
    }
    return Math.ceil(work / Math.max(1, takers));
  }

  /** Up to `limit` tasks from the front of the queue; a task with a clock only as the first. */
  #takeBatch(limit: number): Task[] {
    const batch: Task[] = [this.#queue.shift()!];
    this.#queued--;
    while (batch.length < limit) {
      const task = this.#nextQueued();
      if (task === undefined || task.urgent) break;
      batch.push(this.#queue.shift()!);
      this.#queued--;
    }
    return batch;
  }

  #sendTo(child: ChildHandle, batch: Task[]): void {
    batch = batch.filter((task) => this.#sendable(task));
    if (batch.length === 0) return;
    this.#orphanGuard.start();
    const error = child.sendTasks(batch);
    if (error !== undefined) {
      // Nothing was written: send them one by one, and only those that cannot be sent fail.
      if (batch.length > 1) {
        for (const task of batch) this.#sendTo(child, [task]);
      } else {
        this.#settle(batch[0], unsendableError('The task arguments', error.message, error));
      }
      return;
    }
    // A task with a clock went to a child that held nothing: it starts now.
    const first = batch[0];
    if (first.timeout !== undefined) first.timer = startTimer(first.timeout, () => this.#timedOut(first));
  }

  /** Fail a task whose arguments the child could not take: see findUnsendable. */
  #sendable(task: Task): boolean {
    if (task.inputs instanceof Float64Array) return true;
    const problem = findUnsendable(task.inputs, this.#options.serialization, 'arguments');
    if (problem !== undefined) this.#settle(task, unsendableError('The task arguments', problem));
    return problem === undefined;
  }

  /**
   * With the queue empty and a child idle, take back half of what the child holding the most has not begun,
   * from the end of its line, and queue it for the idle one. True if anything was taken.
   */
  #rebalance(): boolean {
    let idle: ChildHandle | undefined;
    for (const child of this.#children) {
      if (child.heldCount === 0 && child.state === 'ready' && child.credits > 0 && child.room > 0) {
        idle = child;
        break;
      }
    }
    if (idle === undefined) return false;
    let victim: ChildHandle | undefined;
    let most = 0;
    for (const child of this.#children) {
      if (child.heldCount < 2) continue; // one it holds is running, or about to
      const waiting = child.notStarted();
      if (waiting > most) [victim, most] = [child, waiting];
    }
    if (victim === undefined) return false;
    const wanted = Math.min(Math.ceil(most / 2), idle.credits, idle.room);
    const taken: Task[] = [];
    for (const task of [...victim.held].reverse()) {
      if (taken.length === wanted || !victim.revoke(task)) break;
      taken.unshift(task);
    }
    this.#requeue(taken);
    return taken.length > 0;
  }

  /**
   * Take a task back from the queue or from the child holding it, unless a child may have begun it. The
   * task is then loose, and the caller finishes it.
   */
  #takeBack(task: Task): boolean {
    switch (task.state) {
      case 'queued':
        // It stays in the queue, which skips it once it is finished.
        this.#queued--;
        return true;
      case 'loose':
        return true;
      case 'held':
        return task.holder!.revoke(task);
      case 'done':
        return false;
    }
  }

  // --- Messages from children -----------------------------------------------------------------------

  onChildMessage(child: ChildHandle, message: ChildMessage): void {
    switch (message.type) {
      case 'pool:ready':
        child.addCredits(message.credits);
        this.#dispatch();
        return;
      case 'pool:results': {
        child.addCredits(message.credits);
        for (const id of message.dropped ?? []) {
          // Dropped unrun because another task of its call failed: the call ends, and drops the rest itself.
          const task = child.heldTask(id);
          if (task === undefined) continue;
          child.answered(task, false);
          if (task.state !== 'done') this.#finish(task);
        }
        const skipped: Task[] = [];
        for (const id of message.skipped ?? []) {
          // Taken back while the child was claiming it: it did not run, so it runs elsewhere.
          const task = child.heldTask(id);
          if (task === undefined) continue;
          child.answered(task, false);
          if (task.state !== 'done') skipped.push(task);
        }
        this.#requeue(skipped);
        for (const result of message.results) {
          const task = child.heldTask(result.id);
          if (task === undefined) continue;
          child.answered(task, true);
          this.#startFailures = 0;
          if ('values' in result) this.#settle(task, undefined, result.values);
          else this.#settle(task, fromWireError(result.error, this.#options.errorClasses), undefined, result.index, result.done);
        }
        if (child.spent) {
          child.retire('recycle');
          this.#replenish();
        }
        this.#dispatch();
        return;
      }
      case 'pool:init-error': {
        const cause = fromWireError(message.error, this.#options.errorClasses);
        this.#break({
          message: `The pool's initializer failed in child ${child.pid}: ${cause.message}`,
          exit: { pid: child.pid },
          cause,
        });
        return;
      }
      case 'pool:event': {
        if (child.pid === undefined) return;
        const info = { pid: child.pid };
        const task = child.heldTask(message.id);
        if (task !== undefined && task.state !== 'done') task.sink.eventFor?.(task, message.value, info);
        this.#observer.event(message.value, info);
        return;
      }
      case 'pool:fatal':
        child.diedOf(fromWireError(message.error, this.#options.errorClasses));
        return;
    }
  }

  onProtocolMismatch(child: ChildHandle, version: unknown): void {
    this.#break({
      message:
        `The child script (pid ${child.pid}) speaks protocol version ${String(version)}, this pool version ` +
        `${PROTOCOL_VERSION}: it comes from another release of forkpool. Rebuild, or point \`childScript\` at the ` +
        'child script of this release.',
      exit: { pid: child.pid },
    });
  }

  onChildExit(child: ChildHandle, exit: ExitInfo, held: HeldAtExit[]): void {
    this.#children.delete(child);
    this.#orphanGuard.forget(exit.pid);
    if (exit.spawnError !== undefined) {
      // A fork that failed (no such cwd, no processes left) fails the same way for every replacement.
      this.#break({ message: `A child process could not be started: ${exit.spawnError.message}`, exit, cause: exit.spawnError });
    }
    const decision = decideExit({
      stopReason: child.stopReason,
      answeredOne: child.answeredOne,
      held: held.map(({ task, started }) => ({ task, started, done: task.state === 'done' })),
      onWorkerCrash: this.#options.onWorkerCrash,
      startFailures: this.#startFailures,
    });
    this.#startFailures = decision.startFailures;
    let message = describeExit(exit, child, held, decision.reason);
    if (decision.breakPool) message += ' The pool is broken: every pending and later task fails.';
    const reason: BreakReason = { message, exit, cause: child.fatalError };
    for (const task of decision.fail) this.#settle(task, this.#brokenError(reason));
    if (decision.breakPool) this.#break(reason);
    this.#requeue(decision.requeue);
    if (decision.reason === 'crashed') this.#counts.crashed++;
    if (exit.pid !== undefined) this.#observer.exit({ pid: exit.pid, exitCode: exit.exitCode, signal: exit.signal, reason: decision.reason });
    this.#replenish();
    this.#dispatch();
    if (this.#children.size === 0 && this.#state !== 'running') this.#exited();
  }

  // --- Faults ---------------------------------------------------------------------------------------

  #timedOut(task: Task): void {
    const child = task.holder!;
    this.#settle(task, new TimeoutError(`The task did not finish within its timeout of ${task.timeout} ms.`, task.timeout!));
    this.#stopRunning(child, task, 'timeout');
    this.#dispatch();
  }

  /**
   * `child` began `target`, which the pool gave up (a timeout, an abort): stop the child, but harm no other
   * task. What it holds behind the target is taken back first; if it has begun any of that, the target is
   * over already and the child is left alone.
   */
  #stopRunning(child: ChildHandle, target: Task, reason: StopReason): void {
    const behind = [...child.held].filter((task) => task.seq > target.seq);
    const taken: Task[] = [];
    let targetOver = false;
    for (const task of behind.reverse()) {
      if (!child.revoke(task)) {
        targetOver = true;
        break;
      }
      taken.unshift(task);
    }
    this.#requeue(taken);
    if (targetOver) return;
    child.stop(reason);
    this.#replenish();
  }

  #break(reason: BreakReason): void {
    if (this.#state === 'broken' || this.#state === 'terminated') return;
    this.#transition('broken');
    this.#breakReason = reason;
    this.#stopEverything('break', () => this.#brokenError(reason));
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

  /** Stop every child and reject every unfinished task, each with an error of its own. */
  #stopEverything(reason: StopReason, errorFor: () => Error): void {
    this.#refreshRefs();
    for (const child of this.#children) {
      for (const task of child.held) this.#settle(task, errorFor());
      child.stop(reason);
    }
    for (const task of this.#queue.drain()) this.#settle(task, errorFor());
    this.#queued = 0;
    if (this.#children.size === 0) this.#exited();
  }

  // --- Children's lifecycle -------------------------------------------------------------------------

  /**
   * Keep `minProcesses` children able to take tasks while the pool has, or may get, work, and start more,
   * up to `processes`, while tasks wait that the children there are will not take soon.
   */
  #replenish(): void {
    const wanted = this.#state === 'running' || (this.#state === 'closed' && this.#hasWork());
    if (!wanted) return;
    let able = this.#ableCount();
    // Children that will take a task the moment it is queued: those starting, and those holding none.
    let free = 0;
    for (const child of this.#children) {
      if (child.state === 'starting' || (child.state === 'ready' && child.heldCount === 0)) free++;
    }
    const demand = able + Math.max(0, this.#queued - free);
    const target = Math.min(this.#options.processes, Math.max(this.#options.minProcesses, demand));
    for (; able < target; able++) if (!this.#fork()) return;
  }

  /** Start one child; false if the fork failed, which breaks the pool. */
  #fork(): boolean {
    let child: ChildHandle;
    try {
      child = new ChildHandle(this.#options, this.#childSetup, this.#orphanGuard.childrenWatch, this, this.#factory);
    } catch (error) {
      // Out of descriptors or processes: the replacements would fail alike.
      this.#break({ message: `A child process could not be started: ${(error as Error).message}`, exit: {}, cause: error });
      return false;
    }
    child.ref(this.#keepsAlive());
    this.#children.add(child);
    this.#orphanGuard.watch(child.pid);
    const { stdout, stderr } = child.output;
    if (stdout !== null) this.#stdout?.add(stdout);
    if (stderr !== null) this.#stderr?.add(stderr);
    if (child.pid !== undefined) {
      this.#counts.spawned++;
      this.#observer.spawn({ pid: child.pid });
    }
    return true;
  }

  /**
   * Children beyond `minProcesses` that hold nothing retire after `idleTimeout`; one given a task in the
   * meantime stays (sending it a task disarms its timer).
   */
  #armIdleTimers(): void {
    const { idleTimeout, minProcesses } = this.#options;
    if (idleTimeout === undefined || this.#state !== 'running' || this.#ableCount() <= minProcesses) return;
    for (const child of this.#children) {
      if (child.state !== 'ready' || child.heldCount > 0 || child.idleTimerArmed) continue;
      child.armIdleTimer(idleTimeout, () => this.#idled(child));
    }
  }

  #idled(child: ChildHandle): void {
    if (child.state !== 'ready' || child.heldCount > 0 || this.#ableCount() <= this.#options.minProcesses) return;
    child.retire('idle');
  }

  /** Children that take tasks, or soon will: those neither retiring nor stopping. */
  #ableCount(): number {
    let able = 0;
    for (const child of this.#children) if (child.state === 'starting' || child.state === 'ready') able++;
    return able;
  }

  /** Once a closed pool has nothing left to run, let its children go. */
  #retireIfDone(): void {
    if (this.#state !== 'closed' || this.#hasWork()) return;
    for (const child of this.#children) child.retire('close');
    if (this.#children.size === 0) this.#exited();
  }

  /** Every child has exited, for good. */
  #exited(): void {
    this.#orphanGuard.close();
    // Each child's 'close' came after its output had ended: nothing more will be read.
    this.#stdout?.end();
    this.#stderr?.end();
    this.#allExited.resolve();
  }

  #hasWork(): boolean {
    if (this.#queued > 0 || this.#openInputs.size > 0) return true;
    for (const child of this.#children) if (child.heldCount > 0) return true;
    return false;
  }

  /**
   * Put loose tasks back at the front of the queue, in the given order: they were submitted before the rest.
   * One finished meanwhile (its call ended while another of its tasks settled) stays out.
   */
  #requeue(tasks: Task[]): void {
    const loose = tasks.filter((task) => task.state === 'loose');
    if (loose.length === 0) return;
    for (const task of loose) task.enqueue();
    this.#queue.unshift(loose);
    this.#queued += loose.length;
  }

  // --- Settling -------------------------------------------------------------------------------------

  /**
   * `index` and `done`: the failing call of a chunk, and the results of those that succeeded. `counted`:
   * false for a task dropped before it started (an abort), which neither completed nor failed.
   */
  #settle(task: Task, error: unknown, values?: ChunkValues, index?: number, done?: ChunkValues, counted = true): void {
    if (task.state === 'done') return;
    this.#finish(task);
    if (counted) this.#counts[values !== undefined ? 'completed' : 'failed']++;
    if (values !== undefined) task.sink.resolveTask(task, values);
    else task.sink.rejectTask(task, error, index, done);
  }

  /** Everything that ends with a task, however it ends. */
  #finish(task: Task): void {
    task.finish();
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
    for (const child of this.#children) child.ref(keepAlive);
  }

  #transition(to: PoolState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new PoolStateError(`The pool cannot go from ${this.#state} to ${to}.`);
    }
    this.#state = to;
  }
}

/** What became of a child, for the BrokenPoolError of the tasks it took with it. */
function describeExit(exit: ExitInfo, child: ChildHandle, held: HeldAtExit[], reason: string): string {
  if (reason === 'timeout' || reason === 'aborted') {
    return `The child process (pid ${exit.pid}) running this task was stopped (${reason}).`;
  }
  const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`;
  const doing = held.some((h) => h.started)
    ? 'while running a task'
    : child.answeredOne
      ? 'while idle'
      : 'before it had finished a first task';
  const why = child.fatalError === undefined ? '' : ` It died of an uncaught error: ${child.fatalError.message}`;
  return `A child process (pid ${exit.pid}) ${how} ${doing}.${why}`;
}

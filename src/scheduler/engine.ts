/**
 * The scheduler under every local pool (Pool, ThreadPool and their executors): the pool's state and its
 * public operations. Where tasks go is the dispatcher's (dispatch.ts), the workers' lifecycle the
 * supervisor's (supervisor.ts), and what a worker is, process or thread, the transport's (worker.ts).
 *
 *     calls ──submit──▶ queue ──dispatch──▶ worker handles ══transport══▶ workers
 *       ▲                 ▲  ◀──revoke (progress page)──┘  │                 │
 *       └───── settle ◀───┴──────── results ◀══════════════╧═════════════════┘
 *                         └──────── exit policy ◀── a worker's exit (supervisor)
 *
 * - Workers pull: each asks for tasks (credits) and is sent no more than it asked for. A worker asks for
 *   one at a time until it proves that waiting for the next one costs it (workers/credit-window.ts).
 * - The parent keeps what it has not handed out, and takes back what a worker holds but has not begun when
 *   another worker goes idle with nothing left in the queue: no task waits behind a long one while a worker
 *   idles. The progress page makes taking back instant, even from a worker in a long synchronous task.
 * - A worker's exit goes through the exit policy, which decides which tasks fail and which run elsewhere.
 */
import type { Readable } from 'node:stream';
import pDefer from 'p-defer';
import { BrokenPoolError, PoolStateError, TimeoutError } from '../errors';
import type { PoolStats, WorkerInfo } from '../events';
import type { ResolvedPoolOptions } from '../options';
import type { ChunkValues } from '../shared/packing';
import { SharedMemory } from '../shared/shared-memory';
import { PROTOCOL_VERSION, tag, type ChildMessage, type WireResult } from '../shared/protocol';
import { applyPatches, closeEncoding, decode, encode, type BlockPatch, type EncodeOptions, type Encoding, type Envelope } from '../shared/value-codec';
import { fromWireError } from '../shared/wire-error';
import { Dispatcher } from './dispatch';
import type { StopReason } from './exit-policy';
import { Supervisor, workerName } from './supervisor';
import type { Task } from './task';
import { chunkedInputWindow, type OpenInput, type PoolObserver, type PoolState, type TaskRunner } from './task-runner';
import { startTimer } from './timer';
import type { InitBody, Transport } from './worker';
import type { ExitInfo, HeldAtExit, WorkerHandle, WorkerOwner } from './worker-handle';

const TRANSITIONS: Record<PoolState, readonly PoolState[]> = {
  running: ['closed', 'terminated', 'broken'],
  closed: ['terminated', 'broken'],
  broken: [],
  terminated: [],
};

/** How long a stopped task's worker may take to send the results it holds back before it is stopped anyway (ms). */
const RESULTS_GRACE_MS = 50;

/** Why the pool broke, kept to give every task a fresh error of its own. */
interface BreakReason {
  message: string;
  exit: Partial<ExitInfo>;
  cause?: unknown;
}

export class Engine implements TaskRunner, WorkerOwner {
  #state: PoolState = 'running';
  readonly #options: ResolvedPoolOptions;
  readonly #dispatcher: Dispatcher;
  readonly #supervisor: Supervisor;
  /** Unfinished tasks plus open inputs: while above zero the workers keep the parent alive. */
  #pending = 0;
  /** Calls still reading their input (imap): they may submit more even after `close()`. */
  readonly #openInputs = new Set<OpenInput>();
  #breakReason: BreakReason | undefined;
  readonly #allExited = pDefer<void>();
  /** Every worker has exited and none will start: set once, by #exited(). */
  #allGone = false;
  readonly #observer: PoolObserver;
  readonly #counts = { completed: 0, failed: 0 };
  /** Ids of the SharedMemory blocks this pool's workers may hold: their closing is passed on to the workers. */
  readonly #blockIds = new Set<string>();
  readonly #stopWatchingBlocks: () => void;
  /** The initializer's arguments as they travel, where they carry blocks or large parts: kept for every worker. */
  readonly #initargs: Encoding | undefined;
  /** How values that carry blocks or large parts travel to this pool's workers. */
  readonly #encodeOptions: EncodeOptions;

  constructor(options: ResolvedPoolOptions, init: InitBody, observer: PoolObserver, transport: Transport) {
    this.#options = options;
    this.#observer = observer;
    this.#encodeOptions = { serialization: options.serialization, outOfBand: transport.outOfBand, buffersAsBytes: transport.buffersAsBytes };
    this.#initargs = encode(init.initargs, this.#encodeOptions);
    if (this.#initargs !== undefined) {
      for (const block of this.#initargs.blocks) block.retain();
      this.onBlocksSent(this.#initargs.blocks);
      init = { ...init, initargs: [], initargsEncoded: this.#initargs.envelope };
    }
    this.#stopWatchingBlocks = SharedMemory.onClose((id) => this.#blockClosed(id));
    this.#dispatcher = new Dispatcher(options.serialization, {
      unsendable: (task, error) => this.#settle(task, error),
      sending: () => transport.sending(),
      sent: (task) => (task.timer = startTimer(task.timeout!, () => this.#timedOut(task))),
    });
    this.#supervisor = new Supervisor(options, init, transport, this, observer);
    this.#replenish();
  }

  get state(): PoolState {
    return this.#state;
  }

  get processes(): number {
    return this.#options.processes;
  }

  inputWindow(): number {
    return chunkedInputWindow(this.#options.processes);
  }

  /** The live workers' `{ pid }` or `{ threadId }`, for diagnostics and tests. */
  get workers(): WorkerInfo[] {
    return this.#supervisor.infos;
  }

  /** The workers' stdout and stderr as streams of lines, where the options pipe them. */
  get output(): { stdout: Readable | null; stderr: Readable | null } {
    return this.#supervisor.output;
  }

  stats(): PoolStats {
    const stats: PoolStats = { processes: 0, starting: 0, idle: 0, busy: 0, queued: this.#dispatcher.queued, running: 0, ...this.#counts, spawned: 0, crashed: 0 };
    this.#supervisor.count(stats);
    return stats;
  }

  /**
   * Queue a task. In a broken or terminated pool it is rejected at once (a closed pool still takes tasks
   * from calls already under way; the facades refuse new calls).
   */
  submit(task: Task): void {
    if (this.#enqueue(task)) this.#dispatch();
  }

  /**
   * Submit several tasks at once: they go to the workers together, several to a message, where one submit
   * after another would send the first of them one by one while the workers have room.
   */
  submitAll(tasks: readonly Task[]): void {
    let queued = false;
    for (const task of tasks) queued = this.#enqueue(task) || queued;
    if (queued) this.#dispatch();
  }

  /** Queue a task; false if it failed at once. */
  #enqueue(task: Task): boolean {
    if (this.#state === 'broken' || this.#state === 'terminated') {
      task.finish();
      task.sink.rejectTask(task, this.#stoppedError());
      return false;
    }
    try {
      task.scanInputs(this.#encodeOptions);
    } catch (error) {
      // A SharedMemory closed before the call: the call's mistake, and the call's alone.
      task.finish();
      task.sink.rejectTask(task, error);
      return false;
    }
    this.#addPending(1);
    this.#dispatcher.push(task);
    return true;
  }

  /**
   * Reject a task with `reason` (its call's signal was aborted). One that has not started is dropped and no
   * worker is harmed; a running one's worker is stopped and replaced.
   */
  abort(task: Task, reason: unknown): void {
    if (task.state === 'done') return;
    const worker = task.holder;
    const started = !this.#dispatcher.takeBack(task);
    // Dropped before it started, it was cancelled rather than failed.
    this.#settle(task, reason, undefined, undefined, undefined, started);
    if (started && worker !== undefined) this.#stopRunning(worker, task, 'abort');
    this.#dispatch();
  }

  /**
   * Drop a task that has not started: true if it never will (wherever it waited: in the queue or held
   * ahead by a worker), false if a worker may have begun it, which then goes on.
   */
  cancel(task: Task): boolean {
    if (task.state === 'done' || !this.#dispatcher.takeBack(task)) return false;
    this.#finish(task);
    this.#dispatch();
    return true;
  }

  /**
   * The task's call no longer wants it: cancel it if it has not started; if it has, it runs to its end in its
   * worker and its outcome is ignored.
   */
  discard(task: Task): void {
    if (this.cancel(task) || task.state === 'done') return;
    this.#finish(task);
  }

  /** Whether a worker has begun the task and it is not finished. */
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
    this.#supervisor.ref(this.#keepsAlive());
    for (const input of [...this.#openInputs]) input.poolClosed();
    this.#retireIfDone();
  }

  terminate(): void {
    if (this.#state === 'terminated' || this.#state === 'broken') {
      for (const worker of this.#supervisor.workers) worker.stop('terminate');
      return;
    }
    this.#transition('terminated');
    this.#stopEverything('terminate', () => new PoolStateError('The pool was terminated before this task finished.'));
  }

  /** Resolves once every worker has exited; only after `close()` or `terminate()` (or once broken). */
  join(): Promise<void> {
    if (this.#state === 'running') {
      return Promise.reject(new PoolStateError('join() waits for the workers to exit: call close() or terminate() first.'));
    }
    return this.#allExited.promise;
  }

  // --- What the workers say -------------------------------------------------------------------------

  onBlocksSent(blocks: SharedMemory[]): void {
    for (const block of blocks) this.#blockIds.add(block.id);
  }

  /** A block closed here: the workers that may hold it let go of it too. */
  #blockClosed(id: string): void {
    if (!this.#blockIds.delete(id)) return;
    for (const worker of this.#supervisor.workers) worker.send(tag({ type: 'pool:blocks-closed', ids: [id] }));
  }

  /**
   * A value a worker sent, as this process sees it: decoded where it came in an envelope, whose segment the
   * worker is then told it may close. @throws what decoding throws (a segment or block the worker no longer holds).
   */
  #received(worker: WorkerHandle, encoded: Envelope): unknown {
    const segment = encoded.segment;
    try {
      const { value, blocks } = decode(encoded, this.#options.serialization);
      this.onBlocksSent(blocks);
      return value;
    } finally {
      if (segment !== undefined && segment.fd >= 0) worker.send(tag({ type: 'pool:release', segments: [segment] }));
    }
  }

  onWorkerMessage(worker: WorkerHandle, message: ChildMessage): void {
    switch (message.type) {
      case 'pool:ready':
        worker.addCredits(message.credits);
        this.#dispatch();
        return;
      case 'pool:results': {
        worker.addCredits(message.credits);
        for (const id of message.dropped ?? []) {
          // Dropped unrun because another task of its call failed: the call ends, and drops the rest itself.
          const task = worker.heldTask(id);
          if (task === undefined) continue;
          worker.answered(task, false);
          if (task.state !== 'done') this.#finish(task);
        }
        const skipped: Task[] = [];
        for (const id of message.skipped ?? []) {
          // Taken back while the worker was claiming it: it did not run, so it runs elsewhere.
          const task = worker.heldTask(id);
          if (task === undefined) continue;
          worker.answered(task, false);
          if (task.state !== 'done') skipped.push(task);
        }
        this.#dispatcher.requeue(skipped);
        for (const result of message.results) {
          const task = worker.heldTask(result.id);
          if (task === undefined) continue;
          worker.answered(task, true);
          this.#supervisor.answered();
          this.#settleResult(worker, task, result);
        }
        if (worker.spent) {
          worker.retire('recycle');
          this.#replenish();
        }
        this.#dispatch();
        return;
      }
      case 'pool:init-error': {
        const cause = fromWireError(message.error, this.#options.errorClasses);
        this.#break({
          message: `The pool's initializer failed in the ${workerName(worker.info)}: ${cause.message}`,
          exit: { info: worker.info },
          cause,
        });
        return;
      }
      case 'pool:event': {
        const info = worker.info;
        if (info === undefined) return;
        let value = message.value;
        if (message.encoded !== undefined) {
          try {
            value = this.#received(worker, message.encoded);
          } catch {
            // The worker is gone, with the segment of its event: the event is lost with it.
            return;
          }
        }
        const task = worker.heldTask(message.id);
        if (task !== undefined && task.state !== 'done') task.sink.eventFor?.(task, value, info);
        this.#observer.event(value, info);
        return;
      }
      case 'pool:fatal':
        worker.diedOf(fromWireError(message.error, this.#options.errorClasses));
        return;
    }
  }

  onProtocolMismatch(worker: WorkerHandle, version: unknown): void {
    this.#break({
      message:
        `The ${workerName(worker.info)} speaks protocol version ${String(version)}, this pool version ` +
        `${PROTOCOL_VERSION}: its script comes from another release of forkpool. Rebuild, or point \`childScript\` ` +
        'at the child script of this release.',
      exit: { info: worker.info },
    });
  }

  onWorkerExit(worker: WorkerHandle, exit: ExitInfo, held: HeldAtExit[]): void {
    const end = this.#supervisor.exited(worker, exit, held);
    if (exit.spawnError !== undefined) {
      // A start that failed (no such cwd, no processes left) fails the same way for every replacement.
      this.#break({ message: `A worker could not be started: ${exit.spawnError.message}`, exit, cause: exit.spawnError });
    }
    let message = end.message;
    if (end.breakPool) message += ' The pool is broken: every pending and later task fails.';
    const reason: BreakReason = { message, exit, cause: worker.fatalError };
    for (const task of end.fail) this.#settle(task, this.#brokenError(reason));
    if (end.breakPool) this.#break(reason);
    this.#dispatcher.requeue(end.requeue);
    if (exit.info !== undefined) this.#observer.exit({ ...exit.info, exitCode: exit.exitCode, signal: exit.signal, reason: end.reason });
    this.#replenish();
    this.#dispatch();
    if (this.#supervisor.size === 0 && this.#state !== 'running') this.#exited();
  }

  /** A task's outcome as its worker sent it: its values or its error, decoded where they came in envelopes. */
  #settleResult(worker: WorkerHandle, task: Task, result: WireResult): void {
    let values: ChunkValues | undefined;
    try {
      // The blocks the task carried in copy mode: their contents, as the task left them, go back in place.
      if (result.writeBack !== undefined) applyPatches(this.#received(worker, result.writeBack) as BlockPatch[]);
      values = result.encoded === undefined ? ('values' in result ? result.values : result.done) : (this.#received(worker, result.encoded) as ChunkValues);
    } catch (error) {
      this.#settle(task, error);
      return;
    }
    if ('values' in result) this.#settle(task, undefined, values);
    else this.#settle(task, fromWireError(result.error, this.#options.errorClasses), undefined, result.index, values);
  }

  // --- Dispatch and the workers' numbers ------------------------------------------------------------

  /** Hand queued tasks to the workers that asked; below `processes`, start more; let idle ones go in time. */
  #dispatch(): void {
    this.#dispatcher.dispatch(this.#supervisor.workers);
    if (this.#supervisor.size < this.#options.processes) this.#replenish();
    if (this.#state === 'running') this.#supervisor.armIdleTimers();
    this.#retireIfDone();
  }

  /** Keep as many workers as the pool needs: while it runs, or is closed with work left. */
  #replenish(): void {
    const wanted = this.#state === 'running' || (this.#state === 'closed' && this.#hasWork());
    const error = this.#supervisor.replenish(wanted, this.#dispatcher.queued, this.#keepsAlive());
    if (error !== undefined) {
      this.#break({ message: `A worker could not be started: ${error.message}`, exit: {}, cause: error });
    }
  }

  /** Once a closed pool has nothing left to run, let its workers go. */
  #retireIfDone(): void {
    if (this.#state !== 'closed' || this.#hasWork()) return;
    this.#supervisor.retireAll('close');
    if (this.#supervisor.size === 0) this.#exited();
  }

  /** Every worker has exited, for good. */
  #exited(): void {
    if (this.#allGone) return;
    this.#allGone = true;
    this.#supervisor.close();
    this.#stopWatchingBlocks();
    if (this.#initargs !== undefined) {
      closeEncoding(this.#initargs);
      for (const block of this.#initargs.blocks) block.release();
    }
    this.#allExited.resolve();
  }

  #hasWork(): boolean {
    if (this.#dispatcher.queued > 0 || this.#openInputs.size > 0) return true;
    for (const worker of this.#supervisor.workers) if (worker.heldCount > 0) return true;
    return false;
  }

  // --- Faults ---------------------------------------------------------------------------------------

  #timedOut(task: Task): void {
    const worker = task.holder!;
    this.#settle(task, new TimeoutError(`The task did not finish within its timeout of ${task.timeout} ms.`, task.timeout!));
    this.#stopRunning(worker, task, 'timeout');
    this.#dispatch();
  }

  /**
   * `worker` began `target`, which the pool gave up (a timeout, an abort): stop the worker, but harm no
   * other task. What it holds behind the target is taken back first; if it has begun any of that, the target
   * is over already and the worker is left alone.
   */
  #stopRunning(worker: WorkerHandle, target: Task, reason: StopReason, waited = false): void {
    // Tasks it ran before the target whose results have not come yet: the results of tiny tasks wait a moment
    // in the worker to share a message, and stopping it now would lose them. They come within moments (the
    // target, tiny too, ends, or a result that waits is sent before a task that may be long begins); the
    // worker is stopped once they have, or after a grace.
    if (!waited && [...worker.held].some((task) => task.seq < target.seq)) {
      const timer = setTimeout(() => {
        if (worker.state === 'stopping' || worker.state === 'exited' || worker.heldTask(target.id) === undefined) return;
        this.#stopRunning(worker, target, reason, true);
      }, RESULTS_GRACE_MS);
      timer.unref();
      return;
    }
    const behind = [...worker.held].filter((task) => task.seq > target.seq);
    const taken: Task[] = [];
    let targetOver = false;
    for (const task of behind.reverse()) {
      if (!worker.revoke(task)) {
        targetOver = true;
        break;
      }
      taken.unshift(task);
    }
    this.#dispatcher.requeue(taken);
    if (targetOver) return;
    worker.stop(reason);
    this.#replenish();
  }

  #break(reason: BreakReason): void {
    if (this.#state === 'broken' || this.#state === 'terminated') return;
    this.#transition('broken');
    this.#breakReason = reason;
    this.#stopEverything('break', () => this.#brokenError(reason));
  }

  #brokenError(reason: BreakReason): BrokenPoolError {
    const { info, exitCode, signal } = reason.exit;
    return new BrokenPoolError(reason.message, { ...info, exitCode, signal }, reason.cause === undefined ? undefined : { cause: reason.cause });
  }

  /** The error for a task submitted to a pool that no longer runs tasks. */
  #stoppedError(): Error {
    return this.#breakReason !== undefined
      ? this.#brokenError(this.#breakReason)
      : new PoolStateError('The pool was terminated; it runs no more tasks.');
  }

  /** Stop every worker and reject every unfinished task, each with an error of its own. */
  #stopEverything(reason: StopReason, errorFor: () => Error): void {
    this.#supervisor.ref(this.#keepsAlive());
    for (const worker of this.#supervisor.workers) {
      for (const task of worker.held) this.#settle(task, errorFor());
      worker.stop(reason);
    }
    for (const task of this.#dispatcher.drain()) this.#settle(task, errorFor());
    if (this.#supervisor.size === 0) this.#exited();
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
    if (before !== this.#pending > 0) this.#supervisor.ref(this.#keepsAlive());
  }

  #transition(to: PoolState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new PoolStateError(`The pool cannot go from ${this.#state} to ${to}.`);
    }
    this.#state = to;
  }
}

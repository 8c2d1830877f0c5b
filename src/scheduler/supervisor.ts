/**
 * The workers' lifecycle: how many there are, starting them (through the transport), replacing them,
 * retiring idle ones, and what a worker's exit means (through the exit policy). The engine decides what the
 * pool does; the supervisor keeps its workers in line with that.
 */
import type { Readable } from 'node:stream';
import type { PoolStats, WorkerInfo } from '../events';
import type { ResolvedPoolOptions } from '../options';
import { decideExit, type ExitDecision, type StopReason } from './exit-policy';
import { OutputLines } from './output-lines';
import type { PoolObserver } from './task-runner';
import type { Task } from './task';
import type { InitBody, Transport } from './worker';
import { WorkerHandle, type ExitInfo, type HeldAtExit, type WorkerOwner } from './worker-handle';

/** What a worker's exit comes to: the exit policy's decision, with the words for the errors it brings. */
export interface WorkerEnd extends ExitDecision<Task> {
  /** What became of the worker, for the BrokenPoolError of the tasks it took with it. */
  message: string;
}

export class Supervisor {
  readonly #workers = new Set<WorkerHandle>();
  readonly #options: ResolvedPoolOptions;
  readonly #init: InitBody;
  readonly #transport: Transport;
  readonly #owner: WorkerOwner;
  readonly #observer: PoolObserver;
  /** Workers in a row that died before answering a first task. */
  #startFailures = 0;
  /** The workers' output, where it is piped to the pool. */
  readonly #stdout: OutputLines | undefined;
  readonly #stderr: OutputLines | undefined;
  readonly #counts = { spawned: 0, crashed: 0 };

  constructor(options: ResolvedPoolOptions, init: InitBody, transport: Transport, owner: WorkerOwner, observer: PoolObserver) {
    this.#options = options;
    this.#init = init;
    this.#transport = transport;
    this.#owner = owner;
    this.#observer = observer;
    if (options.stdout === 'pipe') this.#stdout = new OutputLines();
    if (options.stderr === 'pipe') this.#stderr = new OutputLines();
  }

  get workers(): ReadonlySet<WorkerHandle> {
    return this.#workers;
  }

  get size(): number {
    return this.#workers.size;
  }

  /** The live workers' `{ pid }` or `{ threadId }`. */
  get infos(): WorkerInfo[] {
    return [...this.#workers].flatMap((worker) => (worker.info === undefined ? [] : [worker.info]));
  }

  get output(): { stdout: Readable | null; stderr: Readable | null } {
    return { stdout: this.#stdout?.stream ?? null, stderr: this.#stderr?.stream ?? null };
  }

  /** The workers' part of `stats()`. */
  count(stats: PoolStats): void {
    stats.spawned = this.#counts.spawned;
    stats.crashed = this.#counts.crashed;
    for (const worker of this.#workers) {
      stats.processes++;
      if (worker.state === 'starting') stats.starting++;
      else if (worker.heldCount > 0) stats.busy++;
      else stats.idle++;
      const waiting = worker.notStarted();
      stats.queued += waiting;
      stats.running += worker.heldCount - waiting;
    }
  }

  /**
   * Keep `minProcesses` workers able to take tasks while the pool has, or may get, work (`wanted`), and start
   * more, up to `processes`, while `queued` tasks wait that the workers there are will not take soon.
   * Returns the error of a start that failed, after which the pool starts no more.
   */
  replenish(wanted: boolean, queued: number, keepAlive: boolean): Error | undefined {
    if (!wanted) return undefined;
    let able = this.#ableCount();
    // Workers that will take a task the moment it is queued: those starting, and those holding none.
    let free = 0;
    for (const worker of this.#workers) {
      if (worker.state === 'starting' || (worker.state === 'ready' && worker.heldCount === 0)) free++;
    }
    const demand = able + Math.max(0, queued - free);
    const target = Math.min(this.#options.processes, Math.max(this.#options.minProcesses, demand));
    for (; able < target; able++) {
      const error = this.#spawn(keepAlive);
      if (error !== undefined) return error;
    }
    return undefined;
  }

  /**
   * Workers beyond `minProcesses` that hold nothing retire after `idleTimeout`; one given a task in the
   * meantime stays (sending it a task disarms its timer).
   */
  armIdleTimers(): void {
    const { idleTimeout, minProcesses } = this.#options;
    if (idleTimeout === undefined || this.#ableCount() <= minProcesses) return;
    for (const worker of this.#workers) {
      if (worker.state !== 'ready' || worker.heldCount > 0 || worker.idleTimerArmed) continue;
      worker.armIdleTimer(idleTimeout, () => this.#idled(worker));
    }
  }

  /** Ask every worker to exit once it is done with what it holds. */
  retireAll(reason: StopReason): void {
    for (const worker of this.#workers) worker.retire(reason);
  }

  /** Keep the parent alive for the workers (while there is work) or not. */
  ref(keepAlive: boolean): void {
    for (const worker of this.#workers) worker.ref(keepAlive);
  }

  /** A worker has exited: what it means for the tasks it held and for the pool (see exit-policy.ts). */
  exited(worker: WorkerHandle, exit: ExitInfo, held: HeldAtExit[]): WorkerEnd {
    this.#workers.delete(worker);
    this.#transport.forget(worker.link);
    const decision = decideExit({
      stopReason: worker.stopReason,
      answeredOne: worker.answeredOne,
      held: held.map(({ task, started }) => ({ task, started, done: task.state === 'done', moved: task.transfer !== undefined })),
      onWorkerCrash: this.#options.onWorkerCrash,
      startFailures: this.#startFailures,
    });
    this.#startFailures = decision.startFailures;
    if (decision.reason === 'crashed') this.#counts.crashed++;
    return { ...decision, message: describeExit(exit, worker, held, decision.reason) };
  }

  /** A worker answered a task: the failed starts in a row are over. */
  answered(): void {
    this.#startFailures = 0;
  }

  /** Every worker has exited, for good: nothing more will be read from them. */
  close(): void {
    this.#transport.close();
    // Each worker's exit came after its output had ended.
    this.#stdout?.end();
    this.#stderr?.end();
  }

  /** Start one worker; the error if it could not be started. */
  #spawn(keepAlive: boolean): Error | undefined {
    let worker: WorkerHandle;
    try {
      worker = new WorkerHandle(this.#options, this.#init, this.#transport, this.#owner);
    } catch (error) {
      // Out of descriptors or processes: the replacements would fail alike.
      return error as Error;
    }
    worker.ref(keepAlive);
    this.#workers.add(worker);
    const { stdout, stderr } = worker.output;
    if (stdout !== null) this.#stdout?.add(stdout);
    if (stderr !== null) this.#stderr?.add(stderr);
    if (worker.info !== undefined) {
      this.#counts.spawned++;
      this.#observer.spawn(worker.info);
    }
    return undefined;
  }

  #idled(worker: WorkerHandle): void {
    if (worker.state !== 'ready' || worker.heldCount > 0 || this.#ableCount() <= this.#options.minProcesses) return;
    worker.retire('idle');
  }

  /** Workers that take tasks, or soon will: those neither retiring nor stopping. */
  #ableCount(): number {
    let able = 0;
    for (const worker of this.#workers) if (worker.state === 'starting' || worker.state === 'ready') able++;
    return able;
  }
}

/** "process (pid 12)" or "thread (threadId 3)": which worker, in an error's words. */
export function workerName(info: WorkerInfo | undefined): string {
  if (info === undefined) return 'worker';
  return 'pid' in info ? `child process (pid ${info.pid})` : `worker thread (threadId ${(info as { threadId: number }).threadId})`;
}

/** What became of a worker, for the BrokenPoolError of the tasks it took with it. */
function describeExit(exit: ExitInfo, worker: WorkerHandle, held: HeldAtExit[], reason: string): string {
  const name = workerName(exit.info);
  if (reason === 'timeout' || reason === 'aborted') return `The ${name} running this task was stopped (${reason}).`;
  const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`;
  const doing = held.some((h) => h.started) ? 'while running a task' : worker.answeredOne ? 'while idle' : 'before it had finished a first task';
  const why = worker.fatalError === undefined ? '' : ` It died of an uncaught error: ${worker.fatalError.message}`;
  return `A ${name} ${how} ${doing}.${why}`;
}

/**
 * Which queued task goes to which worker, and when a task a worker holds comes back: the placement rules of
 * the pull loop (API.md, "Load balancing").
 *
 * - A worker is sent only what it asked for (its credits), and no more than its share of the work among the
 *   workers that take tasks or soon will (those still starting count too): a few tasks are spread, not
 *   piled on the first worker ready.
 * - Workers that hold nothing come first.
 * - A task with a clock goes only to a worker that holds nothing, so that its clock starts when it is sent.
 * - With the queue empty and a worker idle, half of what the busiest worker holds and has not begun is taken
 *   back, from the end of its line, and queued for the idle one: no task waits behind a long one while a
 *   worker idles.
 */
import { PoolStateError } from '../errors';
import type { Serialization } from '../options';
import { findUnsendable, unsendableError } from '../shared/sendable';
import type { Task } from './task';
import { TaskQueue } from './task-queue';
import type { WorkerHandle } from './worker-handle';

/** What the dispatcher asks of the engine. */
export interface DispatchHooks {
  /** A task that cannot be sent (its arguments): fail it. */
  unsendable(task: Task, error: Error): void;
  /** Tasks are about to be sent. */
  sending(): void;
  /** A task with a clock went to a worker that held nothing: its clock starts now. */
  sent(task: Task): void;
}

export class Dispatcher {
  readonly #queue = new TaskQueue();
  /** Tasks in the queue that are still wanted (finished ones stay in it until they reach the front). */
  #queued = 0;
  readonly #serialization: Serialization;
  readonly #hooks: DispatchHooks;

  constructor(serialization: Serialization, hooks: DispatchHooks) {
    this.#serialization = serialization;
    this.#hooks = hooks;
  }

  /** Tasks waiting in the pool's queue. */
  get queued(): number {
    return this.#queued;
  }

  push(task: Task): void {
    task.enqueue();
    this.#queue.push(task);
    this.#queued++;
  }

  /**
   * Put loose tasks back at the front of the queue, in the given order: they were submitted before the rest.
   * One finished meanwhile (its call ended while another of its tasks settled) stays out.
   */
  requeue(tasks: Task[]): void {
    const loose = tasks.filter((task) => task.state === 'loose');
    if (loose.length === 0) return;
    for (const task of loose) task.enqueue();
    this.#queue.unshift(loose);
    this.#queued += loose.length;
  }

  /**
   * Take a task back from the queue or from the worker holding it, unless a worker may have begun it. The
   * task is then loose, and the caller finishes it.
   */
  takeBack(task: Task): boolean {
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

  /** Every task still in the queue, which is left empty. */
  drain(): Task[] {
    this.#queued = 0;
    return this.#queue.drain();
  }

  /** Hand queued tasks to the workers that asked for them, by the rules above. */
  dispatch(workers: ReadonlySet<WorkerHandle>): void {
    for (;;) {
      const head = this.#nextQueued();
      if (head === undefined) {
        if (this.#rebalance(workers)) continue;
        return;
      }
      const share = this.#share(workers);
      const worker = pickWorker(workers, head, share);
      if (worker === undefined) return;
      this.#sendTo(worker, this.#takeBatch(Math.min(worker.credits, worker.room, share - worker.heldCount)));
    }
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

  /**
   * How many tasks a worker may hold: an even split of the queue and what they hold already among the
   * workers that take tasks or soon will. Workers still starting count, so that the first one ready does not
   * take everything.
   */
  #share(workers: ReadonlySet<WorkerHandle>): number {
    let takers = 0;
    let work = this.#queued;
    for (const worker of workers) {
      if (worker.state === 'starting' || (worker.state === 'ready' && worker.credits > 0 && worker.room > 0)) {
        takers++;
        work += worker.heldCount;
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

  #sendTo(worker: WorkerHandle, batch: Task[]): void {
    batch = batch.filter((task) => this.#sendable(task));
    if (batch.length === 0) return;
    this.#hooks.sending();
    const error = worker.sendTasks(batch);
    if (error !== undefined) {
      // Nothing was written: send them one by one, and only those that cannot be sent fail.
      if (batch.length > 1) {
        for (const task of batch) this.#sendTo(worker, [task]);
      } else {
        // A closed SharedMemory is the caller's mistake, not the channel's: its own error says so.
        const refused = error instanceof PoolStateError ? error : unsendableError('The task arguments', error.message, error);
        this.#hooks.unsendable(batch[0], refused);
      }
      return;
    }
    // A task with a clock went to a worker that held nothing: it starts now.
    if (batch[0].timeout !== undefined) this.#hooks.sent(batch[0]);
  }

  /** Fail a task whose arguments the worker could not take: see findUnsendable. */
  #sendable(task: Task): boolean {
    if (task.inputs instanceof Float64Array) return true;
    const problem = findUnsendable(task.inputs, this.#serialization, 'arguments');
    if (problem !== undefined) this.#hooks.unsendable(task, unsendableError('The task arguments', problem));
    return problem === undefined;
  }

  /**
   * With the queue empty and a worker idle, take back half of what the worker holding the most has not
   * begun, from the end of its line, and queue it for the idle one. True if anything was taken.
   */
  #rebalance(workers: ReadonlySet<WorkerHandle>): boolean {
    let idle: WorkerHandle | undefined;
    for (const worker of workers) {
      if (worker.heldCount === 0 && worker.state === 'ready' && worker.credits > 0 && worker.room > 0) {
        idle = worker;
        break;
      }
    }
    if (idle === undefined) return false;
    let victim: WorkerHandle | undefined;
    let most = 0;
    for (const worker of workers) {
      if (worker.heldCount < 2) continue; // one it holds is running, or about to
      const waiting = worker.notStarted();
      if (waiting > most) [victim, most] = [worker, waiting];
    }
    if (victim === undefined) return false;
    const wanted = Math.min(Math.ceil(most / 2), idle.credits, idle.room);
    const taken: Task[] = [];
    for (const task of [...victim.held].reverse()) {
      if (taken.length === wanted || !victim.revoke(task)) break;
      taken.unshift(task);
    }
    this.requeue(taken);
    return taken.length > 0;
  }
}

/** The worker to send `task` to, among those holding less than `share`: one that holds nothing if there is one. */
function pickWorker(workers: ReadonlySet<WorkerHandle>, task: Task, share: number): WorkerHandle | undefined {
  let busy: WorkerHandle | undefined;
  for (const worker of workers) {
    if (worker.heldCount >= share || !worker.takes(task)) continue;
    if (worker.heldCount === 0) return worker;
    if (busy === undefined || worker.heldCount < busy.heldCount) busy = worker;
  }
  return busy;
}

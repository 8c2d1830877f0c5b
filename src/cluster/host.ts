/**
 * A host of a cluster: `forkpool worker` as a function. A BullMQ Worker takes the queue's jobs, never more
 * at once than the host has processes, and runs each chunk of a job (one, or a pack of several) as a task of
 * its own on a local engine, so that a chunk's timeout, crash blame and error at its index are exactly those
 * of a local pool.
 *
 *     Redis queue ══take (concurrency = processes)══▶ BullMQ Worker ──a task per chunk──▶ engine ══▶ children
 *          ▲ ◀══ return value (the chunks' outcomes), progress (their emit()s) ══┘               ▲
 *          ├◀══ heartbeat: the registry, scored with Redis's clock (timer)                       │
 *          └══▶ stop channel: a pool gave a job (or chunks of it) up ──▶ their tasks aborted ────┘
 *
 * The host's own event loop does nothing heavy (the work is in its children): BullMQ's lock renewal and the
 * heartbeat are never starved, so a pool judges a host lost only when it is (killed, cut off, frozen).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import pDefer from 'p-defer';
import { createEngine } from '../calls/pool-setup';
import { ProcessTransport } from '../transports/process/process-transport';
import type { TaskResolver } from '../calls/task-resolver';
import { invalidArgument, withCode } from '../errors';
import { BrokenPoolError } from '../index';
import type { ChildExitInfo, ChildInfo, WorkerInfo } from '../events';
import { checkTimeout, resolvePoolOptions } from '../options';
import { describe } from '../task-ref';
import type { Engine } from '../scheduler/engine';
import { Task, type TaskSink } from '../scheduler/task';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { connect, dependencies, QueueKeys, redisOptions, type BullMQ } from './backend';
import { resolveConnection, type HostOptions } from './cluster-options';
import {
  encodeEvent,
  encodeOutcome,
  encodeResult,
  errorOutcome,
  jobInputs,
  readJob,
  RECORD_TTL_S,
  type ChunkOutcome,
  type JobData,
  type JobResult,
  type Part,
  type WireSpec,
} from './job-codec';
import { withScripts, type ScriptClient } from './scripts';

/** A host beats this often at least; a chunk whose pool has a shorter `hostLossTimeout` makes it beat more often. */
const BEAT_MS = 1000;
/** ... but never more often than this. */
const MIN_BEAT_MS = 20;
/** Stop requests for jobs this host does not hold, kept in case it is taking one of them right now. */
const REMEMBERED_STOPS = 10_000;

/** Some chunks of a job, by index, or all of them. */
type Chunks = ReadonlySet<number> | typeof ALL_CHUNKS;
const ALL_CHUNKS = 'all';

function union(a: Chunks, b: Chunks): Chunks {
  return a === ALL_CHUNKS || b === ALL_CHUNKS ? ALL_CHUNKS : new Set([...a, ...b]);
}

type HostState =
  /** Registering, subscribing, starting its Worker. */
  | 'starting'
  /** Taking jobs. */
  | 'running'
  /** Taking no more jobs; finishing (or handing back) those it holds. */
  | 'closing'
  /** Out of the registry, connections and children gone. */
  | 'closed';

const TRANSITIONS: Record<HostState, readonly HostState[]> = {
  starting: ['running', 'closing'],
  running: ['closing'],
  closing: ['closed'],
  closed: [],
};

/** The events of a {@link Host}. */
export interface HostEvents {
  /** A child of the host's pool started. */
  spawn: [info: ChildInfo];
  /** A child of the host's pool exited, and why. */
  exit: [info: ChildExitInfo];
  /**
   * The host's pool broke (its children cannot start: a module that exits as it loads, a failed
   * initializer, no processes left): the host stops taking jobs and closes.
   */
  broken: [error: BrokenPoolError];
}

/** Options of {@link Host.close}. */
export interface HostCloseOptions {
  /**
   * How long (ms) to let the chunks the host holds finish; then they are stopped and handed back to the
   * queue, for another host. `0`: hand them back at once.
   * @default Infinity (finish them)
   */
  timeout?: number;
}

/**
 * A running host (see {@link runHost}): it takes jobs from the queue until {@link Host.close | close()}.
 * An event emitter of {@link HostEvents}.
 */
export class Host extends EventEmitter<HostEvents> {
  /** Unique per host process: `<hostname>.<pid>.<random>`. It is what pools' `hosts()` and errors name. */
  readonly id = `${os.hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
  /** Child processes, and chunks run at once. */
  readonly processes: number;
  /** The queue it takes jobs from. */
  readonly queue: string;
  #state: HostState = 'starting';
  readonly #keys: QueueKeys;
  readonly #engine: Engine;
  readonly #resolver: TaskResolver;
  readonly #redis: ScriptClient;
  readonly #subscriber: ScriptClient;
  #worker: BullMQ.Worker | undefined;
  /** The jobs being run, by id. */
  readonly #runs = new Map<string, HostJob>();
  /** Jobs (or chunks of jobs) a pool asked to stop that this host did not hold (yet), oldest first. */
  readonly #stops = new Map<string, Chunks>();
  #nextCall = 1;
  #beatMs = BEAT_MS;
  #beatTimer: NodeJS.Timeout | undefined;
  #handingBack = false;
  readonly #started = pDefer<void>();
  readonly #closed = pDefer<void>();

  /** @internal Made by runHost, which waits for it to start. */
  constructor(options: HostOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw invalidArgument(`Expected the host options to be an object with a \`connection\`, got ${describe(options)}.`);
    }
    const { connection, queue, prefix } = resolveConnection(options);
    const { processes, module, initializer, initargs, maxTasksPerChild, env, execArgv, cwd, stdout, stderr, childScript } = options;
    const resolved = resolvePoolOptions({
      processes,
      module,
      initializer,
      initargs,
      maxTasksPerChild,
      env,
      execArgv,
      cwd,
      stdout,
      stderr,
      childScript,
      // A child that crashes fails its own chunk and is replaced: the host goes on, as the pools expect.
      onWorkerCrash: 'respawn',
      // The pools' own serialization applies between them and the host; here, values stay what they are.
      serialization: 'advanced',
    });
    dependencies();
    this.processes = resolved.processes;
    this.queue = queue;
    this.#keys = new QueueKeys(prefix, queue);
    const setup = createEngine(resolved, {
      // A host's pool runs child processes: its workers are children, `{ pid }`.
      spawn: (info) => process.nextTick(() => this.emit('spawn', info as ChildInfo)),
      exit: (info) => {
        this.emit('exit', info as ChildExitInfo);
        // A child that could not start may have broken the pool: a host says so before it takes a job.
        queueMicrotask(() => this.#checkBroken(undefined));
      },
      event: () => {
        // Each task's events go to its job (HostJob.eventFor).
      },
    }, new ProcessTransport(resolved));
    this.#engine = setup.runner;
    this.#resolver = setup.resolver;
    const ignore = () => {
      // Connection errors: ioredis reconnects, and the pools judge how long a host may be away.
    };
    this.#redis = withScripts(connect(connection, ignore));
    this.#subscriber = withScripts(connect(connection, ignore));
    this.#subscriber.on('message', (_channel: string, message: string) => this.#onStop(message));
    void this.#start(connection, prefix);
  }

  /** Resolves once the host takes jobs. @internal */
  get started(): Promise<void> {
    return this.#started.promise;
  }

  /** Pids of the host's live children. */
  get pids(): number[] {
    return this.#engine.workers.map((worker) => (worker as ChildInfo).pid);
  }

  /**
   * Take no more jobs; let those the host holds finish (within `timeout`, then hand them back to the
   * queue); leave the registry; stop the children. Resolves once all that is done. Safe to call again: a
   * shorter `timeout` hands back sooner.
   */
  close({ timeout = Infinity }: HostCloseOptions = {}): Promise<void> {
    if (timeout !== 0) checkTimeout('timeout', timeout);
    if (timeout === 0) this.#handBackAll();
    else if (timeout !== Infinity) setTimeout(() => this.#handBackAll(), timeout).unref();
    if (this.#state === 'starting' || this.#state === 'running') {
      this.#transition('closing');
      void this.#shutDown();
    }
    return this.#closed.promise;
  }

  // --- Starting and closing -------------------------------------------------------------------------

  async #start(connection: HostOptions['connection'], prefix: string): Promise<void> {
    try {
      // Listening for stops and in the registry before the first job: no pool may miss either.
      await this.#subscriber.subscribe(this.#keys.stop);
      await this.#beat();
      if (this.#state !== 'starting') {
        this.#started.resolve();
        return;
      }
      const { bullmq } = dependencies();
      this.#worker = new bullmq.Worker(this.queue, (job, token) => this.#process(job, token), {
        connection: redisOptions(connection),
        prefix,
        // No hoarding: a host holds no more jobs than it has processes to run them.
        concurrency: this.processes,
        // The Worker's name is what BullMQ writes on each job it takes (`pb`): how pools find a job's host.
        name: this.id,
        // A job whose lock expired fails rather than runs again: every rerun is the pool's decision.
        maxStalledCount: 0,
      });
      this.#worker.on('error', () => {
        // Lost connections (the Worker reconnects), a job's lock lost while this host was frozen (its pool
        // has requeued that job already): nothing for the host to do.
      });
      await this.#worker.waitUntilReady();
      // Children that could not even start: the host would only fail every chunk it took.
      if (this.#engine.state === 'broken') throw new BrokenPoolError(`The pool of host ${this.id} is broken: its children cannot start.`);
      if (this.#state === 'starting') this.#transition('running');
      this.#started.resolve();
    } catch (error) {
      this.#started.reject(error);
      void this.close({ timeout: 0 });
    }
  }

  async #shutDown(): Promise<void> {
    // Once the Worker is closed, every job the host held is finished or handed back.
    await this.#worker?.close().catch(() => undefined);
    clearTimeout(this.#beatTimer);
    await this.#redis.forkpoolLeave(this.#keys.hosts, this.#keys.hostInfo, this.id).catch(() => undefined);
    await Promise.all([this.#subscriber.quit(), this.#redis.quit()].map((quit) => quit.catch(() => undefined)));
    this.#engine.close();
    await this.#engine.join();
    this.#transition('closed');
    this.#closed.resolve();
  }

  /** Stop every chunk the host holds and give it back to the queue: it runs on another host. */
  #handBackAll(): void {
    this.#handingBack = true;
    for (const run of this.#runs.values()) {
      for (const task of run.handBack()) this.#engine.abort(task, new Error('Handed back: the host is closing.'));
    }
  }

  // --- Heartbeat ------------------------------------------------------------------------------------

  async #beat(): Promise<void> {
    clearTimeout(this.#beatTimer);
    if (this.#state === 'closed') return;
    this.#beatTimer = setTimeout(() => void this.#beat(), this.#beatMs);
    const info = { hostname: os.hostname(), pid: process.pid, slots: this.processes, busy: [...this.#runs.values()].reduce((busy, run) => busy + run.running, 0) };
    await this.#redis.forkpoolBeat(this.#keys.hosts, this.#keys.hostInfo, this.id, JSON.stringify(info)).catch(() => undefined);
  }

  /** A chunk's pool judges this host by `hostLossTimeout`: beat four times within it, from now on. */
  #heed(hostLossTimeout: number): void {
    const beatMs = Math.max(MIN_BEAT_MS, Math.min(BEAT_MS, Math.floor(hostLossTimeout / 4)));
    if (beatMs >= this.#beatMs) return;
    this.#beatMs = beatMs;
    void this.#beat();
  }

  // --- Jobs -----------------------------------------------------------------------------------------

  /** BullMQ's processor: one job, each of its chunks a task of the local engine. */
  async #process(job: BullMQ.Job, token: string | undefined): Promise<JobResult> {
    const jobId = job.id!;
    const took = performance.now();
    const encoding = (job.data as { encoding?: unknown } | undefined)?.encoding === 'json' ? 'json' : 'advanced';
    let data: JobData;
    let inputs: ChunkValues[];
    let spec: TaskSpec;
    try {
      data = readJob(job.data);
      this.#heed(data.hostLossTimeout);
      inputs = jobInputs(data, data.body === undefined ? await this.#redis.getBuffer(this.#keys.input(jobId)) : undefined);
      spec = this.#spec(data.spec);
    } catch (error) {
      // Every chunk of a job this host cannot run fails with the same error.
      const chunks = Number.isInteger((job.data as { chunks?: unknown } | undefined)?.chunks) ? (job.data as { chunks: number }).chunks : 1;
      const outcome = encodeOutcome(errorOutcome(error), encoding, Infinity);
      return this.#result(jobId, Array.from({ length: chunks }, () => outcome), encoding, took);
    }
    const run = new HostJob(job, encoding, this.id);
    // Given up by its pool (cancelled, requeued) while on its way here, whole or in part.
    const stops = this.#stops.get(jobId);
    this.#stops.delete(jobId);
    inputs.forEach((chunkInputs, chunk) => {
      const task = new Task(spec, chunkInputs, data.spread, run, this.#nextCall++, 0, data.timeout, data.keepGoing);
      run.add(task, stops === ALL_CHUNKS || stops?.has(chunk) === true);
    });
    this.#runs.set(jobId, run);
    if (this.#handingBack) run.handBack();
    else this.#engine.submitAll(run.tasks.filter((task) => run.wanted(task)));
    try {
      if (!run.handedBack) await run.done;
      await run.eventsSent;
    } finally {
      this.#runs.delete(jobId);
    }
    if (run.handedBack) {
      await this.#redis.forkpoolDisown(this.#keys.job + jobId, this.id);
      await job.moveToWait(token);
      throw new (dependencies().bullmq.WaitingError)();
    }
    for (const error of run.errors) this.#checkBroken(error);
    return this.#result(jobId, run.outcomes.map((outcome) => encodeOutcome(outcome, encoding, data.maxPayloadBytes)), encoding, took);
  }

  /** The job's return value, its outcomes in a key of its own first when they are too large to go with it. */
  async #result(jobId: string, outcomes: Part[], encoding: 'advanced' | 'json', took: number): Promise<JobResult> {
    const { value, outOfBand } = encodeResult(outcomes, encoding, performance.now() - took);
    if (outOfBand !== undefined) await this.#redis.set(this.#keys.output(jobId), outOfBand, 'EX', RECORD_TTL_S);
    return value;
  }

  /** The host's TaskSpec for a chunk's: names of the pools' module are names of this host's `module`. */
  #spec(wire: WireSpec): TaskSpec {
    if (wire.kind === 'inline') return this.#resolver.resolveSource(wire.source, wire.name);
    if (wire.module !== undefined) return this.#resolver.resolve({ module: wire.module, name: wire.name });
    if (this.#resolver.defaultModule === null) {
      throw invalidArgument(
        `The task '${wire.name}' names an export of the hosts' module, but the host ${this.id} was started without ` +
          'one. Start it with --module (or runHost({ module })), or name the task as { module, name } or a function.',
      );
    }
    return this.#resolver.resolve(wire.name);
  }

  /**
   * A pool asks the hosts to stop jobs, or chunks of jobs, it gave up: the one holding any of them stops it.
   * The message: `[{ job, chunks? }]`, `chunks` absent for every chunk of the job.
   */
  #onStop(message: string): void {
    let stops: unknown;
    try {
      stops = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(stops)) return;
    for (const stop of stops as Array<{ job?: unknown; chunks?: unknown }>) {
      if (typeof stop?.job !== 'string') continue;
      const chunks: Chunks = Array.isArray(stop.chunks) ? new Set(stop.chunks.filter((chunk): chunk is number => typeof chunk === 'number')) : ALL_CHUNKS;
      const run = this.#runs.get(stop.job);
      if (run !== undefined) {
        for (const task of run.stop(chunks)) this.#engine.abort(task, new Error('Stopped: its pool gave the task up.'));
        continue;
      }
      // Not (yet) here: should this host be taking it right now, it drops those chunks.
      const known = this.#stops.get(stop.job);
      this.#stops.set(stop.job, known === undefined ? chunks : union(known, chunks));
      if (this.#stops.size > REMEMBERED_STOPS) this.#stops.delete(this.#stops.keys().next().value!);
    }
  }

  /** A pool whose children cannot start fails every chunk: the host takes no more, and says why. */
  #checkBroken(error: unknown): void {
    if (this.#engine.state !== 'broken' || this.#state !== 'running') return;
    const why = error instanceof Error ? error.message : `its children cannot run tasks`;
    this.emit('broken', new BrokenPoolError(`The pool of host ${this.id} is broken: ${why}`, {}, { cause: error }));
    void this.close({ timeout: 0 });
  }

  #transition(to: HostState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw withCode(new Error(`Internal error: a host cannot go from ${this.#state} to ${to}.`), 'ERR_POOL_INTERNAL');
    }
    this.#state = to;
  }
}

/** Where the tasks of one job (its chunks) report, on its host. */
class HostJob implements TaskSink {
  /** The job's chunks, in order. */
  readonly tasks: Task[] = [];
  /** How each chunk ended; dropped until it does. */
  readonly outcomes: ChunkOutcome[] = [];
  /** The errors the engine failed chunks with. */
  readonly errors: unknown[] = [];
  /** The host is closing and gives the job back to the queue. */
  handedBack = false;
  readonly #index = new Map<Task, number>();
  /** Chunks whose outcome nobody wants: skipped, or stopped as the pool gave them up. */
  readonly #unwanted = new Set<number>();
  #pending = 0;
  readonly #done = pDefer<void>();
  /** The job's progress updates, one after another, so that they arrive in order and before its outcome. */
  #events: Promise<unknown> = Promise.resolve();

  constructor(
    readonly job: BullMQ.Job,
    readonly encoding: 'advanced' | 'json',
    /** The id of the host running it, which its events name. */
    readonly host: string,
  ) {}

  /** Resolves once every chunk it runs has ended. */
  get done(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : this.#done.promise;
  }

  get eventsSent(): Promise<unknown> {
    return this.#events;
  }

  /** Chunks not yet ended. */
  get running(): number {
    return this.#pending;
  }

  add(task: Task, unwanted: boolean): void {
    const chunk = this.tasks.push(task) - 1;
    this.#index.set(task, chunk);
    this.outcomes.push({ dropped: true });
    if (unwanted) this.#unwanted.add(chunk);
    else this.#pending++;
  }

  wanted(task: Task): boolean {
    return !this.#unwanted.has(this.#index.get(task)!);
  }

  /** The pool gave up `chunks`: the tasks of those still running, to abort (their outcomes are dropped). */
  stop(chunks: Chunks): Task[] {
    const tasks = this.tasks.filter((_task, chunk) => (chunks === ALL_CHUNKS || chunks.has(chunk)) && !this.#unwanted.has(chunk));
    for (const task of tasks) this.#unwanted.add(this.#index.get(task)!);
    return tasks.filter((task) => task.state !== 'done');
  }

  /** Every chunk is stopped, to go back to the queue whole: the tasks still running, to abort. */
  handBack(): Task[] {
    this.handedBack = true;
    return this.tasks.filter((task) => this.wanted(task) && task.state !== 'done');
  }

  resolveTask(task: Task, values: ChunkValues): void {
    this.#end(task, { values });
  }

  rejectTask(task: Task, error: unknown, index?: number, done?: ChunkValues): void {
    this.errors.push(error);
    this.#end(task, errorOutcome(error, index, done));
  }

  eventFor(task: Task, value: unknown, info: WorkerInfo): void {
    let progress: JobResult;
    try {
      progress = encodeEvent(value, { host: this.host, pid: (info as ChildInfo).pid, chunk: this.#index.get(task)! }, this.encoding);
    } catch {
      return; // a value the pool's JSON cannot carry: the task's emit() could not have sent it either
    }
    this.#events = this.#events.then(() => this.job.updateProgress(progress)).catch(() => undefined);
  }

  #end(task: Task, outcome: ChunkOutcome): void {
    const chunk = this.#index.get(task)!;
    if (!this.#unwanted.has(chunk)) this.outcomes[chunk] = outcome;
    if (--this.#pending === 0) this.#done.resolve();
  }
}

/**
 * Run a host: take the chunks of `queue` from Redis and run them in a local pool of `processes` children,
 * until {@link Host.close | close()}. Resolves once the host is in the registry and takes jobs.
 *
 * @example
 * ```ts
 * import { runHost } from 'forkpool/cluster';
 *
 * const host = await runHost({ connection: 'redis://127.0.0.1:6379', queue: 'render', module: require.resolve('./tasks') });
 * process.once('SIGTERM', () => void host.close({ timeout: 30_000 }));
 * ```
 */
export async function runHost(options: HostOptions): Promise<Host> {
  const host = new Host(options);
  await host.started;
  return host;
}

/**
 * The runner under ClusterPool and ClusterExecutor: tasks (chunks) become BullMQ jobs on a Redis queue,
 * which the hosts (`forkpool worker`) take as they have free processes and run in local pools.
 *
 *     calls ──submit──▶ backlog (per call) ──add, a window per call──▶ Redis: BullMQ queue ══▶ hosts
 *       ▲                  ▲ requeue (lost host)                          │ job records, events   │ beats
 *       └──── settle ◀─────┴── events: active, progress, completed ◀──────┘                       │
 *                          └── tick: hosts' beats (lost → requeue or HostLostError),  ◀───────────┘
 *                                    job records (outcomes whose events were trimmed away)
 *
 * - A job carries one chunk, or several of one call (a pack) while the call has many waiting and its chunks
 *   are quick (pack-sizes.ts): every job costs BullMQ and Redis about the same, whatever it carries. The
 *   host runs each chunk of a pack as a task of its own (its timeout, crash and error index are a chunk's).
 * - A call keeps at most a window of jobs in Redis (backpressure); the rest of its chunks wait here, where
 *   cancelling one is certain. A job in Redis that no host has taken is removed when its tasks are cancelled
 *   (the chunks of a pack still wanted, if any, go back as a job of their own); one a host has taken is
 *   stopped there (a message on the queue's stop channel), whole or chunk by chunk.
 * - Outcomes come from BullMQ's events stream. The stream is trimmed (about 10,000 entries): a pool slow to
 *   read it, or one whose event loop was blocked, finds that entries it may not have read are gone (the
 *   stream's oldest entry is newer than where its reader stood at the previous tick) and reads the records
 *   of its jobs instead.
 * - Hosts beat into a registry scored with Redis's clock. A job records which host took it; a job whose host
 *   has not beaten for `hostLossTimeout` is lost: its job is abandoned (a late outcome is discarded, and the
 *   host is told to stop it should it wake up) and its tasks are requeued as a new job, or fail.
 * - BullMQ's own stalled-job check never runs a job again (hosts set maxStalledCount to 0): it only fails a
 *   job that lost its lock, which this runner then treats as a lost host. Every rerun is decided here.
 * - Redis that leaves the runner's commands unanswered for `redisTimeout` while there is work, or that comes
 *   back without the runner's jobs, breaks the pool: everything pending and later rejects with BackendError.
 */
import { randomBytes } from 'node:crypto';
import pDefer from 'p-defer';
import { PoolStateError } from '../index';
import type { Task } from '../scheduler/task';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { chunkedInputWindow, type OpenInput, type PoolObserver, type PoolState, type TaskRunner } from '../scheduler/task-runner';
import { TaskQueue } from '../scheduler/task-queue';
import { connect, dependencies, describeConnection, QueueKeys, type BullMQ, type Redis } from './backend';
import { BackendError, HostLostError, type LostHost } from './cluster-errors';
import type { ResolvedClusterOptions } from './cluster-options';
import {
  decodeEvent,
  encodeInputs,
  encodeJob,
  JOB_NAME,
  outcomeError,
  readResult,
  RECORD_TTL_S,
  resultOutcomes,
  wireSpec,
  type ChunkOutcome,
  type JobResult,
  type Part,
} from './job-codec';
import type { ClusterStats, HostDownInfo, HostInfo, RequeueInfo } from './cluster-events';
import { PackSizes } from './pack-sizes';
import { compareEventIds, parseTick, withScripts, type HostRecord, type ScriptClient, type TickResult } from './scripts';

const TRANSITIONS: Record<PoolState, readonly PoolState[]> = {
  running: ['closed', 'terminated', 'broken'],
  closed: ['terminated', 'broken'],
  broken: [],
  terminated: [],
};

/** The module name a pool's string task names resolve to: the host's own module, whatever it is there. @internal */
export const HOST_MODULE = 'forkpool:host-module';

/** At least this many jobs of a call may wait in Redis, however few processes the hosts have. */
const MIN_WINDOW = 8;
/** Bytes of inputs in one job at most (a pack stops growing once it has this many). */
const PACK_BYTES = 4 * 2 ** 20;
/** Chunks one turn of the event loop encodes and sends at most. */
const PUMP_CHUNKS = 256;
/** While several jobs are in Redis, the events reader reads no more often than this (ms): in batches. */
const COALESCE_MS = 2;
/** Jobs added to Redis in one round trip at most. */
const ADD_BATCH = 1000;
/** Job records read by one tick script at most. */
const READ_BATCH = 1000;
/** Ticks are this often at most, and at least: between them, a quarter of `hostLossTimeout`. */
const MIN_TICK_MS = 25;
const MAX_TICK_MS = 1000;
/** Every so often a tick reads the records of every job in Redis, whatever the events said. */
const FULL_READ_EVERY_MS = 30_000;
/** A host silent this long leaves the registry (a pool judges it lost long before). */
const FORGET_HOST_MS = 3_600_000;

/** What a cluster's runner tells its face beyond what every runner does. @internal */
export interface ClusterObserver {
  hostUp(info: HostInfo): void;
  hostDown(info: HostDownInfo): void;
  requeued(info: RequeueInfo): void;
}

/** Where a job is, for this runner. */
type Phase =
  /** Being added to Redis. */
  | 'adding'
  /** In Redis; no host has taken it that this runner knows of. */
  | 'waiting'
  /** A host took it. */
  | 'started'
  /** Its outcome has come (or its failure). */
  | 'finished';

/** A task of this runner: a chunk, waiting here (no job) or in a job. */
interface Entry {
  readonly task: Task;
  /** Its current job; undefined while it waits here, or once it left the job (done, given up). */
  job: Job | undefined;
  /** Its place in its job. */
  chunk: number;
  /** Its call counts it among those in Redis (it keeps its place there through a requeue). */
  sent: boolean;
  requeues: number;
}

/** A BullMQ job of this runner, and the tasks it carries, in order. */
interface Job {
  readonly id: string;
  readonly entries: readonly Entry[];
  /** Its entries that are still its own. */
  live: number;
  phase: Phase;
  /** The host that took it, once known. */
  host: string | undefined;
  /** Settles once its add has, whatever the outcome. */
  added: Promise<unknown>;
  /** What its function is known as, for how long its chunks take. */
  readonly work: string;
}

/** @internal */
export class ClusterRunner implements TaskRunner {
  #state: PoolState = 'running';
  readonly #options: ResolvedClusterOptions;
  readonly #observer: PoolObserver;
  readonly #clusterObserver: ClusterObserver;
  readonly #keys: QueueKeys;
  /** Unique per pool: the start of every job id it makes. */
  readonly #id = randomBytes(6).toString('hex');
  /** Commands, shared with the BullMQ Queue. */
  readonly #redis: ScriptClient;
  /** The events reader's connection, blocked in XREAD: its own, and the pool's to cut when it shuts down. */
  readonly #eventsRedis: Redis;
  readonly #queue: BullMQ.Queue;
  #events: BullMQ.QueueEvents | undefined;
  /** Jobs go to Redis once the events reader knows where the stream stands (no outcome can slip by). */
  #ready = false;
  readonly #entries = new Map<Task, Entry>();
  /** The current jobs, by id; a job leaves once its outcome is read, or once this runner abandons it. */
  readonly #byJob = new Map<string, Job>();
  #nextJob = 0;
  /** How long a host took per chunk of each function (`Job.work`), lately: what sizes packs. */
  readonly #packSizes = new PackSizes();
  /** Chunks given up since the last microtask, by job, with those to stop on their host: taken back together. */
  readonly #revisions = new Map<Job, number[]>();
  /** Revisions under way. */
  readonly #revising = new Set<Promise<void>>();
  /** Jobs whose outcomes wait to be read from their keys, with their results. */
  #toFetch: Array<{ job: Job; result: JobResult }> = [];
  /** Tasks not yet in Redis, by call, calls in the order they first submitted. */
  readonly #backlog = new Map<number, TaskQueue>();
  /** Tasks of each call in Redis (or on their way there). */
  readonly #inRedis = new Map<number, number>();
  #pumpScheduled = false;
  readonly #openInputs = new Set<OpenInput>();
  readonly #counts = { completed: 0, failed: 0, requeued: 0, hostsLost: 0, hostsSeen: 0 };
  /** The live hosts as the last tick saw them. */
  #hosts = new Map<string, HostRecord>();
  /** The newest entry of the events stream this pool has read. */
  #lastEventId = '0-0';
  /**
   * Where the events reader stood when the previous tick began (undefined until it starts): every entry up to
   * it has been read. Trimming takes the oldest entries first: while the stream still holds this entry,
   * nothing after it has been trimmed; once its oldest entry is newer, an entry may have gone unread.
   */
  #checkedEventId: string | undefined;
  #fullReadAt = 0;
  #fullReadWanted = false;
  #tickTimer: NodeJS.Timeout | undefined;
  #tickInFlight = false;
  /** Commands sent to Redis and not answered: their start times, for the watchdog. */
  readonly #inFlight = new Map<number, number>();
  #nextCommand = 0;
  #lastRedisError: Error | undefined;
  #connectedOnce = false;
  readonly #stopsToSend: Array<{ job: string; chunks?: number[] }> = [];
  /** Finished jobs whose outcomes have been read, to remove from Redis. */
  #toForget: string[] = [];
  /** Resolves once the pool's connections are closed: what join() waits for. */
  readonly #closed = pDefer<void>();
  #shuttingDown = false;
  /** Every host this pool has seen, to name a lost one. */
  readonly #known = new Map<string, HostRecord>();
  /** Why the pool broke, kept to give every task a fresh error of its own. */
  #breakReason: { message: string; cause: unknown } | undefined;

  constructor(options: ResolvedClusterOptions, observer: PoolObserver, clusterObserver: ClusterObserver) {
    this.#options = options;
    this.#observer = observer;
    this.#clusterObserver = clusterObserver;
    this.#keys = new QueueKeys(options.prefix, options.queue);
    const { bullmq } = dependencies();
    const onError = (error: Error) => {
      this.#lastRedisError = error;
    };
    this.#redis = withScripts(connect(options.connection, onError));
    this.#eventsRedis = connect(options.connection, onError);
    this.#redis.on('ready', () => {
      // Back after a loss: Redis may have restarted without the pool's jobs.
      if (this.#connectedOnce) this.#fullReadWanted = true;
      this.#connectedOnce = true;
    });
    // The queue's settings (how long its events stream is, say) are its administrator's: a pool leaves them.
    this.#queue = new bullmq.Queue(options.queue, { connection: this.#redis, prefix: options.prefix, skipMetasUpdate: true });
    this.#queue.on('error', onError);
    void this.#start(onError);
    this.#scheduleTick(0);
  }

  get state(): PoolState {
    return this.#state;
  }

  /** The `processes` option, else the processes of the live hosts (at least 1). */
  get processes(): number {
    if (this.#options.processes !== undefined) return this.#options.processes;
    let slots = 0;
    for (const host of this.#hosts.values()) slots += host.slots;
    return Math.max(1, slots);
  }

  /**
   * A lazily read input keeps as many chunks submitted as the call may have in Redis: a window of jobs, each
   * a full pack of its function.
   */
  inputWindow(spec: TaskSpec): number {
    return this.#windowJobs * this.#packSizes.full(workOf(spec));
  }

  /** Jobs of a call in Redis at most. */
  get #windowJobs(): number {
    return Math.max(MIN_WINDOW, chunkedInputWindow(this.processes));
  }

  get output(): { stdout: null; stderr: null } {
    // The hosts' children write to their host's output.
    return { stdout: null, stderr: null };
  }

  stats(): ClusterStats {
    const stats: ClusterStats = {
      processes: 0,
      starting: 0,
      idle: 0,
      busy: 0,
      queued: 0,
      running: 0,
      completed: this.#counts.completed,
      failed: this.#counts.failed,
      spawned: this.#counts.hostsSeen,
      crashed: this.#counts.hostsLost,
      hosts: this.#hosts.size,
      requeued: this.#counts.requeued,
      hostsLost: this.#counts.hostsLost,
    };
    for (const host of this.#hosts.values()) {
      stats.processes += host.slots;
      stats.busy += Math.min(host.busy, host.slots);
    }
    stats.idle = stats.processes - stats.busy;
    for (const entry of this.#entries.values()) {
      if (entry.job?.phase === 'started') stats.running++;
      else stats.queued++;
    }
    return stats;
  }

  /** The live hosts of the queue, read from Redis now: within `redisTimeout`, or a BackendError. */
  async hosts(): Promise<HostInfo[]> {
    if (this.#shuttingDown) throw new PoolStateError('The pool is closed: its connection to Redis is, too.');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const message = `Redis (${describeConnection(this.#options.connection)}) did not answer within ${this.#options.redisTimeout} ms (the pool's redisTimeout).`;
        reject(new BackendError(message, {}, this.#lastRedisError === undefined ? undefined : { cause: this.#lastRedisError }));
      }, this.#options.redisTimeout);
    });
    const asked = this.#track(this.#redis.forkpoolTick(...this.#tickKeys())).catch((error: unknown) => {
      // Cut off as the pool broke: the pool's error says why.
      throw this.#breakReason === undefined ? error : this.#stoppedError();
    });
    const reply = await Promise.race([asked, late]).finally(() => clearTimeout(timer));
    const tick = parseTick(reply);
    this.#readHosts(tick);
    return [...this.#hosts.values()].map(({ id, hostname, pid, slots }) => ({ id, hostname, pid, slots }));
  }

  // --- TaskRunner -----------------------------------------------------------------------------------

  submit(task: Task): void {
    if (this.#state === 'broken' || this.#state === 'terminated') {
      task.finish();
      task.sink.rejectTask(task, this.#stoppedError());
      return;
    }
    task.enqueue();
    this.#entries.set(task, { task, job: undefined, chunk: 0, sent: false, requeues: 0 });
    let backlog = this.#backlog.get(task.call);
    if (backlog === undefined) this.#backlog.set(task.call, (backlog = new TaskQueue()));
    backlog.push(task);
    this.#schedulePump();
  }

  /** Reject a task with `reason`: a job no host has taken is removed, one a host has is stopped there. */
  abort(task: Task, reason: unknown): void {
    const entry = this.#entries.get(task);
    if (entry === undefined) return;
    const started = entry.job?.phase === 'started';
    this.#revoke(entry, 'stop');
    this.#settle(task, reason, undefined, undefined, undefined, started);
  }

  /**
   * Drop a task no host has begun, as far as this pool knows: true, and it never runs, or, should a host
   * have taken its job in the meantime, it is stopped there. False for a task known to have started.
   */
  cancel(task: Task): boolean {
    const entry = this.#entries.get(task);
    if (entry === undefined || entry.job?.phase === 'started') return false;
    this.#revoke(entry, 'stop');
    this.#drop(entry);
    return true;
  }

  /** The call no longer wants the task: removed if no host has it, else left to run, its outcome ignored. */
  discard(task: Task): void {
    const entry = this.#entries.get(task);
    if (entry === undefined) return;
    this.#revoke(entry, entry.job?.phase === 'started' ? 'forget' : 'remove');
    this.#drop(entry);
  }

  running(task: Task): boolean {
    return this.#entries.get(task)?.job?.phase === 'started';
  }

  openInput(input: OpenInput): void {
    this.#openInputs.add(input);
  }

  closeInput(input: OpenInput): void {
    if (!this.#openInputs.delete(input)) return;
    this.#shutDownIfDone();
  }

  close(): void {
    if (this.#state !== 'running') return;
    this.#transition('closed');
    for (const input of [...this.#openInputs]) input.poolClosed();
    this.#shutDownIfDone();
  }

  terminate(): void {
    if (this.#state === 'terminated' || this.#state === 'broken') return;
    this.#transition('terminated');
    for (const entry of [...this.#entries.values()]) {
      this.#revoke(entry, 'stop');
      this.#settle(entry.task, new PoolStateError('The pool was terminated before this task finished.'));
    }
    // Its jobs leave Redis (or their hosts stop them) before its connections close; a Redis that does not
    // answer is waited for no longer than redisTimeout.
    void Promise.race([this.#revised(), delay(this.#options.redisTimeout)]).then(() => this.#shutDown());
  }

  join(): Promise<void> {
    if (this.#state === 'running') {
      return Promise.reject(new PoolStateError('join() waits for the pool to finish: call close() or terminate() first.'));
    }
    return this.#closed.promise;
  }

  // --- Start-up -------------------------------------------------------------------------------------

  /**
   * Start reading the events stream from its newest entry as it stands before the first job is added: an
   * events reader that started from "now" ('$') would miss the outcomes of jobs finished before its first read.
   */
  async #start(onError: (error: Error) => void): Promise<void> {
    let newest: string;
    try {
      const [last] = (await this.#track(this.#redis.xrevrange(this.#keys.events, '+', '-', 'COUNT', 1))) as Array<[string, string[]]>;
      newest = last?.[0] ?? '0-0';
    } catch (error) {
      // The watchdog breaks the pool if Redis stays away; a closed pool has nothing to start.
      if (!this.#shuttingDown) this.#break(`Redis (${describeConnection(this.#options.connection)}) failed the pool as it started.`, error);
      return;
    }
    if (this.#shuttingDown) return;
    this.#lastEventId = newest;
    this.#checkedEventId = newest;
    const { bullmq } = dependencies();
    // On a client of the pool's own, which BullMQ leaves open (shared) and the pool can cut whatever state
    // Redis is in: BullMQ's own close waits for Redis to answer, and a frozen Redis never does.
    const events = new bullmq.QueueEvents(
      this.#options.queue,
      { connection: this.#eventsRedis, prefix: this.#options.prefix, lastEventId: newest },
      (name, options) => this.#coalescing(bullmq.createRedisBackend(name, options, { blocking: false })),
    );
    this.#events = events;
    events.on('error', onError);
    const seen = (id: string) => {
      if (compareEventIds(id, this.#lastEventId) > 0) this.#lastEventId = id;
    };
    events.on('active', ({ jobId }, id) => {
      seen(id);
      this.#onActive(jobId);
    });
    events.on('progress', ({ jobId, data }, id) => {
      seen(id);
      this.#onProgress(jobId, data);
    });
    events.on('completed', ({ jobId, returnvalue }, id) => {
      seen(id);
      this.#onFinished(jobId, 'completed', returnvalue);
    });
    events.on('failed', ({ jobId, failedReason }, id) => {
      seen(id);
      this.#onFinished(jobId, 'failed', failedReason);
    });
    events.on('waiting', ({ jobId, prev }, id) => {
      seen(id);
      if (prev === 'active') this.#onHandedBack(jobId);
    });
    for (const name of ['added', 'removed', 'stalled', 'drained', 'delayed', 'duplicated', 'deduplicated', 'retries-exhausted'] as const) {
      events.on(name, (...args: unknown[]) => seen(String(args.at(-1))));
    }
    this.#ready = true;
    this.#pump();
  }

  /**
   * The events reader's backend, reading in batches while several jobs are in Redis: every job adds three or
   * four entries to the stream, and a reader that asks again the moment it has read one entry makes a round
   * trip of each, which on a busy machine costs the pool, Redis and the hosts more than the jobs themselves.
   * With one job in flight (one call after another) it asks again at once: no wait is added to a lone call.
   */
  #coalescing<B extends BullMQ.RedisQueueBackend>(backend: B): B {
    const read = backend.readEvents.bind(backend);
    let readAt = 0;
    backend.readEvents = async (id, blockTimeout) => {
      const wait = readAt + COALESCE_MS - performance.now();
      if (wait > 0 && this.#byJob.size > 1) await delay(wait);
      const data = await read(id, blockTimeout);
      readAt = data == null ? 0 : performance.now();
      return data;
    };
    return backend;
  }

  // --- Sending jobs ---------------------------------------------------------------------------------

  /** `later`: after I/O, rather than after the call that submitted (when a map's chunks go to Redis together). */
  #schedulePump(later = false): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    const pump = () => {
      this.#pumpScheduled = false;
      this.#pump(later);
    };
    if (later) setImmediate(pump);
    else queueMicrotask(pump);
  }

  /**
   * Send each call's backlog to Redis, packed, as far as its window allows: PUMP_CHUNKS at most in one turn of
   * the event loop, the rest in the next, so that the first jobs are in Redis (and on their hosts) while the
   * others are being encoded. A pack short of its size waits for the next turn (`later`) while its call has
   * jobs in Redis: a lazily read input (imap) submits its chunks one by one, and reads more meanwhile.
   */
  #pump(later = false): void {
    if (!this.#ready || this.#state === 'broken' || this.#state === 'terminated') return;
    const windowJobs = this.#windowJobs;
    const packs: Entry[][] = [];
    let chunks = 0;
    for (const [call, tasks] of this.#backlog) {
      let inRedis = this.#inRedis.get(call) ?? 0;
      for (;;) {
        const head = this.#waiting(tasks);
        if (head === undefined) break;
        if (chunks >= PUMP_CHUNKS) {
          this.#schedulePump(true);
          break;
        }
        const [size, full] = this.#packSizes.next(workOf(head.task.spec), tasks.length, this.processes);
        // The window is counted in chunks: as many jobs as it holds of the call's full packs.
        const room = windowJobs * full - inRedis;
        if (room <= 0) break;
        if (tasks.length < Math.min(size, room) && inRedis > 0 && !later) {
          this.#schedulePump(true);
          break;
        }
        const pack: Entry[] = [];
        while (pack.length < Math.min(size, room)) {
          const entry = this.#waiting(tasks);
          if (entry === undefined) break;
          tasks.shift();
          entry.sent = true;
          pack.push(entry);
        }
        inRedis += pack.length;
        chunks += pack.length;
        packs.push(pack);
      }
      this.#inRedis.set(call, inRedis);
      if (tasks.length === 0) this.#backlog.delete(call);
    }
    if (packs.length > 0) this.#add(packs, false);
  }

  /** The first task of a call's backlog that still waits to be sent; those before it that do not are let go. */
  #waiting(tasks: TaskQueue): Entry | undefined {
    for (let task = tasks.peek(); task !== undefined; task = tasks.peek()) {
      const entry = this.#entries.get(task);
      if (entry !== undefined && !entry.sent) return entry;
      tasks.shift();
    }
    return undefined;
  }

  /**
   * Make a job of each pack (chunks of one call, in order; more than one where their inputs pass PACK_BYTES)
   * and add them; `first`: at the head of the queue (a requeue).
   */
  #add(packs: Entry[][], first: boolean): void {
    const { serialization: encoding, hostLossTimeout, maxPayloadBytes } = this.#options;
    const made: Array<{ job: Job; data: unknown; outOfBand: Buffer | undefined }> = [];
    let pack: Entry[] = [];
    let inputs: Part[] = [];
    let bytes = 0;
    const seal = () => {
      if (pack.length === 0) return;
      const { task } = pack[0];
      const settings = { spec: wireSpec(task.spec, HOST_MODULE), spread: task.spread, timeout: task.timeout, keepGoing: task.keepGoing };
      const { value, outOfBand } = encodeJob({ encoding, hostLossTimeout, maxPayloadBytes, ...settings }, inputs);
      const job: Job = { id: `fp.${this.#id}.${this.#nextJob++}`, entries: pack, live: pack.length, phase: 'adding', host: undefined, added: Promise.resolve(), work: workOf(task.spec) };
      pack.forEach((entry, chunk) => {
        entry.job = job;
        entry.chunk = chunk;
      });
      this.#byJob.set(job.id, job);
      made.push({ job, data: value, outOfBand });
      pack = [];
      inputs = [];
      bytes = 0;
    };
    for (const entries of packs) {
      for (const entry of entries) {
        let encoded: Part;
        try {
          encoded = encodeInputs(entry.task.inputs, encoding, maxPayloadBytes);
        } catch (error) {
          // Arguments that cannot be sent fail their task alone, as in a local pool.
          this.#settle(entry.task, error);
          continue;
        }
        pack.push(entry);
        inputs.push(encoded);
        bytes += encoded.length;
        if (bytes >= PACK_BYTES) seal();
      }
      seal();
    }
    const retention = { age: RECORD_TTL_S };
    for (let start = 0; start < made.length; start += ADD_BATCH) {
      const slice = made.slice(start, start + ADD_BATCH);
      const jobs = slice.map(({ job, data }) => ({ name: JOB_NAME, data, opts: { jobId: job.id, lifo: first, removeOnComplete: retention, removeOnFail: retention } }));
      // Inputs too large to go inside their jobs are in Redis, in keys of their own, before the jobs that name them.
      const inputsStored = Promise.all(
        slice.flatMap(({ job, outOfBand }) => (outOfBand === undefined ? [] : [this.#redis.set(this.#keys.input(job.id), outOfBand, 'EX', RECORD_TTL_S)])),
      );
      // One job alone goes without a transaction: a single add costs Redis and this process less.
      const adding = inputsStored.then((): Promise<unknown> => (jobs.length === 1 ? this.#queue.add(jobs[0].name, jobs[0].data, jobs[0].opts) : this.#queue.addBulk(jobs)));
      const added = this.#track<unknown>(adding).then(
        () => {
          for (const { job } of slice) if (job.phase === 'adding') job.phase = 'waiting';
        },
        (error: unknown) => {
          const refused = new BackendError(`Redis refused the job of this task: ${(error as Error).message}`, {}, { cause: error });
          for (const { job } of slice) if (this.#byJob.get(job.id) === job) this.#failJob(job, refused);
        },
      );
      for (const { job } of slice) job.added = added;
    }
  }

  /**
   * Take the entry back from its job: `'remove'` it from Redis if no host has the job; `'stop'`: that, or stop
   * it on the host that has the job; `'forget'`: leave it to run. Whatever comes of it later is ignored.
   * Chunks given up together (a call cancelled, the pool terminated) are taken back together: a job none of
   * whose chunks is wanted any more is removed, or stopped, whole.
   */
  #revoke(entry: Entry, mode: 'remove' | 'stop' | 'forget'): void {
    const { job } = entry;
    if (job === undefined) return;
    this.#detach(entry);
    if (mode === 'forget') return;
    let stops = this.#revisions.get(job);
    if (stops === undefined) {
      this.#revisions.set(job, (stops = []));
      if (this.#revisions.size === 1) {
        const revised = pDefer<void>();
        this.#revising.add(revised.promise);
        queueMicrotask(() => {
          void this.#revise().finally(() => {
            this.#revising.delete(revised.promise);
            revised.resolve();
          });
        });
      }
    }
    if (mode === 'stop') stops.push(entry.chunk);
  }

  /** Take back from Redis what was given up since the last microtask, job by job. */
  async #revise(): Promise<void> {
    const revisions = [...this.#revisions];
    this.#revisions.clear();
    await Promise.all(revisions.map(([job, stops]) => this.#reviseJob(job, stops)));
  }

  /** Resolves once what was given up so far has been taken back from Redis (or its hosts told). */
  async #revised(): Promise<void> {
    // A call that rejects gives up its other tasks a few microtasks later: they are waited for too.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#revising.size > 0) await Promise.allSettled([...this.#revising]);
  }

  async #reviseJob(job: Job, stop: number[]): Promise<void> {
    // Every chunk it carries: the job as such.
    const chunks = (list: number[]) => (list.length === job.entries.length ? undefined : list);
    if (job.phase === 'finished') return;
    if (job.phase === 'started') {
      if (stop.length > 0) this.#stop(job.id, chunks(stop));
      return;
    }
    try {
      // Not in Redis until its add has answered: removing it sooner would remove nothing.
      await job.added;
      // 0: the job is locked, a host has it.
      const removed = await this.#track(this.#queue.remove(job.id));
      if (removed === 0) {
        if (stop.length > 0) this.#stop(job.id, chunks(stop));
        return;
      }
      this.#toForget.push(job.id);
      // The chunks it carried that are still wanted go back to Redis without the others, at the head.
      const rest = job.entries.filter((entry) => entry.job === job);
      for (const entry of rest) this.#detach(entry);
      if (rest.length > 0) this.#add([rest], true);
    } catch {
      // Redis is away: the watchdog decides when to give up.
    }
  }

  /** Ask the hosts to stop a job, or some of its chunks: whichever runs it (or takes it before it hears) drops them. */
  #stop(job: string, chunks?: number[]): void {
    if (this.#stopsToSend.push(chunks === undefined ? { job } : { job, chunks }) > 1) return;
    queueMicrotask(() => {
      const stops = this.#stopsToSend.splice(0);
      this.#track(this.#redis.publish(this.#keys.stop, JSON.stringify(stops))).catch(() => undefined);
    });
  }

  // --- Outcomes -------------------------------------------------------------------------------------

  #onActive(jobId: string): void {
    const job = this.#byJob.get(jobId);
    if (job !== undefined && (job.phase === 'adding' || job.phase === 'waiting')) job.phase = 'started';
  }

  /** A host handed the job back as it closed: it waits for another host. */
  #onHandedBack(jobId: string): void {
    const job = this.#byJob.get(jobId);
    if (job?.phase === 'started') {
      job.phase = 'waiting';
      job.host = undefined;
    }
  }

  #onProgress(jobId: string, data: unknown): void {
    const job = this.#byJob.get(jobId);
    if (job === undefined) return;
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(data);
    } catch {
      return; // someone else's progress on a job of ours: not an event of a task
    }
    const entry = job.entries[event.chunk];
    if (entry?.job !== job) return;
    const info = { host: event.host, pid: event.pid };
    entry.task.sink.eventFor?.(entry.task, event.value, info);
    this.#observer.event(event.value, info);
  }

  /** A job finished, as its event or its record says. */
  #onFinished(jobId: string, how: 'completed' | 'failed', result: unknown): void {
    const job = this.#byJob.get(jobId);
    if (job === undefined) {
      // Not a current job: one whose outcome this pool has read already, or one it gave up (its host was
      // presumed lost, or nobody wants its chunks any more) whose outcome it discards. Its record and values
      // leave Redis with the next tick, rather than an hour later.
      if (jobId.startsWith(`fp.${this.#id}.`)) this.#toForget.push(jobId);
      return;
    }
    this.#byJob.delete(jobId);
    job.phase = 'finished';
    if (how === 'failed') {
      this.#toForget.push(jobId);
      // Our hosts never fail a job: BullMQ did, as its host lost the job's lock (it stalled).
      this.#lostHost(job, job.host, `its job failed in BullMQ: ${String(result)}`);
      return;
    }
    let value: JobResult;
    try {
      value = readResult(typeof result === 'string' ? JSON.parse(result) : result);
    } catch (error) {
      this.#toForget.push(jobId);
      this.#failJob(job, error);
      return;
    }
    if (value.body !== undefined) {
      this.#toForget.push(jobId);
      this.#finish(job, value, undefined);
      return;
    }
    // Its outcomes are in a key of their own: read together with those of the jobs that finished meanwhile.
    if (this.#toFetch.push({ job, result: value }) === 1) queueMicrotask(() => this.#fetch());
  }

  /** Read the outcomes of the jobs whose results are in keys of their own, in one round trip. */
  #fetch(): void {
    const batch = this.#toFetch;
    this.#toFetch = [];
    const reads = this.#redis.pipeline();
    for (const { job } of batch) reads.getBuffer(this.#keys.output(job.id));
    const failed = (error: unknown) =>
      new BackendError(`Redis failed to hand over the outcome of this task: ${(error as Error).message}`, {}, { cause: error });
    this.#track(reads.exec()).then(
      (replies) => {
        batch.forEach(({ job, result }, i) => {
          this.#toForget.push(job.id);
          const [error, bytes] = replies?.[i] ?? [new Error('no answer')];
          if (error) this.#failJob(job, failed(error));
          else this.#finish(job, result, bytes as Buffer | null);
        });
      },
      (error: unknown) => {
        for (const { job } of batch) this.#failJob(job, failed(error));
      },
    );
  }

  /** Settle the tasks of a finished job by its outcomes; learn what its chunks took. */
  #finish(job: Job, result: JobResult, outOfBand: Buffer | null | undefined): void {
    const bytes = outOfBand?.length ?? (result.body ?? '').length * 0.75;
    this.#packSizes.learn(job.work, job.entries.length, result.ms, bytes);
    let outcomes: ChunkOutcome[];
    try {
      outcomes = resultOutcomes(result, job.entries.length, outOfBand);
    } catch (error) {
      this.#failJob(job, error);
      return;
    }
    let dropped = false;
    job.entries.forEach((entry, chunk) => {
      if (entry.job !== job) return;
      const outcome = outcomes[chunk];
      if ('values' in outcome) this.#settle(entry.task, undefined, outcome.values);
      else if ('error' in outcome) this.#settle(entry.task, outcomeError(outcome, this.#options.errorClasses), undefined, outcome.index, outcome.done);
      else dropped = true;
    });
    // Dropped although this pool still wanted them: a host that heard a stop meant for another job.
    if (dropped) this.#lostHost(job, job.host, 'its host dropped it');
  }

  /** Fail every task the job still carries with `error`. */
  #failJob(job: Job, error: unknown): void {
    if (this.#byJob.get(job.id) === job) this.#byJob.delete(job.id);
    for (const entry of job.entries) if (entry.job === job) this.#settle(entry.task, error);
  }

  // --- Ticks: hosts, lost jobs, missed events, Redis -------------------------------------------------

  get #tickMs(): number {
    return Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, this.#options.hostLossTimeout / 4), this.#options.redisTimeout / 4);
  }

  #scheduleTick(delay = this.#tickMs): void {
    this.#tickTimer = setTimeout(() => this.#tick(), delay);
    this.#tickTimer.unref();
  }

  #tickKeys(ids: string[] = []): Array<string | number> {
    return [this.#keys.hosts, this.#keys.hostInfo, this.#keys.events, this.#keys.job, FORGET_HOST_MS, ...ids];
  }

  #tick(): void {
    if (this.#shuttingDown) return;
    this.#scheduleTick();
    this.#watchRedis();
    if (this.#tickInFlight) return;
    // Every tick reads the jobs that have started (their hosts may be lost); now and then, and when events
    // were lost, every job in Redis.
    const now = Date.now();
    const full = this.#fullReadWanted || now - this.#fullReadAt >= FULL_READ_EVERY_MS;
    const jobs = [...this.#byJob.values()].filter((job) => job.phase === 'started' || (full && job.phase === 'waiting'));
    if (full) {
      this.#fullReadWanted = false;
      this.#fullReadAt = now;
    }
    if (this.#toForget.length > 0) {
      const ids = this.#toForget;
      this.#toForget = [];
      this.#track(this.#redis.forkpoolForget(this.#keys.completed, this.#keys.failed, this.#keys.job, ...ids)).catch(() => undefined);
    }
    this.#tickInFlight = true;
    this.#readJobs(jobs)
      .catch(() => {
        // Redis is away: the watchdog decides when to give up.
      })
      .finally(() => {
        this.#tickInFlight = false;
      });
  }

  /** Read the records of `jobs` (and the registry); if the events stream lost entries unread, of every job. */
  async #readJobs(jobs: Job[]): Promise<void> {
    const reached = this.#lastEventId;
    const tick = await this.#readBatch(jobs.slice(0, READ_BATCH));
    if (tick === undefined) return;
    for (let start = READ_BATCH; start < jobs.length; start += READ_BATCH) await this.#readBatch(jobs.slice(start, start + READ_BATCH));
    const checked = this.#checkedEventId;
    if (checked === undefined) return;
    this.#checkedEventId = reached;
    if (compareEventIds(tick.oldestEventId, checked) <= 0) return;
    // The stream lost entries this pool may not have read: what they said is in the records of its jobs.
    const inRedis = [...this.#byJob.values()].filter((job) => job.phase !== 'adding');
    for (let start = 0; start < inRedis.length; start += READ_BATCH) await this.#readBatch(inRedis.slice(start, start + READ_BATCH));
  }

  /** One tick script over `jobs`, and what their records say; undefined once shut down. */
  async #readBatch(jobs: Job[]): Promise<TickResult | undefined> {
    const tick = parseTick(await this.#track(this.#redis.forkpoolTick(...this.#tickKeys(jobs.map((job) => job.id)))));
    if (this.#shuttingDown) return undefined;
    // The registry and the records were read at one instant: a job is judged by the registry of that instant
    // (a host that has just joined has taken a job, it has beaten already).
    this.#readHosts(tick);
    jobs.forEach((job, i) => this.#readJob(job, tick.jobs[i], tick));
    return tick;
  }

  /** What the record of a job says, against what this pool thought of it. */
  #readJob(job: Job, record: TickResult['jobs'][number], tick: TickResult): void {
    if (this.#byJob.get(job.id) !== job) return;
    switch (record.state) {
      case 'missing':
        // Added (its add answered) and never removed by this pool: Redis lost it.
        if (job.phase !== 'adding') {
          this.#break(
            `Redis (${describeConnection(this.#options.connection)}) no longer has the pool's jobs: it restarted without its data, or ` +
              'someone removed them.',
          );
        }
        return;
      case 'completed':
      case 'failed':
        this.#onFinished(job.id, record.state, record.outcome);
        return;
      case 'active': {
        job.phase = 'started';
        job.host = record.host;
        const host = this.#hosts.get(record.host);
        if (host === undefined || tick.now - host.beat > this.#options.hostLossTimeout) {
          const silence = host === undefined ? 'it has left the queue' : `no sign of life for ${tick.now - host.beat} ms`;
          this.#lostHost(job, record.host, silence);
        }
        return;
      }
      case 'waiting':
        return;
    }
  }

  /** The registry as this tick read it: 'host-up' for hosts new to this pool, 'host-down' for those gone. */
  #readHosts(tick: TickResult): void {
    const live = new Map<string, HostRecord>();
    for (const host of tick.hosts) {
      this.#known.set(host.id, host);
      if (tick.now - host.beat <= this.#options.hostLossTimeout) live.set(host.id, host);
    }
    for (const [id, host] of live) {
      if (this.#hosts.has(id)) continue;
      this.#counts.hostsSeen++;
      this.#clusterObserver.hostUp(publicInfo(host));
    }
    const previous = this.#hosts;
    this.#hosts = live;
    for (const [id, host] of previous) {
      if (live.has(id)) continue;
      const silent = tick.hosts.some((record) => record.id === id);
      if (silent) this.#counts.hostsLost++;
      this.#clusterObserver.hostDown({ ...publicInfo(host), reason: silent ? 'lost' : 'left' });
    }
  }

  /** The host of the job is lost: the job is abandoned, and each task it still carries requeued or failed. */
  #lostHost(job: Job, hostId: string | undefined, why: string): void {
    const record = hostId === undefined ? undefined : this.#known.get(hostId);
    const lost: LostHost = { host: hostId ?? 'unknown', hostname: record?.hostname, pid: record?.pid };
    if (this.#byJob.get(job.id) === job) this.#byJob.delete(job.id);
    // Should the host wake up, it stops the job; what it sends meanwhile is discarded.
    if (job.phase !== 'finished') this.#stop(job.id);
    const where = `The host ${lost.host}${record === undefined ? '' : ` (${record.hostname}, pid ${record.pid})`} running this task was lost: ${why}.`;
    const again: Entry[] = [];
    for (const entry of job.entries) {
      if (entry.job !== job) continue;
      this.#detach(entry);
      if (this.#options.onHostLoss === 'fail') {
        this.#settle(entry.task, new HostLostError(`${where} The pool's onHostLoss is 'fail'.`, lost, entry.requeues));
      } else if (entry.requeues >= this.#options.maxRequeues) {
        const message = `${where} It had been requeued ${entry.requeues} times already, the pool's maxRequeues.`;
        this.#settle(entry.task, new HostLostError(message, lost, entry.requeues));
      } else {
        entry.requeues++;
        this.#counts.requeued++;
        this.#clusterObserver.requeued({ host: lost.host, requeues: entry.requeues });
        again.push(entry);
      }
    }
    // They keep their places in their call's window, and go to the head of the queue.
    if (again.length > 0) this.#add([again], true);
  }

  /**
   * Break the pool when Redis has left a command unanswered for `redisTimeout` while there is work. Judged
   * after the event loop has read what sockets hold: a loop blocked longer than that finds old commands whose
   * answers are waiting to be read.
   */
  #watchRedis(): void {
    if (this.#idle() || this.#inFlight.size === 0) return;
    const overdue = () => {
      const oldest = Math.min(...this.#inFlight.values());
      return Date.now() - oldest > this.#options.redisTimeout;
    };
    if (!overdue()) return;
    setImmediate(() => {
      if (this.#idle() || this.#inFlight.size === 0 || !overdue()) return;
      this.#break(
        `Redis (${describeConnection(this.#options.connection)}) has not answered for more than ${this.#options.redisTimeout} ms ` +
          '(the pool\'s redisTimeout): it is unreachable or stopped.',
        this.#lastRedisError,
      );
    });
  }

  /** A command sent to Redis, timed for the watchdog. */
  #track<T>(command: Promise<T>): Promise<T> {
    const id = this.#nextCommand++;
    this.#inFlight.set(id, Date.now());
    const done = () => {
      this.#inFlight.delete(id);
    };
    command.then(done, done);
    return command;
  }

  // --- Settling and shutting down -------------------------------------------------------------------

  /**
   * `index` and `done`: the failing call of a chunk, and the results of those that succeeded. `counted`:
   * false for a task dropped before it started, which neither completed nor failed.
   */
  #settle(task: Task, error: unknown, values?: ChunkValues, index?: number, done?: ChunkValues, counted = true): void {
    const entry = this.#entries.get(task);
    if (entry === undefined) return;
    this.#drop(entry);
    if (counted) this.#counts[values !== undefined ? 'completed' : 'failed']++;
    if (values !== undefined) task.sink.resolveTask(task, values);
    else task.sink.rejectTask(task, error, index, done);
  }

  /** The task is over for this pool: out of its books, its call's window one slot freer. */
  #drop(entry: Entry): void {
    const { task } = entry;
    this.#entries.delete(task);
    this.#detach(entry);
    if (entry.sent) {
      const inRedis = (this.#inRedis.get(task.call) ?? 1) - 1;
      if (inRedis > 0) this.#inRedis.set(task.call, inRedis);
      else this.#inRedis.delete(task.call);
      if (this.#backlog.has(task.call)) this.#schedulePump();
    }
    task.finish();
    this.#shutDownIfDone();
  }

  /** The entry leaves its job; a job that carries nothing wanted is no longer current. */
  #detach(entry: Entry): void {
    const { job } = entry;
    if (job === undefined) return;
    entry.job = undefined;
    if (--job.live === 0 && this.#byJob.get(job.id) === job) this.#byJob.delete(job.id);
  }

  #break(message: string, cause?: unknown): void {
    if (this.#state === 'broken' || this.#state === 'terminated') return;
    this.#transition('broken');
    this.#breakReason = { message, cause };
    for (const entry of [...this.#entries.values()]) this.#settle(entry.task, this.#stoppedError());
    void this.#shutDown();
  }

  /** The error for a task submitted to a pool that no longer runs tasks. */
  #stoppedError(): Error {
    if (this.#breakReason === undefined) return new PoolStateError('The pool was terminated; it runs no more tasks.');
    const { message, cause } = this.#breakReason;
    return new BackendError(`${message} The pool is broken: every pending and later task fails.`, {}, cause === undefined ? undefined : { cause });
  }

  /** No unfinished task and no open input: a closed pool shuts down then. */
  #idle(): boolean {
    return this.#entries.size === 0 && this.#openInputs.size === 0;
  }

  #shutDownIfDone(): void {
    if (this.#state === 'closed' && this.#idle()) void this.#shutDown();
  }

  /** Close the connections, once; join() resolves after. */
  async #shutDown(): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    clearTimeout(this.#tickTimer);
    if (this.#state !== 'broken') {
      // The outcomes read last leave Redis with the pool, and the connections are quit; but a Redis that does
      // not answer is waited for no longer than redisTimeout.
      const forget = this.#toForget.length === 0 ? undefined : this.#redis.forkpoolForget(this.#keys.completed, this.#keys.failed, this.#keys.job, ...this.#toForget);
      const polite = Promise.allSettled([forget, this.#events?.close(), this.#queue.close()]).then(() => this.#redis.quit());
      await Promise.race([polite.catch(() => undefined), delay(this.#options.redisTimeout)]);
    } else {
      this.#events?.close().catch(() => undefined);
      this.#queue.close().catch(() => undefined);
    }
    // Whatever is still open is cut: no reconnecting client outlives the pool. (Not one that has ended: ioredis
    // would then wait two seconds for a socket that closed already.)
    for (const client of [this.#redis, this.#eventsRedis]) if (client.status !== 'end') client.disconnect();
    this.#closed.resolve();
  }

  #transition(to: PoolState): void {
    if (!TRANSITIONS[this.#state].includes(to)) throw new PoolStateError(`The pool cannot go from ${this.#state} to ${to}.`);
    this.#state = to;
  }
}

/** A timer that does not keep the process alive by itself. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function publicInfo({ id, hostname, pid, slots }: HostRecord): HostInfo {
  return { id, hostname, pid, slots };
}

/** What a task's function is known as, for how long its chunks take. */
function workOf(spec: TaskSpec): string {
  return spec.kind === 'inline' ? `inline:${spec.source}` : `module:${spec.module}:${spec.name}`;
}

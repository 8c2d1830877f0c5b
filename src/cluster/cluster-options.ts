/**
 * Options of the cluster's pools and hosts, their defaults, and the checks that turn a bad value into an
 * error naming the option and the value (as the local pool's options.ts does).
 */
import { checkOneOf, checkPositiveInteger, checkTimeout, errorClassesByName, type PoolOptions, type Serialization } from '../options';
import type { ErrorClasses } from '../shared/wire-error';
import { invalidArgument, outOfRange } from '../errors';
import { describe } from '../task-ref';

/** The queue of `forkpool worker` and of the pools, unless they name another. */
export const DEFAULT_QUEUE = 'forkpool';
/** BullMQ's own default prefix of the queue's keys. */
export const DEFAULT_PREFIX = 'bull';
export const DEFAULT_HOST_LOSS_TIMEOUT = 10_000;
export const DEFAULT_MAX_REQUEUES = 3;
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 2 ** 20;
export const DEFAULT_REDIS_TIMEOUT = 10_000;

/**
 * Where Redis is: a URL (`'redis://127.0.0.1:6379'`, `'rediss://…'` for TLS), or the options of an ioredis
 * client (`{ host, port, password, tls, … }`, `url` among them).
 */
export type RedisConnection = string | RedisConnectionOptions;

/** The options of an ioredis client, as `new Redis(options)` takes them; `url` may stand for host and port. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`; the other options add to it. */
  url?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 6379 */
  port?: number;
  /** The ACL user. */
  username?: string;
  /** The password (of `username`, or Redis's `requirepass`). */
  password?: string;
  /** The database number. @default 0 */
  db?: number;
  /** TLS options (those of Node's `tls.connect`); `{}` for TLS with the defaults. */
  tls?: object;
  /** Any other ioredis option. */
  [option: string]: unknown;
}

/** What a pool does with a chunk whose host is lost: run it again elsewhere, or fail it. */
export type HostLossPolicy = 'requeue' | 'fail';

/** Where a cluster is: its Redis, and the queue its pools and hosts share. */
export interface ClusterConnectionOptions {
  /** Redis: a URL such as `'redis://127.0.0.1:6379'`, or ioredis options. */
  connection: RedisConnection;
  /** The BullMQ queue that the pools put their chunks on and the hosts take them from. @default 'forkpool' */
  queue?: string;
  /** The prefix of the queue's Redis keys, BullMQ's `prefix`. @default 'bull' */
  prefix?: string;
}

/**
 * Options of {@link ClusterPool} (and, with `maxWorkers` for `processes`, of {@link ClusterExecutor}). The
 * hosts have the rest (the module, the number of processes, their environment): a pool names its tasks,
 * the hosts run them. Durations are in milliseconds.
 */
export interface ClusterPoolOptions extends ClusterConnectionOptions {
  /**
   * How many tasks the hosts run at once, as this pool counts them: map's default chunksize
   * (`ceil(length / (4 * processes))`) and how many chunks of one call wait in Redis follow from it.
   * @default the processes of the live hosts, as last read (1 until the first read, shortly after creation;
   * `await pool.hosts()` reads them)
   */
  processes?: number;
  /** Default `timeout` (ms) of every task, counted on its host from the moment a child begins it. @default none */
  taskTimeout?: number;
  /** How arguments and results travel through Redis. @default 'advanced' (structured clone: Map, Buffer, BigInt… arrive intact) */
  serialization?: Serialization;
  /**
   * How long a chunk may go without a sign of life from the host running it before the pool presumes that
   * host lost (killed, unplugged, frozen). Carried to the hosts with the chunks: a host beats at least four
   * times within it.
   * @default 10000
   */
  hostLossTimeout?: number;
  /** A lost host's chunk runs again elsewhere (`'requeue'`: at least once), or fails at once (`'fail'`). @default 'requeue' */
  onHostLoss?: HostLossPolicy;
  /** How many times one chunk may be requeued after host losses; one more loss fails it with `HostLostError`. @default 3 */
  maxRequeues?: number;
  /** The largest serialized arguments or result of a chunk, in bytes; a larger one fails its task with a RangeError. @default 16 MiB */
  maxPayloadBytes?: number;
  /**
   * How long Redis may leave the pool's commands unanswered (unreachable, frozen) while it has work, before
   * the pool gives up: it breaks, and every pending and later call rejects with `BackendError`.
   * @default 10000
   */
  redisTimeout?: number;
  /**
   * Error classes of the task modules that come back as themselves, as with a local pool: a task error of a
   * class of this name is rebuilt with that class's prototype and keeps every own property.
   * @default []
   */
  errorClasses?: PoolOptions['errorClasses'];
}

/** Options of {@link ClusterExecutor}: those of {@link ClusterPoolOptions}, with `maxWorkers` for `processes`. */
export interface ClusterExecutorOptions extends Omit<ClusterPoolOptions, 'processes'> {
  /** How many calls the hosts run at once, as this executor counts them. @default the processes of the live hosts */
  maxWorkers?: number;
}

/**
 * Options of {@link runHost}, `forkpool worker` as a function: where the queue is, and the local pool that
 * runs its chunks, with the options of {@link PoolOptions} that a host's children take.
 */
export interface HostOptions
  extends ClusterConnectionOptions,
    Pick<PoolOptions, 'module' | 'initializer' | 'initargs' | 'maxTasksPerChild' | 'env' | 'execArgv' | 'cwd' | 'stdout' | 'stderr' | 'childScript'> {
  /** Child processes, and so chunks run at once: the host takes no more jobs than it has free processes. @default os.availableParallelism() */
  processes?: number;
}

/** @internal The cluster pool's options filled in. */
export interface ResolvedClusterOptions {
  connection: RedisConnection;
  queue: string;
  prefix: string;
  processes: number | undefined;
  taskTimeout: number | undefined;
  serialization: Serialization;
  hostLossTimeout: number;
  onHostLoss: HostLossPolicy;
  maxRequeues: number;
  maxPayloadBytes: number;
  redisTimeout: number;
  errorClasses: ErrorClasses;
}

/** @internal Copy, check and fill a cluster pool's options. */
export function resolveClusterOptions(options: ClusterPoolOptions, processesName = 'processes'): ResolvedClusterOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(`Expected the pool options to be an object with a \`connection\`, got ${describe(options)}.`);
  }
  const { serialization = 'advanced', onHostLoss = 'requeue' } = options;
  checkOneOf('serialization', serialization, ['advanced', 'json']);
  checkOneOf('onHostLoss', onHostLoss, ['requeue', 'fail']);
  const { maxRequeues = DEFAULT_MAX_REQUEUES } = options;
  if (typeof maxRequeues !== 'number' || !Number.isInteger(maxRequeues) || maxRequeues < 0) {
    const message = `Expected \`maxRequeues\` to be a whole number, 0 or more, got ${describe(maxRequeues)}.`;
    throw typeof maxRequeues === 'number' ? outOfRange(message) : invalidArgument(message);
  }
  return {
    ...resolveConnection(options),
    processes: options.processes === undefined ? undefined : checkPositiveInteger(processesName, options.processes),
    taskTimeout: checkTimeout('taskTimeout', options.taskTimeout),
    serialization,
    hostLossTimeout: checkTimeout('hostLossTimeout', options.hostLossTimeout) ?? DEFAULT_HOST_LOSS_TIMEOUT,
    onHostLoss,
    maxRequeues,
    maxPayloadBytes:
      options.maxPayloadBytes === undefined ? DEFAULT_MAX_PAYLOAD_BYTES : checkPositiveInteger('maxPayloadBytes', options.maxPayloadBytes),
    redisTimeout: checkTimeout('redisTimeout', options.redisTimeout) ?? DEFAULT_REDIS_TIMEOUT,
    errorClasses: errorClassesByName(options.errorClasses),
  };
}

/** @internal Check and fill `connection`, `queue` and `prefix`. */
export function resolveConnection(options: ClusterConnectionOptions): Required<ClusterConnectionOptions> {
  const { connection, queue = DEFAULT_QUEUE, prefix = DEFAULT_PREFIX } = options;
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null || Array.isArray(connection))) {
    throw new TypeError(
      `Expected \`connection\` to be a Redis URL ('redis://127.0.0.1:6379') or ioredis options, got ${describe(connection)}.`,
    );
  }
  for (const [name, value] of [['queue', queue], ['prefix', prefix]] as const) {
    if (typeof value !== 'string' || value === '' || value.includes(':')) {
      throw invalidArgument(`Expected \`${name}\` to be a non-empty name without ':', got ${describe(value)}.`);
    }
  }
  return { connection: typeof connection === 'string' ? connection : { ...connection }, queue, prefix };
}

/**
 * The cluster's one door to its dependencies, BullMQ and its Redis client ioredis: optional peers of
 * forkpool, loaded when `forkpool/cluster` is, never by `forkpool` itself. Also the Redis connections the
 * cluster opens itself, and the names of the keys it keeps beside BullMQ's own.
 */
import type * as BullMQ from 'bullmq';
import type { Redis as IORedis, RedisOptions } from 'ioredis';
import type { RedisConnection } from './cluster-options';

export type Redis = IORedis;
export type { BullMQ };

interface Dependencies {
  bullmq: typeof BullMQ;
  Redis: typeof IORedis;
}

let loaded: Dependencies | undefined;

/** An error that says what to install, with a `code` to branch on. */
export class MissingDependencyError extends Error {
  readonly code = 'ERR_POOL_CLUSTER_DEPENDENCY';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MissingDependencyError';
  }
}

/**
 * BullMQ and ioredis, as the application installed them: required from this file's place in the package,
 * which finds the application's copies.
 * @throws MissingDependencyError naming what to install.
 */
export function dependencies(): Dependencies {
  if (loaded !== undefined) return loaded;
  const missing: string[] = [];
  const tryLoad = <T>(name: string, load: () => unknown): T | undefined => {
    try {
      return load() as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !String((error as Error).message).includes(`'${name}'`)) throw error;
      missing.push(name);
      return undefined;
    }
  };
  const bullmq = tryLoad<typeof BullMQ>('bullmq', () => require('bullmq'));
  const ioredis = tryLoad<{ Redis: typeof IORedis }>('ioredis', () => require('ioredis'));
  if (bullmq === undefined || ioredis === undefined) {
    throw new MissingDependencyError(
      `forkpool/cluster runs on BullMQ and Redis, and needs the packages bullmq (6.x) and ioredis, which are not ` +
        `installed (${missing.join(' and ')} missing). Install them beside forkpool: npm install bullmq@6 ioredis`,
    );
  }
  loaded = { bullmq, Redis: ioredis.Redis };
  return loaded;
}

/**
 * The ioredis options of a connection, for BullMQ's classes (which open their own) and for the clients made
 * here. Reconnecting starts fast and backs off to a second: a Redis that restarts is found again at once.
 */
export function redisOptions(connection: RedisConnection): BullMQ.RedisOptions {
  const given = typeof connection === 'string' ? { url: connection } : connection;
  return {
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    ...given,
    // Commands wait while the connection is down; the pools decide when to give up on them (redisTimeout).
    maxRetriesPerRequest: null,
  };
}

/** A new client on `connection`; errors are `onError`'s (an EventEmitter with no 'error' listener would throw). */
export function connect(connection: RedisConnection, onError: (error: Error) => void): Redis {
  const { Redis } = dependencies();
  const { url, ...options } = redisOptions(connection);
  // BullMQ's type of ioredis options is looser than ioredis's own.
  const ioredisOptions = options as RedisOptions;
  const client = url === undefined ? new Redis(ioredisOptions) : new Redis(url, ioredisOptions);
  client.on('error', onError);
  return client;
}

/** Where a connection points, for messages: the URL without its password. */
export function describeConnection(connection: RedisConnection): string {
  const { url, host = '127.0.0.1', port = 6379 } = typeof connection === 'string' ? { url: connection } : connection;
  if (typeof url === 'string') return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  return `${String(host)}:${String(port)}`;
}

/** The Redis keys of one queue: BullMQ's own that the cluster reads, and the cluster's, under the same prefix. */
export class QueueKeys {
  /** `bull:render:`, what a job id is appended to for the job's hash. */
  readonly job: string;
  /** BullMQ's stream of the queue's events. */
  readonly events: string;
  /** BullMQ's sets of finished jobs. */
  readonly completed: string;
  readonly failed: string;
  /** The hosts' heartbeats: a sorted set of host ids, scored by the Redis time (ms) of their last beat. */
  readonly hosts: string;
  /** What each host is (hostname, pid, slots, busy), as JSON, by host id. */
  readonly hostInfo: string;
  /** The channel on which callers ask hosts to stop running jobs. */
  readonly stop: string;

  constructor(prefix: string, queue: string) {
    const base = `${prefix}:${queue}`;
    this.job = `${base}:`;
    this.events = `${base}:events`;
    this.completed = `${base}:completed`;
    this.failed = `${base}:failed`;
    // Under the queue's own prefix, so that a prefix in braces ({bull}) keeps them in the hash slot of
    // BullMQ's keys on a Redis Cluster.
    this.hosts = `${base}:forkpool:hosts`;
    this.hostInfo = `${base}:forkpool:host-info`;
    this.stop = `${base}:forkpool:stop`;
  }

  /** A job's inputs, when they are too large to go inside its data. */
  input(jobId: string): string {
    return `${this.job}${jobId}:forkpool-in`;
  }

  /** A job's outcomes, when they are too large to go inside its result. */
  output(jobId: string): string {
    return `${this.job}${jobId}:forkpool-out`;
  }
}

/**
 * The cluster's own failure kinds, each a {@link BrokenPoolError} with a `code` of its own: what breaks is
 * a machine or Redis rather than a child, and code written for the local pool's BrokenPoolError handles them.
 */
import { BrokenPoolError } from '../index';

/** Which host a {@link HostLostError} is about. */
export interface LostHost {
  /** The host's id, as {@link ClusterPool.hosts | hosts()} lists it. */
  host: string;
  /** Its machine's name, when the pool knew it. */
  hostname: string | undefined;
  /** The `forkpool worker` process's id, when the pool knew it. */
  pid: number | undefined;
}

/**
 * A chunk's host was lost (killed, unplugged, frozen: no sign of life for `hostLossTimeout`) and the chunk
 * was not run again: the pool's `onHostLoss` is `'fail'`, or it had been requeued `maxRequeues` times.
 * `pid` is the host process's.
 */
export class HostLostError extends BrokenPoolError {
  override readonly code = 'ERR_POOL_HOST_LOST';
  /** The lost host's id. */
  readonly host: string;
  /** The lost host's machine name, when known. */
  readonly hostname: string | undefined;
  /** How many times the chunk had been requeued before this loss. */
  readonly requeues: number;

  constructor(message: string, lost: LostHost, requeues: number) {
    super(message, { pid: lost.pid });
    this.host = lost.host;
    this.hostname = lost.hostname;
    this.requeues = requeues;
  }
}

/**
 * Redis failed the pool: unreachable or unanswering for longer than `redisTimeout` while the pool had work,
 * or restarted without the pool's jobs. The pool is broken: every pending and later call rejects with one.
 * `cause` is the Redis client's error, where there is one.
 */
export class BackendError extends BrokenPoolError {
  override readonly code = 'ERR_POOL_BACKEND';
}

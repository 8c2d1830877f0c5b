/**
 * ClusterPool: the Pool's calls, run by the hosts of a BullMQ queue on Redis.
 */
import { BasePool } from '../index';
import { resolveClusterOptions, type ClusterPoolOptions } from './cluster-options';
import type { ClusterEvents, ClusterStats, HostChildInfo, HostInfo } from './cluster-events';
import type { ClusterRunner } from './cluster-runner';
import { ClusterSetup } from './cluster-setup';

/**
 * {@link forkpool!Pool | Pool}'s API across machines: {@link ClusterPool.apply | apply},
 * {@link ClusterPool.map | map}, {@link ClusterPool.imap | imap} and the rest put their chunks on a BullMQ
 * queue in Redis as jobs (quick chunks of a call several to a job), and the hosts (`npx forkpool worker
 * --redis URL --queue NAME --module ./tasks.js`, or {@link runHost}) take the jobs as they have free
 * processes and run each chunk in a local pool.
 *
 * What changes from one machine: a chunk whose host is lost (killed, unplugged, frozen: no sign of life for
 * `hostLossTimeout`) runs again elsewhere, so tasks should be idempotent; a chunk's own error, timeout or
 * child crash fails it as locally, without a retry. A task named by a string is an export of each host's
 * `--module`. Results come back in the order the API promises, with a bounded number of each call's chunks
 * in Redis at once. The pool's Redis connections keep the process running until it is closed
 * ({@link ClusterPool.close | close()} then {@link ClusterPool.join | join()}, or `await using`).
 *
 * Events ({@link ClusterEvents}): `'event'` for what the tasks `emit()`, `'host-up'`, `'host-down'`,
 * `'requeued'`. It never emits `'error'`: a failure rejects the call that owns it.
 *
 * @typeParam M - The type of the hosts' module, `typeof import('./tasks.js')`: string task names are
 * checked against its function exports, and arguments and results follow from them.
 */
export class ClusterPool<M = any> extends BasePool<M, HostChildInfo, ClusterEvents> {
  readonly #runner: ClusterRunner;

  /**
   * Connect to Redis and the queue; no host needs to be up yet (jobs wait for one).
   * @throws TypeError or RangeError for an option of the wrong type or value, naming it;
   * `code: 'ERR_POOL_CLUSTER_DEPENDENCY'` when bullmq or ioredis is not installed.
   */
  constructor(options: ClusterPoolOptions) {
    const setup = new ClusterSetup(resolveClusterOptions(options));
    super(setup.start);
    this.#runner = setup.bind(this);
  }

  /** What the pool is doing now, and has done since it was created, in counts; the hosts' processes as `processes`. */
  override stats(): ClusterStats {
    return this.#runner.stats();
  }

  /** The live hosts of the queue, read from Redis now: `{ id, hostname, pid, slots }` each. */
  hosts(): Promise<HostInfo[]> {
    return this.#runner.hosts();
  }
}

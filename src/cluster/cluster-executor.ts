/**
 * ClusterExecutor: concurrent.futures' face of a cluster.
 */
import { BaseExecutor } from '../index';
import { resolveClusterOptions, type ClusterExecutorOptions } from './cluster-options';
import type { ClusterEvents, ClusterStats, HostChildInfo, HostInfo } from './cluster-events';
import type { ClusterRunner } from './cluster-runner';
import { ClusterSetup } from './cluster-setup';

/**
 * {@link forkpool!ProcessPoolExecutor | ProcessPoolExecutor}'s API across machines, over the same cluster
 * as {@link ClusterPool}: {@link ClusterExecutor.submit | submit} puts the call on the queue as a job and
 * returns a {@link forkpool!Future | Future}; {@link ClusterExecutor.map | map} is lazy, with a bounded
 * number of chunks in Redis; {@link ClusterExecutor.shutdown | shutdown} ends it.
 *
 * `cancel()` succeeds for a call no host has begun as far as the executor knows; should a host have taken
 * its job in the meantime, the host stops it. A call whose host is lost runs again elsewhere (at least once).
 *
 * @typeParam M - The type of the hosts' module, `typeof import('./tasks.js')`, for typed task names.
 */
export class ClusterExecutor<M = any> extends BaseExecutor<M, HostChildInfo, ClusterEvents> {
  readonly #runner: ClusterRunner;

  /**
   * Connect to Redis and the queue; no host needs to be up yet.
   * @throws TypeError or RangeError for an option of the wrong type or value, naming it.
   */
  constructor(options: ClusterExecutorOptions) {
    // Checked as a whole by resolveClusterOptions, which names `connection` when there is nothing at all.
    const { maxWorkers, ...rest } = options ?? ({} as ClusterExecutorOptions);
    const setup = new ClusterSetup(resolveClusterOptions({ ...rest, processes: maxWorkers }, 'maxWorkers'));
    super(setup.start);
    this.#runner = setup.bind(this);
  }

  /** What the executor is doing now, and has done since it was created, in counts. */
  override stats(): ClusterStats {
    return this.#runner.stats();
  }

  /** The live hosts of the queue, read from Redis now: `{ id, hostname, pid, slots }` each. */
  hosts(): Promise<HostInfo[]> {
    return this.#runner.hosts();
  }
}

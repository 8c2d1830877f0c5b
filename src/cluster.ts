/**
 * forkpool/cluster: the Pool and the executor across machines, on BullMQ and Redis. {@link ClusterPool}
 * and {@link ClusterExecutor} have the API of `forkpool`'s Pool and ProcessPoolExecutor; each chunk of a
 * call is a job on a BullMQ queue, which the hosts (`npx forkpool worker --redis URL`, or {@link runHost})
 * take and run in local pools. Needs the packages bullmq (6.x) and ioredis beside forkpool.
 *
 * @module forkpool/cluster
 */
import { dependencies } from './cluster/backend';

export { ClusterPool } from './cluster/cluster-pool';
export { ClusterExecutor } from './cluster/cluster-executor';
export { Host, runHost } from './cluster/host';
export type { HostCloseOptions, HostEvents } from './cluster/host';
export { BackendError, HostLostError } from './cluster/cluster-errors';
export type { LostHost } from './cluster/cluster-errors';
export type { ClusterEvents, ClusterStats, HostChildInfo, HostDownInfo, HostDownReason, HostInfo, RequeueInfo } from './cluster/cluster-events';
export type {
  ClusterConnectionOptions,
  ClusterExecutorOptions,
  ClusterPoolOptions,
  HostLossPolicy,
  HostOptions,
  RedisConnection,
  RedisConnectionOptions,
} from './cluster/cluster-options';

// Loading forkpool/cluster without bullmq and ioredis fails here, saying what to install, rather than at
// the first pool.
dependencies();

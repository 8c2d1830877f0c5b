/**
 * What a cluster pool's face starts with, as a local pool's starts with createEngine: its runner, the
 * resolver of its task references, its default task timeout, and how its own events reach its listeners.
 */
import type { EventEmitter } from 'node:events';
import { emitSafely } from '../calls/observer';
import type { PoolSetup } from '../calls/pool-setup';
import { TaskResolver } from '../calls/task-resolver';
import type { PoolEvents } from '../events';
import type { PoolObserver } from '../scheduler/task-runner';
import type { ResolvedClusterOptions } from './cluster-options';
import { ClusterRunner, HOST_MODULE, type ClusterObserver, type HostDownReason, type HostInfo, type RequeueInfo } from './cluster-runner';

/** Which host's child an event of a task comes from. */
export interface HostChildInfo {
  /** The host's id, as {@link ClusterPool.hosts | hosts()} lists it. */
  host: string;
  /** The pid of the child, on that host, that ran the task. */
  pid: number;
}

/**
 * The events of a cluster pool or executor, for `on`, `once` and `off`: `'event'` as for every pool (the
 * hosts' children's `emit()`s), and the hosts coming and going. The hosts' children's `'spawn'` and `'exit'`
 * stay on their hosts.
 */
export interface ClusterEvents extends PoolEvents<HostChildInfo> {
  /** A host started beating, or this pool saw it for the first time. */
  'host-up': [info: HostInfo];
  /** A host stopped beating for `hostLossTimeout` (`'lost'`), or left the queue as it closed (`'left'`). */
  'host-down': [info: HostInfo & { reason: HostDownReason }];
  /** A chunk whose host was lost went back on the queue. */
  requeued: [info: RequeueInfo];
}

/** A runner over the cluster, and task names that resolve on each host against its own module. @internal */
export function createCluster(
  options: ResolvedClusterOptions,
  observer: PoolObserver,
  face: () => Pick<EventEmitter, 'rawListeners'> | undefined,
): PoolSetup<ClusterRunner> {
  // A string task names an export of the host's module: it resolves to HOST_MODULE here, to the host's there.
  const resolver = new TaskResolver(process.cwd(), HOST_MODULE);
  const emit = (event: keyof ClusterEvents, info: unknown) => {
    const target = face();
    // The runner reports hosts from its first tick on, after the face's constructor has returned.
    if (target !== undefined) emitSafely(target, event, info);
  };
  const clusterObserver: ClusterObserver = {
    hostUp: (info) => emit('host-up', info),
    hostDown: (info) => emit('host-down', info),
    requeued: (info) => emit('requeued', info),
  };
  return { runner: new ClusterRunner(options, observer, clusterObserver), resolver, taskTimeout: options.taskTimeout };
}

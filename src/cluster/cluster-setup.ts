/**
 * What a cluster pool's face starts with, as a local pool's starts with createEngine: its runner, the
 * resolver of its task references, its default task timeout, and how its own events reach its listeners.
 */
import type { EventEmitter } from 'node:events';
import { emitSafely } from '../calls/observer';
import type { PoolSetup } from '../calls/pool-setup';
import { TaskResolver } from '../calls/task-resolver';
import type { PoolObserver } from '../scheduler/task-runner';
import type { ResolvedClusterOptions } from './cluster-options';
import { ClusterRunner, HOST_MODULE, type ClusterObserver } from './cluster-runner';
import type { ClusterEvents } from './cluster-events';

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

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

/**
 * The start of a cluster pool's face (ClusterPool, ClusterExecutor): `start` makes its runner over the
 * cluster, and task names that resolve on each host against that host's module; `bind` gives it the face,
 * made by then, which hears of the hosts from the runner's first tick on. @internal
 */
export class ClusterSetup {
  runner!: ClusterRunner;
  #face: Listened | undefined;

  constructor(readonly options: ResolvedClusterOptions) {}

  readonly start = (observer: PoolObserver): PoolSetup<ClusterRunner> => {
    // A string task names an export of the host's module: it resolves to HOST_MODULE here, to the host's there.
    const resolver = new TaskResolver(process.cwd(), HOST_MODULE);
    const emit = (event: keyof ClusterEvents, info: unknown) => {
      if (this.#face !== undefined) emitSafely(this.#face, event, info);
    };
    const clusterObserver: ClusterObserver = {
      hostUp: (info) => emit('host-up', info),
      hostDown: (info) => emit('host-down', info),
      requeued: (info) => emit('requeued', info),
    };
    this.runner = new ClusterRunner(this.options, observer, clusterObserver);
    return { runner: this.runner, resolver, taskTimeout: this.options.taskTimeout };
  };

  bind(face: Listened): ClusterRunner {
    this.#face = face;
    return this.runner;
  }
}

/** A face, as far as telling its listeners goes. */
type Listened = Pick<EventEmitter, 'rawListeners'>;

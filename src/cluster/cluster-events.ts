/**
 * What a cluster pool tells its users beyond what every pool does: the hosts (as hosts() lists them and its
 * events name them), the events of its own, and its counts.
 */
import type { PoolEvents, PoolStats } from '../events';

/** A host as a cluster pool's `hosts()` lists it, and its events name it. */
export interface HostInfo {
  /** Unique per `forkpool worker` process: `<hostname>.<pid>.<random>`. */
  id: string;
  /** The machine's name. */
  hostname: string;
  /** The `forkpool worker` process's id on that machine. */
  pid: number;
  /** Its processes: how many chunks it runs at once. */
  slots: number;
}

/** Why a host went down: it stopped beating (`'lost'`), or it left the queue when it was closed (`'left'`). */
export type HostDownReason = 'lost' | 'left';

/** A host that went down, and why. */
export interface HostDownInfo extends HostInfo {
  /** It stopped beating for the pool's `hostLossTimeout` (`'lost'`), or left the queue as it closed (`'left'`). */
  reason: HostDownReason;
}

/** A chunk whose host was lost was put back on the queue, to run again elsewhere. */
export interface RequeueInfo {
  /** The lost host's id. */
  host: string;
  /** How many times this chunk has been requeued now (1 the first time). */
  requeues: number;
}

/** Counts of a cluster pool ({@link ClusterPool.stats}): those of every pool, and its own. */
export interface ClusterStats extends PoolStats {
  /** Live hosts now. */
  hosts: number;
  /** Chunks put back on the queue after their host was lost, since the pool was created. */
  requeued: number;
  /** Hosts this pool saw stop beating, since it was created. */
  hostsLost: number;
}

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
  'host-down': [info: HostDownInfo];
  /** A chunk whose host was lost went back on the queue. */
  requeued: [info: RequeueInfo];
}

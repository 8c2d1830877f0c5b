/**
 * What a run measures: the sizes of the workloads (full and quick), how many times, and which pools run
 * which workloads. A (pool, workload) pair not listed here is shown as n/a.
 */
import type { PeerId, Sizes, WorkloadId } from './types';

const MiB = 1024 * 1024;

export interface RunPlan {
  sizes: Sizes;
  /** Repetitions of every (pool, workload) pair; the report takes medians. */
  reps: number;
  /** D is short and noisy: it gets more repetitions. */
  startupReps: number;
  /** Longest a single measurement may take before it is killed and reported as failed. */
  measureTimeoutMs: number;
}

export const FULL: RunPlan = {
  sizes: {
    workers: 2,
    tinyCalls: 100_000,
    mapItems: 100_000,
    cpuTasks: 64,
    cpuTaskMs: 27,
    coarseTaskMs: 1000,
    headLongMs: 1000,
    headShortMs: 10,
    headShortsPerWorker: 20,
    echoes: 200,
    echoBytes: MiB,
    gzipMaxFileBytes: null,
    idleSettleMs: 500,
  },
  reps: 5,
  startupReps: 9,
  measureTimeoutMs: 300_000,
};

/** Small enough to finish in well under a minute: it checks that the harness works, not how fast anything is. */
export const QUICK: RunPlan = {
  sizes: {
    workers: 2,
    tinyCalls: 5_000,
    mapItems: 20_000,
    cpuTasks: 8,
    cpuTaskMs: 27,
    coarseTaskMs: 200,
    headLongMs: 200,
    headShortMs: 2,
    headShortsPerWorker: 20,
    echoes: 20,
    echoBytes: MiB,
    gzipMaxFileBytes: 64 * 1024,
    idleSettleMs: 200,
  },
  reps: 1,
  startupReps: 2,
  measureTimeoutMs: 60_000,
};

export interface WorkloadInfo {
  id: WorkloadId;
  /** Row title in the table. */
  title: string;
  /** Unit of the figure in the table. */
  unit: string;
  /** Whether a larger figure is better. */
  higherIsBetter: boolean;
  /** B and gzip: the table shows serial time / pool time, against the serial peer of the same runtime. */
  speedup?: boolean;
}

/**
 * A-map-warm: full-size maps made before the timed one. The first large map in fresh processes pays for V8
 * compiling its loops and growing its heaps, in the parent and in each child; this shows the same call
 * once that is done.
 */
export const FULL_MAPS_BEFORE_WARM_RUN = 3;

export const WORKLOAD_INFO: readonly WorkloadInfo[] = [
  { id: 'A-call', title: 'A: tiny tasks, one call each', unit: 'tasks/s', higherIsBetter: true },
  { id: 'A-emit', title: 'A: the same, each task emit()s once', unit: 'tasks/s', higherIsBetter: true },
  { id: 'A-map1', title: 'A: map, chunksize 1', unit: 'items/s', higherIsBetter: true },
  { id: 'A-map', title: 'A: map, default chunksize', unit: 'items/s', higherIsBetter: true },
  { id: 'A-map-warm', title: 'A: map, default chunksize, 4th in a row', unit: 'items/s', higherIsBetter: true },
  { id: 'B', title: 'B: CPU tasks', unit: '× serial', higherIsBetter: true, speedup: true },
  { id: 'C', title: 'C: 1 MiB Buffer echoes', unit: 'MiB/s', higherIsBetter: true },
  { id: 'C-move', title: 'C: 1 MiB buffers moved, not copied', unit: 'MiB/s', higherIsBetter: true },
  { id: 'D', title: 'D: new pool → first result', unit: 'ms', higherIsBetter: false },
  { id: 'E', title: 'E: cold coarse map', unit: 'ms', higherIsBetter: false },
  { id: 'F', title: 'F: head of line', unit: 'ms', higherIsBetter: false },
  { id: 'gzip', title: 'gzip -9 of typescript/lib', unit: '× serial', higherIsBetter: true, speedup: true },
  { id: 'idle', title: 'idle pool: RSS', unit: 'MiB', higherIsBetter: false },
];

export interface PeerInfo {
  id: PeerId;
  /** Column title. */
  label: string;
  runtime: 'node' | 'python';
  workloads: readonly WorkloadId[];
}

const POOL_WORKLOADS: readonly WorkloadId[] = ['A-call', 'B', 'C', 'D', 'idle'];

export const PEER_INFO: readonly PeerInfo[] = [
  { id: 'forkpool', label: 'forkpool', runtime: 'node', workloads: ['A-call', 'A-emit', 'A-map1', 'A-map', 'A-map-warm', 'B', 'C', 'D', 'E', 'F', 'gzip', 'idle'] },
  // Only with --baseline, which says where that build is.
  { id: 'forkpool-baseline', label: 'forkpool (baseline)', runtime: 'node', workloads: ['A-call', 'A-emit', 'A-map1', 'A-map', 'A-map-warm', 'B', 'C', 'D', 'E', 'F', 'gzip', 'idle'] },
  { id: 'forkpool-executor', label: 'forkpool executor', runtime: 'node', workloads: ['A-call'] },
  {
    id: 'forkpool-threads',
    label: 'forkpool ThreadPool',
    runtime: 'node',
    workloads: ['A-call', 'A-emit', 'A-map1', 'A-map', 'A-map-warm', 'B', 'C', 'C-move', 'D', 'E', 'F', 'gzip', 'idle'],
  },
  { id: 'forkpool-thread-executor', label: 'forkpool ThreadPoolExecutor', runtime: 'node', workloads: ['A-call'] },
  { id: 'jest-worker', label: 'jest-worker', runtime: 'node', workloads: [...POOL_WORKLOADS, 'E', 'F', 'gzip'] },
  { id: 'worker-farm', label: 'worker-farm', runtime: 'node', workloads: POOL_WORKLOADS },
  { id: 'tinypool', label: 'tinypool (child_process)', runtime: 'node', workloads: POOL_WORKLOADS },
  { id: 'workerpool', label: 'workerpool (process)', runtime: 'node', workloads: POOL_WORKLOADS },
  { id: 'piscina', label: 'piscina (threads)', runtime: 'node', workloads: [...POOL_WORKLOADS, 'C-move', 'E', 'F'] },
  { id: 'tinypool-threads', label: 'tinypool (threads)', runtime: 'node', workloads: [...POOL_WORKLOADS, 'C-move'] },
  { id: 'raw-fork', label: 'raw fork + send', runtime: 'node', workloads: POOL_WORKLOADS },
  { id: 'serial', label: 'Node serial', runtime: 'node', workloads: ['B', 'gzip'] },
  { id: 'python-pool', label: 'Python Pool', runtime: 'python', workloads: ['A-call', 'A-map1', 'A-map', 'A-map-warm', 'B', 'C', 'D', 'E', 'idle'] },
  { id: 'python-executor', label: 'Python Executor', runtime: 'python', workloads: [...POOL_WORKLOADS, 'F'] },
  { id: 'python-serial', label: 'Python serial', runtime: 'python', workloads: ['B'] },
];

/** The peer whose time the speedups of a runtime divide. */
export const SERIAL_PEER: Record<PeerInfo['runtime'], PeerId> = { node: 'serial', python: 'python-serial' };

/** The targets for forkpool, each a ratio to a peer measured in the same run (or an absolute speedup). */
export interface Target {
  workload: WorkloadId;
  /** Whose figure is measured against the reference. @default 'forkpool' (the Pool) */
  subject?: PeerId;
  /** The peer the subject is divided by; absent: the figure itself (a speedup) is the ratio. */
  against?: PeerId;
  /** Instead of `against`: forkpool's own figure on this other workload. */
  againstWorkload?: WorkloadId;
  /** The ratio must be at least this (`atLeast`) or at most this (`atMost`). */
  atLeast?: number;
  atMost?: number;
  /** `atMost` for runs of more than 2 workers, where it differs. */
  atMostAbove2?: number;
  text: string;
  /** Why the target can be missed on this kind of machine: what limits it, measured while building forkpool. */
  limit?: string;
}

export const TARGETS: readonly Target[] = [
  {
    workload: 'A-call',
    against: 'jest-worker',
    atLeast: 5,
    text: 'A per-call ≥ 5× jest-worker',
    limit:
      "The parent is the ceiling: its CPU over the 100,000 calls is the detail table's \"parent CPU\" (making each " +
      "call's promise and task, sending it, reading its result among others; process.cpuUsage(), so V8's GC threads " +
      'count too), and on two cores it shares them with the two children. Half of it goes to the IPC channel ' +
      "(Node's serialization, the pipe's writes) and to collecting garbage. jest-worker's per-call cost is lower " +
      'relative to ours on faster machines: on a 16-core Xeon forkpool ran 3.9× its rate at 2 workers and 2.9× at 16 ' +
      '(bench/results/).',
  },
  {
    workload: 'A-emit',
    againstWorkload: 'A-call',
    atLeast: 0.5,
    text: 'A with one emit() per task ≥ 0.5× A without',
    limit:
      'Each event is a message of its own, sent the moment the task emits, where the results of tiny tasks share ' +
      'messages: a task that emits costs the parent one more message to read.',
  },
  { workload: 'A-map1', against: 'python-pool', atLeast: 2.5, text: 'A map chunksize 1 ≥ 2.5× Python Pool.map(chunksize=1)' },
  {
    workload: 'A-map',
    against: 'python-pool',
    atLeast: 1.2,
    text: 'A map default chunksize ≥ 1.2× Python Pool.map',
    limit:
      'The timed map is the first of its size in fresh processes. Profiles of both sides (--cpu-prof, the samples ' +
      "of the map's window only) show the children idle most of the time and the parent busy: about 20 ms of its CPU " +
      "for 100,000 items (packing, sending and reading eight chunks, placing the results, collecting their garbage), " +
      "in loops V8 has not compiled yet, on two cores shared with the children. Python's pickling of a list of ints " +
      'is a C loop from the start. Packing the input once cut the parent\'s part by a fifth; the row "4th in a ' +
      'row" is the same call once the loops are compiled, where forkpool leads.',
  },
  {
    workload: 'B',
    atLeast: 1.97,
    text: 'B ≥ 1.97× serial',
    limit:
      'Each task costs the pull loop two messages (a result that also asks for more, then a task), where raw fork ' +
      'pushes all 64 tasks at once and only reads results. On two cores the parent handles each message with CPU ' +
      "taken from a child's time slice, a fraction of a millisecond per task and 10-15 ms over the run. Pushing " +
      'tasks unasked would close the gap, and the contract forbids it (the parent never sends work a child did not ' +
      'ask for). In the same runs the Node peers land within a few hundredths of forkpool, and vary as much from run ' +
      'to run on this machine.',
  },
  { workload: 'C', against: 'jest-worker', atLeast: 2, text: 'C ≥ 2× jest-worker' },
  {
    workload: 'E',
    against: 'python-pool',
    atMost: 1.05,
    atMostAbove2: 1.1,
    text: 'E ≤ 1.05× Python Pool at 2 workers (≤ 1.1× above)',
  },
  {
    workload: 'F',
    against: 'python-executor',
    atMost: 1.1,
    text: 'F ≤ 1.1× Python ProcessPoolExecutor',
    limit:
      'The short tasks run on the other child while the long one runs, as they should (their time is about 0.43 of ' +
      "the long task's in every run); each costs about 1.2 ms more than its 10 ms of work: its result and the next " +
      "task are handled by the parent, on two cores that the two busy children already fill. Python's executor " +
      'varies most from run to run here (about 370 to 690 ms over the runs made while building this); jest-worker ' +
      'lands with forkpool.',
  },
  {
    workload: 'D',
    against: 'raw-fork',
    atMost: 1.05,
    text: 'D ≤ 1.05× raw fork to first message',
    limit:
      'A child asks before it is sent work (the pull contract), so the first task costs one round trip that raw fork ' +
      "does not pay: raw fork writes the task into the pipe before the child has even booted. With two children " +
      'booting on two cores that round trip takes 1-3 ms. The rest of the start-up is off that path: the child ' +
      'script is one bundled file, the default module loads while the first ask travels, and the orphan guard starts ' +
      'after the constructor returns.',
  },
  {
    workload: 'idle',
    against: 'raw-fork',
    atMost: 1,
    text: 'idle pool ≤ as many bare node processes',
    limit:
      'The children themselves are the size of bare node processes (within 0.3 MiB each). The difference is the ' +
      "orphan guard: one /bin/sh per pool, about 1.6 MiB resident, which SIGKILLs the children when the parent dies " +
      'by SIGKILL while a child is stuck in a synchronous task. A watcher thread in each child would cost a V8 isolate ' +
      'each, about 10 MiB.',
  },
  {
    workload: 'A-call',
    subject: 'forkpool-threads',
    against: 'piscina',
    atLeast: 2,
    text: 'ThreadPool A per-call ≥ 2× piscina',
  },
  {
    workload: 'A-call',
    subject: 'forkpool-threads',
    against: 'forkpool',
    atLeast: 1,
    text: "ThreadPool A per-call ≥ forkpool's Pool",
  },
  { workload: 'D', subject: 'forkpool-threads', against: 'piscina', atMost: 1, text: 'ThreadPool D ≤ piscina' },
  { workload: 'C-move', subject: 'forkpool-threads', against: 'piscina', atLeast: 1, text: 'ThreadPool C moved ≥ piscina moved' },
  { workload: 'B', subject: 'forkpool-threads', against: 'piscina', atLeast: 0.98, text: 'ThreadPool B within 2% of piscina' },
];

/**
 * One measurement of the cluster benchmark (cluster.ts) in a process of its own, run from the transpiled
 * copy of bench/:
 *
 *   node cluster-measure.js '<ClusterMeasureSpec as JSON>'
 *
 * The outcome is printed as JSON on a line that starts with RESULT_MARKER, as measure.ts prints its own.
 */
import fs from 'node:fs';
import type * as Forkpool from '../src';
import type * as Cluster from '../src/cluster';
import { PACKAGE_ENTRY, ROOT, TASKS, childEnv } from './paths';
import { RESULT_MARKER, type Outcome } from './types';
import { now } from './workloads/common';

/** What the cluster benchmark measures; each against a local Pool(2) where that means something. */
export type ClusterWorkload =
  /** One map of `mapItems` numbers, chunksize 1,000: items/s. */
  | 'map'
  /** One call after another, each waiting for the last: ms per call (median). */
  | 'latency'
  /** A SIGKILLed host's chunk, from the kill to its result on another host: ms. */
  | 'recovery';

/**
 * A local Pool(2); the cluster of 2 hosts of 1 process; and the reference, 2 BullMQ workers of
 * their own each handing its jobs to a Pool(1), the jobs added all at once and awaited through QueueEvents.
 */
export type ClusterPeer = 'pool' | 'cluster' | 'bullmq';

export interface ClusterMeasureSpec {
  workload: ClusterWorkload;
  peer: ClusterPeer;
  /** The cluster's Redis and queue, and the pids of its hosts (2, of one process each). */
  redis: string;
  queue: string;
  hosts: number[];
  mapItems: number;
  calls: number;
  hostLossTimeout: number;
  /** A file the recovery workload's chunk creates on its first run (stallOnce). */
  marker: string;
}

const { Pool } = require(PACKAGE_ENTRY) as typeof Forkpool;
const { ClusterPool } = require(`${ROOT}/dist/cluster.cjs`) as typeof Cluster;

type AnyPool = Forkpool.BasePool<any, any, any>;

function create(spec: ClusterMeasureSpec, options: Partial<Cluster.ClusterPoolOptions> = {}): AnyPool {
  if (spec.peer === 'pool') return new Pool({ processes: 2, module: TASKS, env: childEnv() });
  return new ClusterPool({ connection: spec.redis, queue: spec.queue, hostLossTimeout: spec.hostLossTimeout, ...options });
}

async function warmUp(pool: AnyPool): Promise<void> {
  await Promise.all(Array.from({ length: 20 }, (_, i) => pool.apply('tiny', [i])));
}

async function measure(spec: ClusterMeasureSpec): Promise<Outcome> {
  if (spec.peer === 'bullmq') return { ok: true, ...(await reference(spec)) };
  const pool = create(spec);
  try {
    if (pool instanceof ClusterPool) await pool.hosts();
    await warmUp(pool);
    switch (spec.workload) {
      case 'map': {
        const items = Array.from({ length: spec.mapItems }, (_, i) => i);
        // One map of a tenth first: the first large map in fresh processes pays for compiling its loops.
        await pool.map('tiny', items.slice(0, items.length / 10), { chunksize: 1000 });
        const start = now();
        const results = (await pool.map('tiny', items, { chunksize: 1000 })) as number[];
        const seconds = (now() - start) / 1000;
        if (results.length !== items.length || results[items.length - 1] !== items.length) throw new Error('Wrong results.');
        return { ok: true, value: items.length / seconds, phases: { total: seconds * 1000 } };
      }
      case 'latency': {
        const times: number[] = [];
        for (let i = 0; i < spec.calls; i++) {
          const start = now();
          await pool.apply('tiny', [i]);
          times.push(now() - start);
        }
        times.sort((a, b) => a - b);
        return { ok: true, value: times[times.length >> 1], phases: { p90: times[Math.floor(times.length * 0.9)] } };
      }
      case 'recovery':
        return { ok: true, ...(await recovery(pool as Cluster.ClusterPool, spec)) };
    }
  } finally {
    pool.terminate();
    await pool.join();
  }
}

/** The map through plain BullMQ: every chunk a job of JSON numbers, added at once, the results awaited as events. */
async function reference(spec: ClusterMeasureSpec): Promise<{ value: number; phases: Record<string, number> }> {
  const { Queue, QueueEvents } = require(require.resolve('bullmq', { paths: [ROOT] })) as typeof import('bullmq');
  const connection = { url: spec.redis };
  const queue = new Queue(spec.queue, { connection });
  const events = new QueueEvents(spec.queue, { connection });
  await events.waitUntilReady();
  const run = async (items: number, name: string) => {
    const jobs = Math.ceil(items / 1000);
    let done = 0;
    const all = new Promise<void>((resolve) => {
      events.on('completed', ({ jobId }) => {
        if (jobId.startsWith(name) && ++done === jobs) resolve();
      });
    });
    const start = now();
    await queue.addBulk(
      Array.from({ length: jobs }, (_, k) => ({
        name,
        data: { items: Array.from({ length: 1000 }, (_, i) => k * 1000 + i) },
        opts: { jobId: `${name}-${k}`, removeOnComplete: true },
      })),
    );
    await all;
    return (now() - start) / 1000;
  };
  await run(spec.mapItems / 10, 'warm');
  const seconds = await run(spec.mapItems, 'timed');
  await Promise.all([queue.close(), events.close()]);
  return { value: spec.mapItems / seconds, phases: { total: seconds * 1000 } };
}

/** Start a chunk that stalls on its first run, SIGKILL the host running it, and time its result. */
async function recovery(pool: Cluster.ClusterPool, spec: ClusterMeasureSpec): Promise<{ value: number; check: number }> {
  const result = pool.apply('stallOnce', [spec.marker]);
  while (!fs.existsSync(spec.marker) || fs.readFileSync(spec.marker, 'utf8') === '') await new Promise((resolve) => setTimeout(resolve, 5));
  const child = Number(fs.readFileSync(spec.marker, 'utf8'));
  const host = spec.hosts.find((pid) => parentOf(child) === pid);
  if (host === undefined) throw new Error(`The chunk's child ${child} belongs to none of the hosts ${spec.hosts.join(', ')}.`);
  const killed = now();
  process.kill(host, 'SIGKILL');
  const value = await result;
  return { value: now() - killed, check: value === child ? 0 : 1 };
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

void measure(JSON.parse(process.argv[2]) as ClusterMeasureSpec).then(
  (outcome) => process.stdout.write(`${RESULT_MARKER}${JSON.stringify(outcome)}\n`, () => process.exit(0)),
  (error: unknown) => {
    const outcome: Outcome = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    process.stdout.write(`${RESULT_MARKER}${JSON.stringify(outcome)}\n`, () => process.exit(0));
  },
);

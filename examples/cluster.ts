/**
 * A cluster on this machine: a Redis of its own, two hosts (`forkpool worker`), and a ClusterPool that
 * counts primes on them, then loses a host halfway through a second count and still gets the answer.
 *
 *   npx ts-node examples/cluster.ts
 *
 * It needs redis-server on the PATH (or REDIS_URL set to a Redis it may use), and says how to get it if not.
 * Across machines it is the same: Redis somewhere they all reach, `npx forkpool worker --redis URL ...` on
 * each, and the pool anywhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ClusterPool } from '../src/cluster'; // in your own project: import { ClusterPool } from 'forkpool/cluster';
import { splitRange } from './tasks/primes';

const LIMIT = 2_000_000;
/** Ranges of 200,000 numbers: a host reports its progress on one three times before it is done. */
const PARTS = 10;
const TASKS = path.join(__dirname, 'tasks', 'primes.js');
const BIN = path.join(__dirname, '..', 'dist', 'forkpool.cjs'); // in your own project: npx forkpool worker ...

/** Every process this example starts, stopped on the way out. */
const started: ChildProcess[] = [];

async function main(): Promise<void> {
  const redis = process.env.REDIS_URL ?? (await startRedis());
  if (redis === undefined) return;
  const queue = `primes-${process.pid}`;
  // Two hosts of one process each: `forkpool worker` takes the queue's chunks and runs them in a local pool.
  const hosts = [startHost(redis, queue), startHost(redis, queue)];
  await Promise.all(hosts.map((host) => firstLine(host, 'forkpool worker ')));

  const pool = new ClusterPool<typeof import('./tasks/primes')>({ connection: redis, queue, hostLossTimeout: 2000 });
  const listed = await pool.hosts();
  console.log(`${listed.length} hosts: ${listed.map((host) => `${host.id} (${host.slots} process)`).join(', ')}`);

  // The same call as on one machine; each chunk is a BullMQ job, taken by whichever host is free.
  const ranges = splitRange(LIMIT, PARTS);
  const byHost = new Map<string, number>();
  const counts = await pool.map('countPrimesWithProgress', ranges, {
    chunksize: 1,
    onEvent: (value, { host }) => {
      if ((value as { finished: boolean }).finished) byHost.set(host, (byHost.get(host) ?? 0) + 1);
    },
  });
  const total = counts.reduce((sum, count) => sum + count, 0);
  console.log(`primes below ${LIMIT.toLocaleString('en-US')}: ${total}`);
  console.log(`ranges counted per host: ${[...byHost.values()].sort().join(' and ')}`);

  // Lose a host halfway through: its chunk runs again on the other one (at least once: tasks should be
  // idempotent), and the answer is the same.
  pool.on('host-down', ({ id, reason }) => console.log(`host-down: ${id} (${reason})`));
  pool.on('requeued', ({ host }) => console.log(`requeued a chunk of ${host}`));
  let killed = false;
  const again = await pool.map('countPrimesWithProgress', ranges, {
    chunksize: 1,
    onEvent: (value, { host }) => {
      // The first host to report progress on a range is halfway through it: kill it there.
      if (killed || (value as { finished: boolean }).finished) return;
      killed = true;
      const victim = hosts.find((candidate) => hostIdOf(candidate) === host)!;
      console.log(`killing host ${host} (SIGKILL)`);
      victim.kill('SIGKILL');
    },
  });
  console.log(`after losing a host: ${again.reduce((sum, count) => sum + count, 0)} (${again.length === PARTS ? 'every range, once' : 'ranges missing'})`);
  const { completed, requeued, hostsLost } = pool.stats();
  console.log(`stats: ${completed} chunks completed, ${requeued} requeued, ${hostsLost} host lost`);

  pool.close();
  await pool.join();
}

/** Start redis-server on a free port, loopback only, keeping nothing on disk; undefined if there is none. */
async function startRedis(): Promise<string | undefined> {
  if (spawnSync('redis-server', ['--version']).error !== undefined) {
    console.log(
      'This example runs a cluster on this machine and needs Redis: redis-server is not on the PATH.\n' +
        'Install it (sudo apt-get install -y redis-server on Debian or Ubuntu, brew install redis on macOS),\n' +
        'or start one elsewhere (docker run -p 6379:6379 redis:7) and run the example with REDIS_URL=redis://127.0.0.1:6379.',
    );
    return undefined;
  }
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  started.push(redis);
  await waitForPort(port);
  console.log(`redis-server on port ${port}, keeping nothing on disk`);
  return `redis://127.0.0.1:${port}`;
}

function startHost(redis: string, queue: string): ChildProcess {
  const host = spawn(process.execPath, [BIN, 'worker', '--redis', redis, '--queue', queue, '--module', TASKS, '--processes', '1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(host);
  return host;
}

/** The host's id, from the line it prints once it takes jobs: `forkpool worker <id>: ...`. */
const hostIds = new Map<ChildProcess, string>();
function hostIdOf(host: ChildProcess): string | undefined {
  return hostIds.get(host);
}

function firstLine(host: ChildProcess, prefix: string): Promise<void> {
  return new Promise((resolve) => {
    let text = '';
    host.stdout!.on('data', (data: Buffer) => {
      text += data.toString();
      const line = text.split('\n').find((candidate) => candidate.startsWith(prefix));
      if (line !== undefined && !hostIds.has(host)) {
        hostIds.set(host, line.slice(prefix.length).split(':')[0]);
        resolve();
      }
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(() => resolve(true))).once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    // Hosts first (SIGTERM: they leave the queue), then Redis.
    for (const child of started.slice().reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    console.log('cluster stopped');
  });

/**
 * The cluster benchmark: forkpool/cluster against a local Pool on the same machine, on a Redis of its own.
 *
 *   npm run bench:cluster                 the full sizes; prints the table and writes bench/results/cluster.md
 *   npm run bench:cluster -- --quick      small sizes, one repetition: checks that it runs
 *
 * The cluster is two hosts of one process each (`forkpool worker --processes 1`), the local pool Pool(2):
 * the same two children's worth of work, the cluster's going through Redis. As in run.ts, every repetition
 * runs in a fresh measuring process (cluster-measure.ts) against fresh hosts, the pairs interleaved.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ClusterMeasureSpec, ClusterPeer, ClusterWorkload } from './cluster-measure';
import { transpileBench } from './compile';
import { ROOT, TASKS, TRANSPILED, childEnv } from './paths';
import { median } from './report';
import { RESULT_MARKER, type Outcome } from './types';

const HELP = `Usage: npm run bench:cluster -- [options]

  --quick        small sizes and one repetition
  --reps <n>     repetitions of every pair (default 3)
  --no-build     use dist/ as it is, without building it first
  --out <file>   where to write the report (default bench/results/cluster.md)
`;

const SIZES = {
  full: { mapItems: 1_000_000, calls: 2000, reps: 3 },
  quick: { mapItems: 100_000, calls: 200, reps: 1 },
};
/** The recovery workload's hostLossTimeout, as the issue sets it. */
const HOST_LOSS_TIMEOUT = 2000;
const MEASURE_TIMEOUT_MS = 180_000;

interface WorkloadInfo {
  id: ClusterWorkload;
  title: string;
  unit: string;
  peers: ClusterPeer[];
}

const WORKLOADS: WorkloadInfo[] = [
  { id: 'map', title: 'map of 1M items, chunksize 1,000', unit: 'items/s', peers: ['pool', 'cluster', 'bullmq'] },
  { id: 'latency', title: 'one call after another (median)', unit: 'ms', peers: ['pool', 'cluster'] },
  { id: 'recovery', title: `SIGKILLed host → its chunk's result (hostLossTimeout ${HOST_LOSS_TIMEOUT} ms)`, unit: 'ms', peers: ['cluster'] },
];

const PEER_LABEL: Record<ClusterPeer, string> = {
  pool: 'local Pool(2)',
  cluster: 'cluster: 2 hosts × 1 process',
  bullmq: 'reference: 2 BullMQ workers × Pool(1)',
};

function parseArgs(args: string[]): { quick: boolean; reps: number | undefined; build: boolean; out: string } {
  const options = { quick: false, reps: undefined as number | undefined, build: true, out: path.join(ROOT, 'bench', 'results', 'cluster.md') };
  for (let i = 0; i < args.length; i++) {
    switch (args[i]) {
      case '--quick':
        options.quick = true;
        break;
      case '--reps':
        options.reps = Number(args[++i]);
        if (!Number.isInteger(options.reps) || options.reps < 1) fail('--reps needs a positive integer.');
        break;
      case '--no-build':
        options.build = false;
        break;
      case '--out':
        options.out = path.resolve(args[++i] ?? fail('--out needs a file.'));
        break;
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        process.exit(0);
      default:
        fail(`Unknown option ${args[i]}.`);
    }
  }
  return options;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

// --- Processes ----------------------------------------------------------------------------------------

/** Everything this run started, killed on the way out whatever happens. */
const started = new Set<ChildProcess>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with the first line of `child`'s stdout that starts with `prefix`. */
function lineOf(child: ChildProcess, prefix: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`No '${prefix}' line within ${timeoutMs} ms: ${text}`)), timeoutMs);
    child.stdout!.on('data', (data: Buffer) => {
      text += data.toString();
      const line = text.split('\n').find((candidate) => candidate.startsWith(prefix));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}

/** A redis-server of this run's own: loopback, no persistence. */
async function startRedis(): Promise<{ url: string; process: ChildProcess }> {
  if (spawnSync('redis-server', ['--version']).error !== undefined) {
    fail('The cluster benchmark needs redis-server: sudo apt-get install -y redis-server (or brew install redis).');
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  started.add(child);
  for (let i = 0; i < 100; i++) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(() => resolve(true))).once('error', () => resolve(false));
    });
    if (ready) return { url: `redis://127.0.0.1:${port}`, process: child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not start');
}

/**
 * Two hosts of one process each on `queue` (or, for the reference, two plain BullMQ workers); resolves with
 * them once both take jobs.
 */
async function startHosts(redis: string, queue: string, peer: ClusterPeer): Promise<ChildProcess[]> {
  const command =
    peer === 'cluster'
      ? [path.join(ROOT, 'dist', 'forkpool.cjs'), 'worker', '--redis', redis, '--queue', queue, '--module', TASKS, '--processes', '1']
      : [path.join(ROOT, 'bench', 'tasks', 'bullmq-worker.js'), redis, queue];
  const hosts = [0, 1].map(() => {
    const host = spawn(process.execPath, command, {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    started.add(host);
    return host;
  });
  await Promise.all(hosts.map((host) => lineOf(host, peer === 'cluster' ? 'forkpool worker ' : 'ready', 30_000)));
  return hosts;
}

async function stopHosts(hosts: ChildProcess[]): Promise<void> {
  await Promise.all(
    hosts.map(async (host) => {
      const exited = new Promise((resolve) => (host.exitCode !== null || host.signalCode !== null ? resolve(undefined) : host.once('exit', resolve)));
      host.kill('SIGKILL');
      await exited;
      started.delete(host);
    }),
  );
  // Their children notice their parent's death and exit by themselves, within a second.
  await new Promise((resolve) => setTimeout(resolve, 1200));
}

function runMeasurement(script: string, spec: ClusterMeasureSpec): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, JSON.stringify(spec)], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr = (stderr + data.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), MEASURE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      started.delete(child);
      const line = stdout.split('\n').find((text) => text.startsWith(RESULT_MARKER));
      resolve(line !== undefined ? (JSON.parse(line.slice(RESULT_MARKER.length)) as Outcome) : { ok: false, error: `exited (${code ?? signal}) without a result: ${stderr.trim().slice(-800)}` });
    });
  });
}

// --- The run ------------------------------------------------------------------------------------------

interface Sample {
  workload: ClusterWorkload;
  peer: ClusterPeer;
  outcome: Outcome;
}

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'items/s') return value >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : `${(value / 1e3).toFixed(0)}k`;
  return value.toFixed(value < 10 ? 2 : 0);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const sizes = options.quick ? SIZES.quick : SIZES.full;
  const reps = options.reps ?? sizes.reps;
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  if (options.build) {
    process.stderr.write('Building dist/ (npm run build)...\n');
    if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) fail('The build failed.');
  }
  transpileBench();
  const script = path.join(TRANSPILED, 'bench', 'cluster-measure.js');
  const redis = await startRedis();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-bench-cluster-'));
  const samples: Sample[] = [];
  let queues = 0;
  try {
    for (let rep = 1; rep <= reps; rep++) {
      for (const workload of WORKLOADS) {
        for (const peer of workload.peers) {
          const queue = `bench-${++queues}`;
          const hosts = peer === 'pool' ? [] : await startHosts(redis.url, queue, peer);
          const spec: ClusterMeasureSpec = {
            workload: workload.id,
            peer,
            redis: redis.url,
            queue,
            hosts: hosts.map((host) => host.pid!),
            mapItems: sizes.mapItems,
            calls: sizes.calls,
            hostLossTimeout: HOST_LOSS_TIMEOUT,
            marker: path.join(scratch, `stall-${queues}`),
          };
          const outcome = await runMeasurement(script, spec);
          await stopHosts(hosts);
          samples.push({ workload: workload.id, peer, outcome });
          const shown = outcome.ok ? `${format(outcome.value ?? NaN, workload.unit)} ${workload.unit}` : `FAILED: ${(outcome.error ?? '').split('\n')[0]}`;
          process.stderr.write(`rep ${rep} ${workload.id.padEnd(8)} ${peer.padEnd(8)} ${shown}\n`);
        }
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const report = markdown(samples, { sizes, reps, startedAt, loadBefore, command: `npm run bench:cluster${process.argv.length > 2 ? ` -- ${process.argv.slice(2).filter((arg) => arg !== '--no-build').join(' ')}` : ''}` });
  process.stdout.write(`\n${report}\n`);
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, report);
  process.stdout.write(`Wrote ${path.relative(process.cwd(), options.out)}\n`);
}

/** The medians of a pair, or NaN. */
function medianOf(samples: Sample[], workload: ClusterWorkload, peer: ClusterPeer): number {
  const values = samples.filter((s) => s.workload === workload && s.peer === peer && s.outcome.ok).map((s) => s.outcome.value!);
  return values.length === 0 ? NaN : median(values);
}

function markdown(
  samples: Sample[],
  run: { sizes: (typeof SIZES)['full']; reps: number; startedAt: Date; loadBefore: number[]; command: string },
): string {
  const map = { pool: medianOf(samples, 'map', 'pool'), cluster: medianOf(samples, 'map', 'cluster'), bullmq: medianOf(samples, 'map', 'bullmq') };
  const latency = { pool: medianOf(samples, 'latency', 'pool'), cluster: medianOf(samples, 'latency', 'cluster') };
  const recovery = medianOf(samples, 'recovery', 'cluster');
  const rows = WORKLOADS.map((workload) => {
    const cells = (['pool', 'cluster', 'bullmq'] as const).map((peer) => (workload.peers.includes(peer) ? format(medianOf(samples, workload.id, peer), workload.unit) : 'n/a'));
    return `| ${workload.title} | ${workload.unit} | ${cells.join(' | ')} |`;
  });
  const verdict = (met: boolean) => (met ? 'met' : '**missed**');
  const failures = samples.filter((s) => !s.outcome.ok).map((s) => `- ${s.workload}, ${s.peer}: ${(s.outcome.error ?? '').split('\n')[0]}`);
  return [
    '# forkpool/cluster against a local Pool',
    '',
    `Rerun with \`${run.command}\`. ${run.reps} repetition(s) of every pair, each in a fresh process against fresh hosts, the pairs interleaved; medians.`,
    '',
    `- ${run.startedAt.toISOString()} → ${new Date().toISOString()}`,
    `- ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores; Node ${process.version}; ${redisVersion()}`,
    `- load average (1, 5, 15 min): ${run.loadBefore.map((v) => v.toFixed(2)).join(' ')} at the start, ${os.loadavg().map((v) => v.toFixed(2)).join(' ')} at the end`,
    `- map: ${run.sizes.mapItems.toLocaleString('en-US')} numbers, task \`x + 1\`, after a map of a tenth as many; latency: ${run.sizes.calls} calls of it, one after another`,
    '- reference: the issue\'s "BullMQ worker handing jobs to a forkpool Pool": two BullMQ Workers (concurrency 1) each mapping its jobs through a Pool(1), every job of JSON numbers added at once and awaited through QueueEvents, no forkpool/cluster',
    '',
    `| workload | unit | ${PEER_LABEL.pool} | ${PEER_LABEL.cluster} | ${PEER_LABEL.bullmq} |`,
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Ratios and targets',
    '',
    '| | figure | target | verdict |',
    '| --- | --- | --- | --- |',
    `| map: cluster / local items/s | ${(map.cluster / map.pool).toFixed(2)}× | ≥ 0.5× | ${verdict(map.cluster / map.pool >= 0.5)} |`,
    `| map: cluster / reference items/s | ${(map.cluster / map.bullmq).toFixed(2)}× | — | — |`,
    `| latency: cluster / local ms per call | ${(latency.cluster / latency.pool).toFixed(1)}× | — | — |`,
    `| recovery from a SIGKILLed host | ${format(recovery, 'ms')} ms | ≤ ${HOST_LOSS_TIMEOUT + 2000} ms (hostLossTimeout + 2 s) | ${verdict(recovery <= HOST_LOSS_TIMEOUT + 2000)} |`,
    ...(failures.length === 0 ? [] : ['', '## Failed measurements', '', ...failures]),
    '',
  ].join('\n');
}

function redisVersion(): string {
  const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1];
  return version === undefined ? 'Redis' : `Redis ${version}`;
}

function killEverything(): void {
  for (const child of started) child.kill('SIGKILL');
}

process.on('SIGINT', () => {
  killEverything();
  process.exit(130);
});

main()
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(killEverything);

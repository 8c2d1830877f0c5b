/**
 * The benchmark harness: forkpool against other process pools, Python's and a raw fork() baseline, all in the
 * same run.
 *
 *   npm run bench                       everything; prints the tables and writes bench/RESULTS.md
 *   npm run bench -- --quick            small sizes, one repetition: a smoke run of under a minute
 *   npm run bench -- --help             the other options
 *
 * This process only plans and reports: every repetition of every (pool, workload) pair runs in a fresh
 * process (measure.ts, or python/pools.py), one after another, the pairs interleaved so that a change in
 * the machine's load falls on all pools alike.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FULL, PEER_INFO, QUICK, SERIAL_PEER, WORKLOAD_INFO, type PeerInfo, type RunPlan } from './config';
import { transpileBench } from './compile';
import { BASELINE_ENV, GZIP_DIR, PYTHON_POOLS, ROOT, DEFAULT_RESULTS, baselineEntry, childEnv } from './paths';
import { consoleReport, markdownReport, summarize, type RunInfo, type Sample } from './report';
import { RESULT_MARKER, type MeasureSpec, type Outcome, type PeerId, type WorkloadId } from './types';
import { gzipInputs } from './workloads/gzip';

const PYTHON = 'python3';
/** No site-packages: the harness needs only the standard library, and site hooks slow every interpreter start. */
const PYTHON_FLAGS = ['-S'];
/**
 * How Python's pools start their workers. 'spawn' (a fresh interpreter, as on macOS and Windows) by default;
 * 'fork' copies the running interpreter in a few milliseconds, which no Node pool can do: E and D move most.
 */
const PYTHON_START_METHODS = ['spawn', 'fork', 'forkserver'] as const;
type PythonStartMethod = (typeof PYTHON_START_METHODS)[number];

const HELP = `Usage: npm run bench -- [options]

  --quick              small sizes and one repetition (under a minute)
  --reps <n>           repetitions of every pair (D gets more)
  --workers <n>        children (threads) per pool, for every workload (default 2)
  --peers <a,b,...>    only these pools: ${PEER_INFO.map((peer) => peer.id).join(', ')}
  --workloads <a,...>  only these workloads: ${WORKLOAD_INFO.map((workload) => workload.id).join(', ')}
  --no-python          leave Python's pools out
  --python-start <m>   how Python's pools start workers: spawn (default), fork or forkserver
  --no-build           use dist/ as it is, without building it first
  --baseline <dir>     also measure the forkpool built in <dir> (a checkout with dist/, or an unpacked
                       package), as the pool "forkpool-baseline": a change against where it started
  --out <file>         where to write the report (default bench/RESULTS.md)
`;

interface Options {
  quick: boolean;
  reps: number | undefined;
  workers: number | undefined;
  peers: Set<PeerId> | undefined;
  workloads: Set<WorkloadId> | undefined;
  python: boolean;
  pythonStart: PythonStartMethod;
  build: boolean;
  out: string;
  /** The entry point of the --baseline build. */
  baseline: string | undefined;
}

function parseArgs(args: string[]): Options {
  const options: Options = { quick: false, reps: undefined, workers: undefined, peers: undefined, workloads: undefined, python: true, pythonStart: 'spawn', build: true, out: DEFAULT_RESULTS, baseline: undefined };
  const value = (i: number) => {
    if (args[i + 1] === undefined) fail(`${args[i]} needs a value.`);
    return args[i + 1];
  };
  for (let i = 0; i < args.length; i++) {
    switch (args[i]) {
      case '--quick':
        options.quick = true;
        break;
      case '--reps':
        options.reps = Number(value(i++));
        if (!Number.isInteger(options.reps) || options.reps < 1) fail('--reps needs a positive integer.');
        break;
      case '--workers':
        options.workers = Number(value(i++));
        if (!Number.isInteger(options.workers) || options.workers < 1) fail('--workers needs a positive integer.');
        break;
      case '--peers':
        options.peers = listOf(value(i++), PEER_INFO.map((peer) => peer.id), '--peers');
        break;
      case '--workloads':
        options.workloads = listOf(value(i++), WORKLOAD_INFO.map((workload) => workload.id), '--workloads');
        break;
      case '--no-python':
        options.python = false;
        break;
      case '--python-start': {
        const method = value(i++);
        if (!PYTHON_START_METHODS.includes(method as PythonStartMethod)) fail(`--python-start: one of ${PYTHON_START_METHODS.join(', ')}.`);
        options.pythonStart = method as PythonStartMethod;
        break;
      }
      case '--no-build':
        options.build = false;
        break;
      case '--out':
        options.out = path.resolve(value(i++));
        break;
      case '--baseline': {
        const dir = value(i++);
        options.baseline = baselineEntry(dir);
        if (options.baseline === undefined) fail(`--baseline: no dist/index.cjs in ${path.resolve(dir)}; build that copy first (npm run build there).`);
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        process.exit(0);
      default:
        fail(`Unknown option ${args[i]}.`);
    }
  }
  if (options.peers?.has('forkpool-baseline') && options.baseline === undefined) fail('--peers: forkpool-baseline needs --baseline <dir>.');
  return options;
}

function listOf<T extends string>(text: string, allowed: readonly T[], option: string): Set<T> {
  const items = text.split(',').map((item) => item.trim()).filter(Boolean);
  const unknown = items.filter((item) => !allowed.includes(item as T));
  if (unknown.length > 0) fail(`${option}: unknown ${unknown.join(', ')}; known: ${allowed.join(', ')}.`);
  return new Set(items as T[]);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

/** The command line that reruns this run. */
function rerunCommand(args: string[]): string {
  const kept = args.filter((arg) => arg !== '--no-build');
  return kept.length === 0 ? 'npm run bench' : `npm run bench -- ${kept.join(' ')}`;
}

// --- Running processes --------------------------------------------------------------------------------

/** The measuring process running now, killed with its children if this one is interrupted. */
let current: number | undefined;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/**
 * Run one measuring process and read its outcome. It leads a process group of its own, so that on a timeout,
 * or once it has exited, nothing it started can linger.
 */
function runMeasurement(command: string, args: string[], timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    current = child.pid;
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    }, timeoutMs);
    child.on('error', (error) => resolve({ ok: false, error: `could not start ${command}: ${error.message}` }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) killGroup(child.pid);
      current = undefined;
      const line = stdout.split('\n').find((text) => text.startsWith(RESULT_MARKER));
      if (line !== undefined) {
        resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as Outcome);
      } else {
        const how = timedOut ? `timed out after ${timeoutMs} ms` : `exited (${code ?? signal}) without a result`;
        resolve({ ok: false, error: `${how}${stderr.trim() === '' ? '' : `: ${stderr.trim().slice(-800)}`}` });
      }
    });
  });
}

function pythonVersion(): string | null {
  const result = spawnSync(PYTHON, [...PYTHON_FLAGS, '-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

function build(): void {
  process.stderr.write('Building dist/ (npm run build)...\n');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) fail('The build failed.');
}

async function calibrate(command: string, args: string[], what: string): Promise<number> {
  const outcome = await runMeasurement(command, args, 60_000);
  if (!outcome.ok || typeof outcome.value !== 'number') throw new Error(`Calibrating ${what} failed: ${outcome.error}`);
  return outcome.value;
}

// --- The run ------------------------------------------------------------------------------------------

interface Job {
  peer: PeerInfo;
  workload: WorkloadId;
  rep: number;
}

/** Every repetition of every pair, interleaved: repetition 1 of every pair, then repetition 2, and so on. */
function schedule(plan: RunPlan, peers: PeerInfo[], workloads: WorkloadId[]): Job[] {
  const jobs: Job[] = [];
  for (let rep = 1; rep <= Math.max(plan.reps, plan.startupReps); rep++) {
    for (const workload of workloads) {
      if (rep > (workload === 'D' ? plan.startupReps : plan.reps)) continue;
      for (const peer of peers) if (peer.workloads.includes(workload)) jobs.push({ peer, workload, rep });
    }
  }
  return jobs;
}

function progress(index: number, total: number, job: Job, outcome: Outcome): void {
  const unit = WORKLOAD_INFO.find((workload) => workload.id === job.workload)!;
  const shown = unit.speedup ? 'ms' : unit.unit;
  const figure = outcome.ok ? `${(outcome.value ?? NaN).toFixed(shown === 'tasks/s' || shown === 'items/s' ? 0 : 1)} ${shown}` : `FAILED: ${(outcome.error ?? '').split('\n')[0]}`;
  const counter = `[${String(index).padStart(String(total).length)}/${total}]`;
  process.stderr.write(`${counter} ${job.workload.padEnd(6)} ${job.peer.id.padEnd(16)} rep ${job.rep}  ${figure}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const options = parseArgs(args);
  const base = options.quick ? QUICK : FULL;
  let plan: RunPlan = options.reps === undefined ? base : { ...base, reps: options.reps, startupReps: Math.max(options.reps, base.startupReps) };
  if (options.workers !== undefined) plan = { ...plan, sizes: { ...plan.sizes, workers: options.workers } };
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const skipped: string[] = [];

  if (options.build) build();
  const measureScript = transpileBench();

  const python = options.python ? pythonVersion() : null;
  if (!options.python) skipped.push("Python's pools (--no-python)");
  else if (python === null) skipped.push(`Python's pools: no ${PYTHON} on this machine`);

  // A speedup needs the serial run of its runtime: it comes along with any pool of that runtime.
  const wanted = new Set(options.peers ?? PEER_INFO.map((peer) => peer.id));
  for (const peer of PEER_INFO) if (wanted.has(peer.id)) wanted.add(SERIAL_PEER[peer.runtime]);
  let peers = PEER_INFO.filter((peer) => wanted.has(peer.id));
  if (options.baseline === undefined) peers = peers.filter((peer) => peer.id !== 'forkpool-baseline');
  // The measuring processes inherit it: the baseline's peer loads the build from there.
  else process.env[BASELINE_ENV] = options.baseline;
  if (python === null) peers = peers.filter((peer) => peer.runtime !== 'python');
  const workloads = WORKLOAD_INFO.map((workload) => workload.id).filter((id) => options.workloads === undefined || options.workloads.has(id));
  if (options.peers !== undefined) skipped.push(`pools other than ${[...options.peers].join(', ')} (--peers)`);
  if (options.workloads !== undefined) skipped.push(`workloads other than ${[...options.workloads].join(', ')} (--workloads)`);

  const needsCpu = workloads.some((id) => id === 'B' || id === 'E' || id === 'F');
  const usesPython = peers.some((peer) => peer.runtime === 'python');
  const cpuMs = String(plan.sizes.cpuTaskMs);
  const cpuIterations = {
    node: needsCpu ? await calibrate(process.execPath, [measureScript, '--calibrate', cpuMs], 'the Node CPU task') : 0,
    python: needsCpu && usesPython ? await calibrate(PYTHON, [...PYTHON_FLAGS, PYTHON_POOLS, '--calibrate', cpuMs], 'the Python CPU task') : null,
  };

  const jobs = schedule(plan, peers, workloads);
  process.stderr.write(`${jobs.length} measurements, each in a fresh process (load average ${loadBefore.map((v) => v.toFixed(2)).join(' ')}).\n`);
  const samples: Sample[] = [];
  for (const [index, job] of jobs.entries()) {
    const spec: MeasureSpec = {
      peer: job.peer.id,
      workload: job.workload,
      sizes: plan.sizes,
      cpuIterations: job.peer.runtime === 'python' ? cpuIterations.python ?? 0 : cpuIterations.node,
      gzipDir: GZIP_DIR,
      startMethod: options.pythonStart,
    };
    const outcome =
      job.peer.runtime === 'python'
        ? await runMeasurement(PYTHON, [...PYTHON_FLAGS, PYTHON_POOLS, JSON.stringify(spec)], plan.measureTimeoutMs)
        : await runMeasurement(process.execPath, [measureScript, JSON.stringify(spec)], plan.measureTimeoutMs);
    samples.push({ peer: job.peer.id, workload: job.workload, rep: job.rep, outcome });
    progress(index + 1, jobs.length, job, outcome);
  }

  // Read only when the run has the workload: a run without it needs no typescript package to read.
  const gzipFiles = workloads.includes('gzip') ? gzipInputs(GZIP_DIR, plan.sizes.gzipMaxFileBytes) : null;
  const run: RunInfo = {
    command: rerunCommand(args),
    quick: options.quick,
    plan,
    startedAt,
    finishedAt: new Date(),
    loadBefore,
    loadAfter: os.loadavg(),
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.availableParallelism(),
    node: process.version,
    python,
    pythonStart: options.pythonStart,
    cpuIterations,
    gzip:
      gzipFiles === null
        ? null
        : {
            dir: path.relative(ROOT, GZIP_DIR),
            files: gzipFiles.length,
            bytes: gzipFiles.reduce((sum, { size }) => sum + size, 0),
          },
    skipped,
  };
  const summary = summarize(samples);
  process.stdout.write(`\n${consoleReport(summary, run)}\n`);
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, markdownReport(summary, run));
  const shown = path.relative(process.cwd(), options.out);
  process.stdout.write(`\nWrote ${shown.startsWith('..') ? options.out : shown}\n`);
}

// A reader that goes away early (\`| head\`) is no reason to fail.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

// Ctrl-C: take the running measurement and everything it started down too.
process.on('SIGINT', () => {
  if (current !== undefined) killGroup(current);
  process.exit(130);
});

main().catch((error: unknown) => {
  if (current !== undefined) killGroup(current);
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

/**
 * G: big data. A 256 MiB Float64Array handed to a task that doubles it and returns it, end to end, each way of
 * doing it in a fresh process of its own (so that peak RSS is the run's): forkpool with no API change (the
 * array travels out of band), forkpool with a SharedMemory block doubled in place (warm calls: the child has
 * mapped it already), raw fork + send over the advanced channel, piscina copying and with a transferList,
 * Python's Pool (pickle) and Python's shared_memory, and the same doubling in one process for reference.
 * Prints a table of medians, MiB/s of data handed over, and the parent's and a child's peak RSS.
 *
 *     npm run build && npx ts-node bench/big-data.ts [--mib 256] [--reps 3] [--out bench/results/big-data.md]
 */
import { execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SharedMemory as Block } from '../src';
import { BENCH, PACKAGE_ENTRY, childEnv } from './paths';

const MiB = 2 ** 20;

interface Sample {
  /** Milliseconds per call, warm (after one call that is not counted). */
  ms: number[];
  /** Peak RSS of the process that made the calls, and of one of its children, in MiB. */
  parentPeak: number;
  childPeak: number | undefined;
}

type Variant = { id: string; label: string; runtime: 'node' | 'python' };

const VARIANTS: Variant[] = [
  { id: 'forkpool', label: 'forkpool, no API change (out of band)', runtime: 'node' },
  { id: 'forkpool-shm', label: 'forkpool, SharedMemory (warm calls)', runtime: 'node' },
  { id: 'raw-fork', label: 'raw fork + send (advanced)', runtime: 'node' },
  { id: 'piscina', label: 'piscina 5, copied', runtime: 'node' },
  { id: 'piscina-transfer', label: 'piscina 5, transferList', runtime: 'node' },
  { id: 'python-pool', label: 'Python Pool (pickle)', runtime: 'python' },
  { id: 'python-shm', label: 'Python shared_memory', runtime: 'python' },
  { id: 'serial', label: 'the same loop in one process', runtime: 'node' },
];

const DOUBLE = `(values) => { const out = new Float64Array(values.length); for (let i = 0; i < values.length; i++) out[i] = 2 * values[i]; return out; }`;

function peakMiB(pid: number | 'self'): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match === null ? undefined : Math.round(Number(match[1]) / 1024);
  } catch {
    return undefined;
  }
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The data every variant starts from: 0, 1, 2, ... as doubles. */
function makeData(bytes: number): Float64Array {
  const values = new Float64Array(bytes / 8);
  for (let i = 0; i < values.length; i++) values[i] = i;
  return values;
}

function check(result: Float64Array, length: number): void {
  if (result.length !== length || result[length - 1] !== 2 * (length - 1)) throw new Error('wrong result');
}

/** One variant, in this (fresh) process: `calls` warm calls after one cold one. */
async function measure(id: string, bytes: number, calls: number): Promise<Sample> {
  const data = makeData(bytes);
  const length = data.length;
  const times: number[] = [];
  /** `calls` warm calls after a cold one; a call that times itself returns its milliseconds. */
  const timed = async (call: () => Promise<number | void>) => {
    for (let i = 0; i <= calls; i++) {
      const start = now();
      const own = await call();
      if (i > 0) times.push(typeof own === 'number' ? own : now() - start);
    }
  };
  let childPeak: number | undefined;
  if (id === 'forkpool' || id === 'forkpool-shm') {
    const { Pool, SharedMemory } = require(PACKAGE_ENTRY) as typeof import('../src');
    const pool = new Pool({ processes: 2, env: childEnv() });
    await pool.apply(() => 0);
    if (id === 'forkpool') {
      const double = new Function(`return ${DOUBLE}`)() as (values: Float64Array) => Float64Array;
      await timed(async () => check((await pool.apply(double, [data])) as Float64Array, length));
    } else {
      const block = SharedMemory.create(bytes);
      const view = new Float64Array(block.buffer);
      view.set(data);
      await timed(async () => {
        await pool.apply((b: Block) => {
          const values = new Float64Array(b.buffer);
          for (let i = 0; i < values.length; i++) values[i] *= 2;
        }, [block]);
      });
      if (view[1] !== 2 ** (calls + 1)) throw new Error('wrong result');
      block.close();
    }
    childPeak = Math.max(...pool.pids.map((pid) => peakMiB(pid) ?? 0));
    pool.close();
    await pool.join();
  } else if (id === 'raw-fork') {
    const child = fork(path.join(BENCH, 'tasks', 'raw-child.js'), [], { serialization: 'advanced', env: childEnv() });
    let id = 0;
    await timed(
      () =>
        new Promise<void>((resolve) => {
          child.once('message', ([, result]: [number, Float64Array]) => {
            check(result, length);
            resolve();
          });
          child.send([id++, 'double', data]);
        }),
    );
    childPeak = peakMiB(child.pid!);
    child.disconnect();
  } else if (id === 'piscina' || id === 'piscina-transfer') {
    const { Piscina } = require(require.resolve('piscina', { paths: [BENCH] })) as typeof import('piscina');
    const pool = new Piscina({ filename: path.join(BENCH, 'tasks', 'big-data-thread.js'), minThreads: 2, maxThreads: 2 });
    if (id === 'piscina') {
      await timed(async () => check((await pool.run(data, { name: 'double' })) as Float64Array, length));
    } else {
      await timed(async () => {
        // What is transferred is gone from here: each call sends a fresh copy, made before its clock starts.
        const copy = data.slice();
        const start = now();
        const result = (await pool.run(copy, { name: 'doubleMoved', transferList: [copy.buffer] as never })) as Float64Array;
        check(result, length);
        return now() - start;
      });
    }
    await pool.destroy();
  } else if (id === 'serial') {
    const double = new Function(`return ${DOUBLE}`)() as (values: Float64Array) => Float64Array;
    await timed(async () => check(double(data), length));
  }
  return { ms: times, parentPeak: peakMiB('self') ?? 0, childPeak };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function runVariant(variant: Variant, mib: number, calls: number): Sample {
  const args = ['--variant', variant.id, '--bytes', String(mib * MiB), '--calls', String(calls)];
  const output =
    variant.runtime === 'node'
      ? execFileSync(process.execPath, [...process.execArgv, __filename, ...args], { env: childEnv(), encoding: 'utf8', maxBuffer: 1 << 20 })
      : execFileSync('python3', [path.join(BENCH, 'python', 'big_data.py'), ...args], { env: childEnv(), encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').pop()!) as Sample;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const at = argv.indexOf(`--${name}`);
    return at === -1 ? fallback : argv[at + 1];
  };
  if (argv.includes('--variant')) {
    const sample = await measure(option('variant', ''), Number(option('bytes', '0')), Number(option('calls', '3')));
    console.log(JSON.stringify(sample));
    return;
  }
  const mib = Number(option('mib', '256'));
  const reps = Number(option('reps', '3'));
  const out = option('out', path.join(BENCH, 'results', 'big-data.md'));
  const samples = new Map<string, Sample[]>();
  // Interleaved: every variant once per round, so that a noisy moment spreads over all of them.
  for (let round = 0; round < reps; round++) {
    for (const variant of VARIANTS) {
      try {
        const sample = runVariant(variant, mib, 3);
        samples.set(variant.id, [...(samples.get(variant.id) ?? []), sample]);
      } catch (error) {
        console.error(`${variant.id}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  }
  const row = (id: string) => {
    const runs = samples.get(id) ?? [];
    if (runs.length === 0) return undefined;
    return {
      ms: median(runs.flatMap((run) => run.ms)),
      parent: median(runs.map((run) => run.parentPeak)),
      child: runs[0].childPeak === undefined ? undefined : median(runs.map((run) => run.childPeak ?? 0)),
    };
  };
  const raw = row('raw-fork');
  const serial = row('serial');
  const lines = [
    `# G: ${mib} MiB handed to a task that doubles it and returns it`,
    '',
    `Command: \`npx ts-node bench/big-data.ts --mib ${mib} --reps ${reps}\`. ${os.cpus()[0].model.trim()}, ${os.cpus().length} cores; Node ${process.version}.`,
    `Medians of ${reps} rounds × 3 warm calls, the variants interleaved, each in a fresh process; MiB/s of data handed to the task.`,
    '',
    '| way | ms per call | MiB/s | × raw fork | × one process | parent peak RSS (MiB) | × data | a child\'s peak RSS (MiB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const variant of VARIANTS) {
    const r = row(variant.id);
    if (r === undefined) {
      lines.push(`| ${variant.label} | n/a | | | | | | |`);
      continue;
    }
    const vsRaw = raw === undefined ? '' : `${(raw.ms / r.ms).toFixed(2)}× faster`;
    const vsSerial = serial === undefined ? '' : `${(r.ms / serial.ms).toFixed(2)}×`;
    lines.push(
      `| ${variant.label} | ${r.ms.toFixed(1)} | ${((mib * 1000) / r.ms).toFixed(0)} | ${vsRaw} | ${vsSerial} | ${r.parent} | ${(r.parent / mib).toFixed(2)}× | ${r.child ?? '—'} |`,
    );
  }
  const report = `${lines.join('\n')}\n`;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, report);
  console.log(report);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * Where the pipe stops winning: Buffers of growing sizes echoed by a pool of 2, all at once (as bench C), once
 * through the IPC pipe and once out of band, in fresh processes, interleaved. Prints MiB/s each way and the
 * ratio; the size from which out of band wins is what OUT_OF_BAND_BYTES (src/shared/value-codec.ts) is set to.
 *
 *     npm run build && npx ts-node bench/out-of-band.ts [--reps 3]
 */
import { execFileSync } from 'node:child_process';
import { PACKAGE_ENTRY, childEnv } from './paths';

const MiB = 2 ** 20;
const SIZES = [0.25, 0.5, 1, 2, 4, 8, 16];

async function measure(bytes: number): Promise<number> {
  const { Pool } = require(PACKAGE_ENTRY) as typeof import('../src');
  const pool = new Pool({ processes: 2, env: childEnv() });
  await pool.apply(() => 0);
  const buffer = Buffer.alloc(bytes, 7);
  const calls = Math.max(8, Math.min(200, Math.round((128 * MiB) / bytes)));
  const echo = (b: Buffer) => b;
  await Promise.all(Array.from({ length: 4 }, () => pool.apply(echo, [buffer])));
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: calls }, () => pool.apply(echo, [buffer])));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  pool.close();
  await pool.join();
  return (calls * bytes) / MiB / seconds;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--measure') {
    console.log(await measure(Number(argv[1])));
    return;
  }
  const reps = Number(argv[argv.indexOf('--reps') + 1] || 3);
  console.log('| Buffer | through the pipe (MiB/s) | out of band (MiB/s) | out of band ÷ pipe |');
  console.log('| --- | --- | --- | --- |');
  for (const mib of SIZES) {
    const bytes = Math.round(mib * MiB);
    const runs: Record<'pipe' | 'band', number[]> = { pipe: [], band: [] };
    for (let rep = 0; rep < reps; rep++) {
      for (const way of ['pipe', 'band'] as const) {
        // The threshold, for this process and its children: above the size (the pipe), or at it.
        const env = { ...childEnv(), FORKPOOL_OUT_OF_BAND_BYTES: String(way === 'pipe' ? bytes + 1 : bytes) };
        const output = execFileSync(process.execPath, [...process.execArgv, __filename, '--measure', String(bytes)], { env, encoding: 'utf8' });
        runs[way].push(Number(output.trim().split('\n').pop()));
      }
    }
    const [pipe, band] = [median(runs.pipe), median(runs.band)];
    console.log(`| ${mib} MiB | ${pipe.toFixed(0)} | ${band.toFixed(0)} | ${(band / pipe).toFixed(2)}× |`);
  }
}

void main();

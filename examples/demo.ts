/**
 * The demo: count the primes below a limit by trial division, first serially in this process, then spread
 * over a Pool with one child per core, and compare.
 *
 *   npm run demo                   # limit 15,000,000: a few seconds serially
 *   npm run demo -- 2000000        # a smaller limit (or PRIMES_LIMIT=2000000 npm run demo)
 */
import os from 'node:os';
import path from 'node:path';
import { Pool } from '../src';
import { countPrimes, splitRange } from './tasks/primes';

const DEFAULT_LIMIT = 15_000_000;
/** Many more ranges than cores: the children pull the next range as soon as they finish one. */
const RANGES = 64;

function parseLimit(): number {
  const raw = process.argv[2] ?? process.env.PRIMES_LIMIT;
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(limit) || limit < RANGES) {
    console.error(`Expected the limit to be an integer of at least ${RANGES}, got '${raw}'.`);
    process.exit(2);
  }
  return limit;
}

/**
 * A text progress bar: redrawn in place with \r on a terminal; when the output is a file or a pipe,
 * a line at every quarter instead.
 */
function progress(label: string, total: number): (done: number) => void {
  const tty = process.stdout.isTTY === true;
  let quartersShown = 0;
  return (done) => {
    if (tty) {
      const width = 30;
      const filled = Math.round((width * done) / total);
      process.stdout.write(`\r  ${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
      if (done === total) process.stdout.write('\n');
    } else if (Math.floor((4 * done) / total) > quartersShown) {
      quartersShown = Math.floor((4 * done) / total);
      console.log(`  ${label} ${done}/${total} ranges (${quartersShown * 25}%)`);
    }
  };
}

async function main(): Promise<void> {
  const limit = parseLimit();
  const ranges = splitRange(limit, RANGES);
  const processes = os.availableParallelism();
  console.log(`Counting the primes below ${limit.toLocaleString('en-US')} in ${RANGES} ranges.`);

  // 1. Serially, in this process.
  console.log('Serial, in this process:');
  let start = performance.now();
  const showSerial = progress('serial', ranges.length);
  let serialCount = 0;
  ranges.forEach((range, i) => {
    serialCount += countPrimes(range);
    showSerial(i + 1);
  });
  const serialMs = performance.now() - start;

  // 2. With a pool. The timing includes starting the children: that is part of the cost.
  console.log(`With a Pool of ${processes} processes:`);
  start = performance.now();
  // The type parameter makes 'countPrimes' a checked name: its argument must be a Range, its result a number.
  const pool = new Pool<typeof import('./tasks/primes')>({
    processes,
    module: path.join(__dirname, 'tasks/primes.ts'),
  });
  let poolCount = 0;
  let done = 0;
  const showPool = progress('pool  ', ranges.length);
  try {
    // imapUnordered yields each range's count as soon as some child finishes it, whatever the order.
    for await (const count of pool.imapUnordered('countPrimes', ranges)) {
      poolCount += count;
      showPool(++done);
    }
  } finally {
    pool.close();
    await pool.join();
  }
  const poolMs = performance.now() - start;

  console.log(`serial: ${serialCount} primes in ${(serialMs / 1000).toFixed(2)} s`);
  console.log(`pool:   ${poolCount} primes in ${(poolMs / 1000).toFixed(2)} s (${processes} processes, start-up included)`);
  if (serialCount !== poolCount) {
    console.error(`MISMATCH: the serial run counted ${serialCount}, the pool ${poolCount}.`);
    process.exitCode = 1;
    return;
  }
  console.log('answers match');
  console.log(`speedup: ${(serialMs / poolMs).toFixed(2)}x`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

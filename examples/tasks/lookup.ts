/**
 * Task module for examples/initializer.ts: a task that needs a large table, built once per child.
 *
 * `buildTable` is the pool's initializer. It runs once in every child before that child's first task and
 * stores the table in a module-level variable; each child process has its own copy of this module, so
 * each child builds its own table once, and every task that child runs reuses it.
 */

/** isComposite[n] === 1 when n is not prime: a sieve of Eratosthenes, the "heavy resource". */
let isComposite: Uint8Array | undefined;
/** How many times this child built the table: should stay 1. */
let builds = 0;

export function buildTable(limit: number): void {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`Cannot build a prime table up to ${limit}.`);
  const started = performance.now();
  const table = new Uint8Array(limit);
  table[0] = table[1] = 1;
  for (let p = 2; p * p < limit; p++) {
    if (table[p] === 0) for (let m = p * p; m < limit; m += p) table[m] = 1;
  }
  isComposite = table;
  builds++;
  // The children share the parent's stdout, so this line shows up in the parent's output.
  console.log(`  [child ${process.pid}] built the prime table up to ${limit.toLocaleString('en-US')} in ${Math.round(performance.now() - started)} ms`);
}

export interface GoldbachCount {
  n: number;
  /** How many ways `n` is the sum of two primes p + q with p <= q. */
  pairs: number;
  pid: number;
  builds: number;
}

/** Goldbach partitions of an even `n`: millions of lookups, cheap only because the table is already built. */
export function goldbach(n: number): GoldbachCount {
  if (isComposite === undefined) throw new Error('The prime table is not built: use buildTable as the initializer.');
  if (n >= isComposite.length) throw new RangeError(`${n} is beyond the table (${isComposite.length}).`);
  let pairs = 0;
  for (let p = 2; p <= n / 2; p++) {
    if (isComposite[p] === 0 && isComposite[n - p] === 0) pairs++;
  }
  return { n, pairs, pid: process.pid, builds };
}

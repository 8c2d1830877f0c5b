/**
 * Task module for the demo: pure CPU work, no I/O, which is what a process pool is for.
 *
 * A pool's child loads this file itself (registering ts-node for a .ts module), so every export here is a
 * task that `pool.apply('countPrimes', ...)` or `pool.imap('countPrimes', ...)` can name. The demo also
 * imports it directly to run the same work serially.
 */

/** A half-open range of integers: [start, end). */
export type Range = [start: number, end: number];

/** Trial division: deliberately naive, so that there is real work to spread over the cores. */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) {
    if (n % d === 0) return false;
  }
  return true;
}

/** How many primes lie in [start, end). */
export function countPrimes([start, end]: Range): number {
  let count = 0;
  for (let n = start; n < end; n++) {
    if (isPrime(n)) count++;
  }
  return count;
}

/** Cut [0, limit) into `parts` ranges of (nearly) equal width. */
export function splitRange(limit: number, parts: number): Range[] {
  const ranges: Range[] = [];
  for (let i = 0; i < parts; i++) {
    ranges.push([Math.floor((limit * i) / parts), Math.floor((limit * (i + 1)) / parts)]);
  }
  return ranges;
}

// @ts-check
/**
 * Task module for the demo: pure CPU work, no I/O, which is what a process pool is for.
 *
 * Plain JavaScript, so that each child loads it at once, with no TypeScript to compile first; the JSDoc
 * types give TypeScript callers (the demo) the same checked signatures.
 */
'use strict';

const { emit } = require('forkpool/task');

/** @typedef {[start: number, end: number]} Range A half-open range of integers: [start, end). */

/** How many numbers a task checks between two progress events. */
const REPORT_EVERY = 50_000;

/**
 * Trial division: deliberately naive, so that there is real work to spread over the cores.
 * @param {number} n
 */
function isPrime(n) {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) {
    if (n % d === 0) return false;
  }
  return true;
}

/**
 * How many primes lie in [start, end). `onProgress` is told every so often how many more numbers have been
 * checked, and a last time when the range is done.
 * @param {Range} range
 * @param {(checked: number, finished: boolean) => void} [onProgress]
 */
function countPrimes([start, end], onProgress) {
  let count = 0;
  let reported = start;
  for (let n = start; n < end; n++) {
    if (isPrime(n)) count++;
    if (onProgress !== undefined && n - reported >= REPORT_EVERY) {
      onProgress(n - reported, false);
      reported = n;
    }
  }
  if (onProgress !== undefined) onProgress(end - reported, true);
  return count;
}

/**
 * countPrimes as a pool's task: its progress goes to the pool as events (`emit` from `forkpool/task`),
 * `{ checked, finished }`, which the demo's progress bar adds up.
 * @param {Range} range
 */
function countPrimesWithProgress(range) {
  return countPrimes(range, (checked, finished) => emit({ checked, finished }));
}

/**
 * Cut [0, limit) into `parts` ranges of (nearly) equal width.
 * @param {number} limit
 * @param {number} parts
 * @returns {Range[]}
 */
function splitRange(limit, parts) {
  /** @type {Range[]} */
  const ranges = [];
  for (let i = 0; i < parts; i++) {
    ranges.push([Math.floor((limit * i) / parts), Math.floor((limit * (i + 1)) / parts)]);
  }
  return ranges;
}

module.exports = { isPrime, countPrimes, countPrimesWithProgress, splitRange };
